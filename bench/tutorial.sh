#!/bin/sh
# The tutorial's steps 2-10 typed as a shell script, pointed at the lab (mirror.lab, registry.lab).
# This is the speed reference for `make bench`: docker.yml's first converge must stay within 1.10x of it.
set -eu
MIRROR=${MIRROR:-http://mirror.lab}
. /etc/os-release
DISTRO=${ID}
CODENAME=${UBUNTU_CODENAME:-$VERSION_CODENAME}
export DEBIAN_FRONTEND=noninteractive
for pkg in docker.io docker-doc docker-compose podman-docker containerd runc; do
  apt-get remove -y -qq "$pkg" >/dev/null 2>&1 || true
done
apt-get update -qq
apt-get install -y -qq ca-certificates curl >/dev/null
install -m 0755 -d /etc/apt/keyrings
curl -fsSL "$MIRROR/linux/$DISTRO/gpg" -o /etc/apt/keyrings/docker.asc
chmod a+r /etc/apt/keyrings/docker.asc
echo "deb [arch=$(dpkg --print-architecture) signed-by=/etc/apt/keyrings/docker.asc] $MIRROR/linux/$DISTRO $CODENAME stable" \
  > /etc/apt/sources.list.d/docker.list
apt-get update -qq
apt-get install -y -qq docker-ce docker-ce-cli containerd.io docker-buildx-plugin docker-compose-plugin >/dev/null
docker -v
mkdir -p /etc/docker
cat > /etc/docker/daemon.json <<JSON
{"registry-mirrors": ["http://registry.lab:5000"]}
JSON
systemctl daemon-reload
systemctl restart docker
docker run --rm hello-world
