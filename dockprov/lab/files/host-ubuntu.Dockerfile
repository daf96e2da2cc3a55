# LAB STAND-IN: an Ubuntu 24.04-IDENTITY host. The userland is Debian 12 (Ubuntu's archive is not
# reachable here); only /etc/os-release and /etc/lsb-release say Ubuntu noble, which is what the roles read.
ARG BASE
FROM ${BASE}
COPY os-release-ubuntu2404 /usr/lib/os-release
COPY lsb-release-ubuntu2404 /etc/lsb-release
RUN echo "LAB STAND-IN: Debian 12 userland with Ubuntu 24.04's os-release (dockprov lab)" > /etc/dockprov-lab-standin
