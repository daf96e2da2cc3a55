"""`dockprov lab down` removes every lab container, network and volume, and nothing else.

Runs last in `make test` (it takes the lab down). A container, network and volume that are not the lab's
are created first and must survive.
"""

import json
import subprocess
import uuid

import pytest

from dockprov.lab import fleet
from dockprov.lab.dockercli import daemon_answers, labelled

pytestmark = pytest.mark.skipif(not daemon_answers(), reason="no Docker daemon")


def _docker(*args: str) -> str:
    return subprocess.run(["docker", *args], check=True, capture_output=True, text=True).stdout.strip()


def test_down_removes_the_lab_and_only_the_lab():
    tag = uuid.uuid4().hex[:8]
    bystanders = {"network": f"not-lab-net-{tag}", "volume": f"not-lab-vol-{tag}", "container": f"not-lab-{tag}"}
    _docker("network", "create", bystanders["network"])
    _docker("volume", "create", bystanders["volume"])
    _docker("create", "--name", bystanders["container"], "dockprov-lab/hello-world")
    try:
        assert labelled("container"), "the lab should be up before this test (make test starts it)"
        fleet.down()
        assert labelled("container") == []
        assert labelled("network") == []
        assert labelled("volume") == []
        # Nothing the lab named is left either, labelled or not (a `docker run -v name:` makes an unlabelled one).
        left = [v for v in _docker("volume", "ls", "-q").split() if v.startswith("dockprov-lab-")]
        assert left == []
        for kind, name in bystanders.items():
            info = json.loads(_docker(kind, "inspect", name))
            assert info and info[0]["Name"].lstrip("/") == name
    finally:
        subprocess.run(["docker", "rm", "-f", bystanders["container"]], capture_output=True)
        subprocess.run(["docker", "network", "rm", bystanders["network"]], capture_output=True)
        subprocess.run(["docker", "volume", "rm", bystanders["volume"]], capture_output=True)
