<?php
// LAB STAND-IN: the official wordpress image's environment variables, read by Debian's wordpress
// (/usr/share/wordpress/wp-config.php loads this file for every host name).
function dockprov_env($name, $default)
{
    $file = getenv($name . '_FILE');
    if ($file !== false && $file !== '' && is_readable($file)) {
        return rtrim(file_get_contents($file), "\r\n");
    }
    $value = getenv($name);
    return ($value === false || $value === '') ? $default : $value;
}

define('DB_NAME', dockprov_env('WORDPRESS_DB_NAME', 'wordpress'));
define('DB_USER', dockprov_env('WORDPRESS_DB_USER', 'example username'));
define('DB_PASSWORD', dockprov_env('WORDPRESS_DB_PASSWORD', 'example password'));
define('DB_HOST', dockprov_env('WORDPRESS_DB_HOST', 'mysql'));
define('WP_CONTENT_DIR', '/var/www/html/wp-content');
define('WP_DEBUG', dockprov_env('WORDPRESS_DEBUG', '') !== '');
$table_prefix = dockprov_env('WORDPRESS_TABLE_PREFIX', 'wp_');
