"""The offline lab: test hosts in containers, a signed apt mirror and a registry, built with no internet.

Everything here stands in for something real, and says so:
- mirror.lab serves Debian's own docker.io/containerd/runc/compose/buildx builds repacked under docker-ce's
  package names (see repack.py), signed with a key the lab generates;
- the "ubuntu2404" host is a Debian 12 userland carrying Ubuntu 24.04's /etc/os-release;
- the "wsl" host is a Debian 12 container whose PID 1 is not systemd and which has /run/WSL and
  /usr/lib/wsl/lib, as a WSL2 distro has (its kernel is not Microsoft's).
"""
