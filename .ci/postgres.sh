#!/usr/bin/env bash
# Starts a throw-away PostgreSQL server for the tests and prints its SQLAlchemy URL.
# Installs Debian's postgresql when the machine lacks it. Usage:
#   url=$(.ci/postgres.sh start DIR)   ...   .ci/postgres.sh stop DIR
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
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    as_postgres "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --locale=C.UTF-8 -E UTF8 >&2
    as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >&2
    as_postgres "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres needtoknow_test >&2
    echo "postgresql+psycopg://postgres@127.0.0.1:$port/needtoknow_test"
    ;;
  stop)
    bin=$(pg_bin)
    as_postgres "$bin/pg_ctl" -D "$dir/data" -m fast stop >&2 || true
    ;;
  *)
    echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
