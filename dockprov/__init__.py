"""dockprov: provision Docker Engine on Debian/Ubuntu and WSL fleets with Ansible, and an offline lab."""

__version__ = "0.2.0"
