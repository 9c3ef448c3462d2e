#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for tests, on a free loopback port.
#   scripts/pg.sh start DIR     creates and starts a cluster in DIR (empty or
#                               missing) with a database "gatehouse"; prints
#                               its postgresql:// URL on stdout
#   scripts/pg.sh restart DIR   restarts it (same port, same data)
#   scripts/pg.sh stop DIR      stops it and removes DIR
# Durability is traded for speed (fsync off): never keep data in it. With
# GATEHOUSE_PG_FSYNC=on the cluster flushes as a production one does (for
# benchmarks that measure commits). As root, the cluster runs as the
# "postgres" system user of the Debian package.
set -euo pipefail

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
cmd=${1:-}
dir=${2:-}

die() {
  echo "pg.sh: $*" >&2
  exit 1
}

[ -n "$cmd" ] && [ -n "$dir" ] || die "usage: scripts/pg.sh start|restart|stop DIR"

# PostgreSQL refuses to run as root.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

start() {
  [ -x "$PGBIN/initdb" ] || die "$PGBIN/initdb not found: install postgresql-15"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  [ -z "$(ls -A "$dir")" ] || die "$dir is not empty"
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || die "no postgres user: install postgresql-15"
    chown postgres: "$dir"
    as_owner test -w "$dir" || die "the postgres user cannot reach $dir (a parent directory is private)"
  fi

  # A random superuser password: loopback is shared with every local user.
  local password
  password=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
  printf '%s\n' "$password" >"$dir/pwfile"
  [ "$(id -u)" -ne 0 ] || chown postgres: "$dir/pwfile"
  as_owner "$PGBIN/initdb" -D "$dir/data" -U postgres --pwfile="$dir/pwfile" \
    --auth-local=peer --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 \
    --no-sync >"$dir/initdb.log" 2>&1 || {
    cat "$dir/initdb.log" >&2
    die "initdb failed"
  }
  rm -f "$dir/pwfile"

  cat >>"$dir/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
max_connections = 300
EOF
  if [ "${GATEHOUSE_PG_FSYNC:-off}" = on ]; then
    printf 'fsync = on\nsynchronous_commit = on\nfull_page_writes = on\n' >>"$dir/data/postgresql.conf"
  else
    printf 'fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n' >>"$dir/data/postgresql.conf"
  fi

  # Another process may take a port between our pick and the bind: the
  # start then fails and the next random port is tried.
  local port tries
  for tries in 1 2 3 4 5 6 7 8 9 10; do
    port=$((20000 + RANDOM % 40000))
    if as_owner "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -o "-p $port" \
      -w -t 30 start >/dev/null 2>&1; then
      echo "$port" >"$dir/port"
      break
    fi
    port=""
  done
  [ -n "$port" ] || {
    tail -20 "$dir/postgres.log" >&2 || true
    die "the cluster did not start"
  }

  local url="postgresql://postgres:$password@127.0.0.1:$port/gatehouse"
  PGCONNECT_TIMEOUT=10 "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 \
    -d "postgresql://postgres:$password@127.0.0.1:$port/postgres" \
    -c 'CREATE DATABASE gatehouse' >/dev/null || die "cannot create the gatehouse database"
  echo "$url"
}

restart() {
  [ -f "$dir/port" ] || die "no cluster in $dir"
  as_owner "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -o "-p $(cat "$dir/port")" \
    -m fast -w -t 30 restart >/dev/null
}

stop() {
  [ -d "$dir" ] || return 0
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_owner "$PGBIN/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
}

case "$cmd" in
start) start ;;
restart) restart ;;
stop) stop ;;
*) die "unknown command $cmd (start, restart or stop)" ;;
esac
