# A lab host with systemd as PID 1 (Debian 12 or 13, from the lab's debootstrap base image).
ARG BASE
FROM ${BASE}
ENV container=docker
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends systemd systemd-sysv \
 && apt-get clean && rm -rf /var/lib/apt/lists/* \
 && systemctl mask systemd-udevd.service systemd-udev-trigger.service systemd-logind.service \
      getty.target console-getty.service systemd-firstboot.service systemd-remount-fs.service \
 && : > /etc/machine-id
STOPSIGNAL SIGRTMIN+3
CMD ["/lib/systemd/systemd"]
