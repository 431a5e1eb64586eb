#!/usr/bin/env bash
# Starts a throw-away PostgreSQL server for the tests and prints its SQLAlchemy URL.
# Installs Debian's postgresql when the machine lacks it. Usage:
#   url=$(.ci/postgres.sh start DIR)   ...   .ci/postgres.sh stop DIR
# The port is NEEDTOKNOW_CI_PG_PORT (default 54329). `start` on a DIR that already holds
# a stopped server starts it again with its data (the fault tests stop and restart their
# own server this way); on a running one it only prints the URL.
set -euo pipefail
action=${1:?start or stop}
dir=${2:?data directory}
port=${NEEDTOKNOW_CI_PG_PORT:-54329}

pg_bin() {
  local found
  found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  echo "$found"
}

as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$action" in
  start)
    bin=$(pg_bin)
    if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
      echo "installing postgresql (Debian)" >&2
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq >&2
      apt-get install -y -qq postgresql >&2
      bin=$(pg_bin)
    fi
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      as_postgres "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --locale=C.UTF-8 -E UTF8 >&2
    fi
    if ! as_postgres "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
      # fsync off: a test server's data may be lost in a machine crash, never in a
      # server stop (the fault tests stop it with -m immediate, which is a crash to it
      # but not to the operating system's page cache).
      as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 120 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" start >&2
    fi
    if ! as_postgres "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = 'needtoknow_test'" postgres | grep -q 1; then
      as_postgres "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres needtoknow_test >&2
    fi
    echo "postgresql+psycopg://postgres@127.0.0.1:$port/needtoknow_test"
    ;;
  stop)
    # MODE: fast (default) or immediate (a crash, as far as the clients can tell).
    mode=${3:-fast}
    bin=$(pg_bin)
    if [ -n "$bin" ] && [ -f "$dir/data/PG_VERSION" ]; then
      as_postgres "$bin/pg_ctl" -D "$dir/data" -m "$mode" -w stop >&2 || true
    fi
    ;;
  *)
    echo "usage: $0 start DIR | stop DIR [fast|immediate]" >&2; exit 2 ;;
esac
