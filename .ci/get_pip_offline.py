# dockprov: offline stand-in for ansible-test's pip bootstrap script.
#
# ansible-test (2.19) creates each sanity virtualenv without pip, then runs
# ~/.ansible/test/cache/get_pip_<version>.py, which it downloads from ci-files.testing.ansible.com (not
# reachable here) unless that file already exists. .ci/sanity puts this script there, next to the pip wheel
# of exactly that version (from PyPI, `pip download pip==<version>`). It does what get-pip.py does for
# ansible-test: install that pip into the running interpreter. Everything else in the venvs (pylint,
# pycodestyle, yamllint, voluptuous, ...) is then installed by ansible-test itself from PyPI, at the versions
# pinned in ansible_test/_data/requirements/.
#
# Called as: python get_pip_<v>.py --disable-pip-version-check pip==<v> --no-setuptools --no-wheel
import glob
import os
import sys

DOCKPROV_GET_PIP_SHIM = True  # .ci/sanity replaces only files carrying this marker

here = os.path.dirname(os.path.abspath(__file__))
args = [arg for arg in sys.argv[1:] if arg not in ('--no-setuptools', '--no-wheel')]
wanted = [arg.split('==', 1)[1] for arg in args if arg.startswith('pip==')]
if len(wanted) != 1 or any(not arg.startswith('-') and not arg.startswith('pip==') for arg in args):
    sys.exit(f'get_pip_offline: expected exactly one pip==<version> and options, got {args!r}')
wheels = glob.glob(os.path.join(here, f'pip-{wanted[0]}-py3-none-any.whl'))
if not wheels:
    sys.exit(f'get_pip_offline: no pip-{wanted[0]} wheel in {here} (run .ci/sanity)')

sys.path.insert(0, wheels[0])  # pip runs from its own wheel (a zip), as get-pip.py does
from pip._internal.cli.main import main  # noqa: E402

sys.exit(main(['install', '--no-index', '--find-links', here] + args))
