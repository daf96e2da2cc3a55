# dockprov: `make demo` and `make test` do all the set-up on a fresh Debian 12 machine (run as root).
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
PY ?= python3
export PATH := $(abspath $(BIN)):$(PATH)
export ANSIBLE_CONFIG := $(abspath ansible.cfg)
MOLECULE_SCENARIOS ?= docker_repo docker_engine docker_engine_pin docker_daemon docker_wsl nvidia_container_toolkit docker_registry_auth docker_apps docker_rootless python39

.PHONY: demo test live live-ee live-airgap setup venv docker lab lab-down lint unit sanity molecule bench report clean ee ee-collections

demo: setup lab  ## Build what is missing, start the lab fleet and provision it with site.yml
	$(BIN)/ansible-playbook -i inventory/lab site.yml
	$(BIN)/ansible-playbook -i inventory/lab playbooks/report.yml

test: setup lint unit sanity lab  ## Every test: lint, pytest, ansible-test sanity, Molecule scenarios, lab teardown check
	$(MAKE) --no-print-directory -j5 --output-sync=target live live-ee live-airgap molecule-lane-0 molecule-lane-1
	$(BIN)/pytest -q tests/teardown

# The live part runs in five lanes at once: the lab's pytest suite, the AWX/pull-mode and upgrade tests (their own
# EE image, ee-* and up* hosts, registry and git server), the air-gapped installs (airgap* hosts on a network of
# their own) and two halves of the Molecule scenarios.
# Each lane uses lab hosts of its own names, and most of their time is spent waiting on apt, dockerd and the
# lab's network, not on the two CPUs. --output-sync prints each lane's log whole, when it ends.
live: lab
	DOCKPROV_LAB_REQUIRED=1 $(BIN)/pytest -q -m lab tests/lab --ignore=tests/lab/test_ee.py --ignore=tests/lab/test_pull.py \
	  --ignore=tests/lab/test_upgrade.py --ignore=tests/lab/test_bundle.py

# Fleet operations: the execution environment built with ansible-builder and run by ansible-runner (sliced,
# concurrent), pull mode on the WSL stand-in (docs/execution-environment.md, docs/pull-mode.md), and rolling
# engine upgrades on five hosts of their own (roles/docker_upgrade/README.md).
live-ee: lab
	DOCKPROV_LAB_REQUIRED=1 $(BIN)/pytest -q -m lab tests/lab/test_ee.py tests/lab/test_pull.py tests/lab/test_upgrade.py

# Air-gapped installs from a bundle (docs/air-gapped.md): hosts on an internal network with no route out.
live-airgap: lab
	DOCKPROV_LAB_REQUIRED=1 $(BIN)/pytest -q -m lab tests/lab/test_bundle.py

molecule-lane-%: setup
	@set -e; scenarios=($(MOLECULE_SCENARIOS)); for i in "$${!scenarios[@]}"; do \
	  (( i % 2 == $* )) || continue; s=$${scenarios[$$i]}; start=$$(date +%s); \
	  echo "=== molecule $$s (lane $*)"; $(BIN)/molecule test -s $$s; \
	  echo "=== molecule $$s passed in $$(( $$(date +%s) - start )) s"; done

setup: venv docker

venv: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

# Debian's docker.io gives the daemon the lab runs on; nothing starts it on this kind of machine.
docker:
	@command -v dockerd >/dev/null && command -v debootstrap >/dev/null && command -v apt-ftparchive >/dev/null \
	  || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io debootstrap apt-utils gpg >/dev/null; }
	@docker info >/dev/null 2>&1 || { \
	  echo "starting dockerd"; (nohup dockerd >/var/log/dockerd.log 2>&1 &); \
	  for i in $$(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done; \
	  docker info >/dev/null 2>&1 || { tail -20 /var/log/dockerd.log; exit 1; }; }

lab: setup  ## Start the lab (images cached by their inputs)
	$(BIN)/dockprov lab up

lab-down:
	$(BIN)/dockprov lab down

ee-collections: venv  ## build/ee/collections/*.tar.gz: the artifacts execution-environment.yml installs (offline)
	$(BIN)/dockprov lab ee --collections-only

ee: setup  ## The execution environment image dockprov-lab/ee: ansible-builder on a base built from Debian packages
	$(BIN)/dockprov lab ee

lint: venv
	$(BIN)/ruff check dockprov plugins tests
	$(BIN)/yamllint -s .
	$(BIN)/ansible-lint --offline -q

unit: venv
	$(BIN)/pytest -q -m 'not lab' tests/unit tests/lab

# ansible-test sanity on the collection as built, offline (how: .ci/sanity). Its tools (pylint, pycodestyle,
# yamllint, voluptuous, ...) are pinned by ansible-core's version in pyproject.toml: ansible-test installs its own
# requirements files (ansible_test/_data/requirements/sanity.*.txt) from PyPI, and pip at the version it names.
# Pythons 3.9-3.13 are taken from pyenv's versions where present; shellcheck comes from Debian.
sanity: venv
	@command -v shellcheck >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck >/dev/null; }
	.ci/sanity

molecule: setup
	@set -e; for s in $(MOLECULE_SCENARIOS); do echo "=== molecule $$s"; $(BIN)/molecule test -s $$s; done

bench: setup lab  ## Time site.yml against the tutorial's shell script on fresh lab hosts
	$(BIN)/python bench/run.py

clean: lab-down
	rm -rf .lab .cache
