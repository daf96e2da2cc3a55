# mirror.lab: a static HTTP apt mirror, laid out like download.docker.com and like the China mirrors.
ARG BASE
FROM ${BASE}
COPY repo /srv/mirror
EXPOSE 80
CMD ["python3", "-m", "http.server", "80", "--directory", "/srv/mirror"]
