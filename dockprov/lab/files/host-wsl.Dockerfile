# LAB STAND-IN for a WSL2 distro without systemd: Debian 12, PID 1 is a plain /init (as on WSL), with
# /run/WSL and /usr/lib/wsl/lib present. The kernel is this machine's, not Microsoft's.
ARG BASE
FROM ${BASE}
COPY wsl-init /init
RUN chmod 0755 /init && mkdir -p /usr/lib/wsl/lib \
 && echo "LAB STAND-IN: WSL2-like host without systemd (dockprov lab)" > /etc/dockprov-lab-standin
CMD ["/init"]
