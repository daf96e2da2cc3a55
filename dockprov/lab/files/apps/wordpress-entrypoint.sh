#!/bin/sh
# LAB STAND-IN entrypoint for the wordpress image: seed an empty /var/www/html (a bind mount, or a volume
# someone emptied), then run Apache in the foreground as the official image's apache2-foreground does.
set -eu
if [ ! -d /var/www/html/wp-content ]; then
    cp -a /var/lib/wordpress/wp-content /var/www/html/wp-content
    mkdir -p /var/www/html/wp-content/uploads
    chown -R www-data:www-data /var/www/html/wp-content
fi
if [ "${1:-}" = apache2-foreground ]; then
    set +u  # envvars reads unset variables
    . /etc/apache2/envvars
    set -u
    mkdir -p "$APACHE_RUN_DIR" "$APACHE_LOCK_DIR" "$APACHE_LOG_DIR"
    rm -f "$APACHE_PID_FILE"
    exec apache2 -DFOREGROUND
fi
exec "$@"
