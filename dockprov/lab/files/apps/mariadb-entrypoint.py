#!/usr/bin/python3
"""LAB STAND-IN entrypoint for the mysql:5.7 / mariadb images, on Debian's mariadb-server.

On the first start (no system tables in /var/lib/mysql) it initialises the data directory the way the official
images do from MYSQL_* variables (each may come from a file named by <VAR>_FILE), then runs the server.
"""
import os
import secrets
import subprocess
import sys
import time

DATADIR = "/var/lib/mysql"
SOCKET = "/run/mysqld/init.sock"


def env(name: str) -> str:
    path = os.environ.get(name + "_FILE", "")
    if path:
        with open(path, encoding="utf-8") as fh:
            return fh.read().rstrip("\r\n")
    return os.environ.get(name, os.environ.get(name.replace("MYSQL_", "MARIADB_", 1), ""))


def quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def ident(value: str) -> str:
    return "`" + value.replace("`", "``") + "`"


def initialise() -> None:
    root_pw = env("MYSQL_ROOT_PASSWORD")
    if not root_pw and env("MYSQL_RANDOM_ROOT_PASSWORD"):
        root_pw = secrets.token_urlsafe(24)
        print(f"GENERATED ROOT PASSWORD: {root_pw}", flush=True)
    if not root_pw and not env("MYSQL_ALLOW_EMPTY_PASSWORD"):
        sys.exit("error: database is uninitialized and password option is not specified\n"
                 "  You need to specify one of MYSQL_ROOT_PASSWORD, MYSQL_ALLOW_EMPTY_PASSWORD and "
                 "MYSQL_RANDOM_ROOT_PASSWORD")
    print("initialising the database in", DATADIR, flush=True)
    subprocess.run(["mariadb-install-db", "--user=mysql", f"--datadir={DATADIR}", "--skip-test-db",
                    "--auth-root-authentication-method=normal"], check=True, stdout=subprocess.DEVNULL)
    server = subprocess.Popen(["mariadbd", "--user=mysql", f"--datadir={DATADIR}", "--skip-networking",
                               f"--socket={SOCKET}"])
    for _ in range(60):
        if subprocess.run(["mariadb-admin", f"--socket={SOCKET}", "-uroot", "ping"],
                          capture_output=True).returncode == 0:
            break
        time.sleep(0.5)
    sql = ["DELETE FROM mysql.user WHERE User='';",
           f"ALTER USER 'root'@'localhost' IDENTIFIED BY {quote(root_pw)};",
           f"CREATE USER 'root'@'%' IDENTIFIED BY {quote(root_pw)};",
           "GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;"]
    database, user, password = env("MYSQL_DATABASE"), env("MYSQL_USER"), env("MYSQL_PASSWORD")
    if database:
        sql.append(f"CREATE DATABASE IF NOT EXISTS {ident(database)};")
    if user and password:
        sql.append(f"CREATE USER {quote(user)}@'%' IDENTIFIED BY {quote(password)};")
        if database:
            sql.append(f"GRANT ALL ON {ident(database)}.* TO {quote(user)}@'%';")
    sql.append("FLUSH PRIVILEGES;")
    # The SQL (with the passwords) goes through stdin, never argv.
    subprocess.run(["mariadb", f"--socket={SOCKET}", "-uroot"], input="\n".join(sql), text=True, check=True)
    server.terminate()
    server.wait()
    print("database initialised", flush=True)


def main() -> None:
    args = sys.argv[1:] or ["mariadbd"]
    if args[0] in ("mariadbd", "mysqld"):
        if not os.path.isdir(os.path.join(DATADIR, "mysql")):
            initialise()
        args = ["mariadbd", "--user=mysql", *args[1:]]
    os.execvp(args[0], args)


if __name__ == "__main__":
    main()
