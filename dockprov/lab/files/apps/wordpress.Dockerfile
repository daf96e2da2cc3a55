# LAB STAND-IN for Docker Hub's `wordpress` image: Debian's wordpress package, Apache and mod_php. Like the
# official image it reads WORDPRESS_DB_HOST/USER/PASSWORD/NAME (and *_FILE, WORDPRESS_TABLE_PREFIX) from the
# environment and keeps site data under /var/www/html (here: wp-content; WordPress itself stays in /usr/share).
ARG BASE
FROM ${BASE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      wordpress wordpress-theme-twentytwentythree apache2 libapache2-mod-php php-mysql \
 && apt-get clean && rm -rf /var/lib/apt/lists/*
COPY wordpress-config.php /etc/wordpress/config-default.php
COPY wordpress-site.conf /etc/apache2/sites-available/000-default.conf
COPY wordpress-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
# The package's wp-content (symlinks to the packaged themes) is the seed of the /var/www/html volume.
RUN rm -rf /var/www/html && mkdir -p /var/www/html \
 && cp -a /var/lib/wordpress/wp-content /var/www/html/wp-content \
 && mkdir -p /var/www/html/wp-content/uploads && chown -R www-data:www-data /var/www/html/wp-content \
 && chmod 0755 /usr/local/bin/docker-entrypoint.sh && a2enmod -q rewrite
VOLUME /var/www/html
EXPOSE 80
STOPSIGNAL SIGWINCH
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
CMD ["apache2-foreground"]
