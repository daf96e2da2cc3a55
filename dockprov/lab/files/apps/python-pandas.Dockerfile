# LAB STAND-IN for a Python image with pandas (the tutorial's job image builds FROM python:3 and installs
# pandas): Debian's python3-pandas.
ARG BASE
FROM ${BASE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-pandas \
 && apt-get clean && rm -rf /var/lib/apt/lists/* \
 && ln -s /usr/bin/python3 /usr/local/bin/python
CMD ["python3"]
