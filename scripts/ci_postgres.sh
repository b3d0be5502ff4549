#!/usr/bin/env bash
# Start a throw-away PostgreSQL on 127.0.0.1:55432 for the state-DB tests and print the URL to use.
# Used by .ci/run; needs Debian's postgresql package (installed here when apt-get is available).
set -euo pipefail
PGPORT=${PGPORT:-55432}
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  command -v apt-get >/dev/null 2>&1 || { echo "no apt-get: cannot install PostgreSQL" >&2; exit 1; }
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
DATA=$(mktemp -d /tmp/newsmon-pg.XXXXXX)
chown postgres "$DATA"
run_as_postgres() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi; }
run_as_postgres "$BIN/initdb -D $DATA -A trust -U postgres" >/dev/null
run_as_postgres "$BIN/pg_ctl -D $DATA -o '-p $PGPORT -k /tmp -c listen_addresses=127.0.0.1' -l $DATA/log -w start" >/dev/null
psql -h 127.0.0.1 -p "$PGPORT" -U postgres -qc "CREATE DATABASE newsmon_test" >/dev/null
echo "$BIN/pg_ctl -D $DATA stop -m fast" > /tmp/newsmon-pg.stop
echo "postgresql+psycopg://postgres@127.0.0.1:$PGPORT/newsmon_test"
