# registry.lab: Debian's docker-registry package (the real registry v2), serving on :5000.
ARG BASE
FROM ${BASE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends docker-registry \
 && apt-get clean && rm -rf /var/lib/apt/lists/*
COPY registry-config.yml /etc/docker/registry/config.yml
EXPOSE 5000
CMD ["docker-registry", "serve", "/etc/docker/registry/config.yml"]
