# LAB STAND-IN for mysql:5.7 (and Docker Hub's mariadb): Debian's mariadb-server. The entrypoint honours
# MYSQL_ROOT_PASSWORD, MYSQL_RANDOM_ROOT_PASSWORD, MYSQL_ALLOW_EMPTY_PASSWORD, MYSQL_DATABASE, MYSQL_USER and
# MYSQL_PASSWORD (and their *_FILE forms) on the first start; data lives in /var/lib/mysql.
ARG BASE
FROM ${BASE}
# No service may start during the build (the package's postinst would try).
RUN printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 0755 /usr/sbin/policy-rc.d \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends mariadb-server \
 && apt-get clean && rm -rf /var/lib/apt/lists/* /usr/sbin/policy-rc.d \
 && rm -rf /var/lib/mysql && mkdir -p /var/lib/mysql /run/mysqld \
 && chown mysql:mysql /var/lib/mysql /run/mysqld
COPY mariadb-server.cnf /etc/mysql/mariadb.conf.d/99-dockprov.cnf
COPY mariadb-entrypoint.py /usr/local/bin/docker-entrypoint.py
RUN chmod 0755 /usr/local/bin/docker-entrypoint.py
VOLUME /var/lib/mysql
EXPOSE 3306
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.py"]
CMD ["mariadbd"]
