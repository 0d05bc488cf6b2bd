#!/usr/bin/env bash
# Captures a real PostgreSQL server's log in its three formats (stderr with
# the default `log_line_prefix` '%m [%p] ', csvlog, jsonlog) while provoking
# what RisingWave's meta store runs into: too many clients, reserved slots,
# a rejected pg_hba.conf entry, a wrong password, terminated connections,
# a backend killed by a signal (crash of another server process), a fast
# shutdown and a restart.
#
#   testdata/postgres/capture.sh OUTDIR
#
# Writes OUTDIR/stderr.log, OUTDIR/csvlog.csv, OUTDIR/jsonlog.json and
# OUTDIR/version. Uses Debian's server (`/usr/lib/postgresql/*/bin`), a
# temporary data directory and a spare port; never touches another cluster.
# PostgreSQL refuses to run as root: as root it runs as `postgres`.
# Exits 3 when no server is installed.
set -euo pipefail

out=${1:?usage: capture.sh OUTDIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$bin" ] || [ ! -x "$bin/postgres" ]; then
  echo "capture.sh: no PostgreSQL server under /usr/lib/postgresql/*/bin" >&2
  exit 3
fi
major=$("$bin/postgres" --version | sed -E 's/.* ([0-9]+)(\.[0-9]+)*.*/\1/')
if [ "$major" -lt 15 ]; then
  echo "capture.sh: PostgreSQL $major has no jsonlog (15+ needed)" >&2
  exit 3
fi

tmp=$(mktemp -d /tmp/rwdoctor-pg.XXXXXX)
as_pg=()
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --home-dir "$tmp" postgres
  chown postgres "$tmp"
  chmod 755 "$tmp"
  as_pg=(runuser -u postgres --)
fi
run() { "${as_pg[@]}" "$@"; }

# A spare port: the first free one from 54329 upwards.
port=54329
while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done

data=$tmp/data
cleanup() {
  run "$bin/pg_ctl" -D "$data" -m immediate stop >/dev/null 2>&1 || true
  jobs -p | xargs -r kill 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

run "$bin/initdb" -D "$data" -U postgres --auth-local=trust --auth-host=scram-sha-256 >/dev/null
cat >>"$data/postgresql.conf" <<EOF
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$tmp'
max_connections = 6
superuser_reserved_connections = 2
logging_collector = on
log_destination = 'stderr,csvlog,jsonlog'
log_directory = '$tmp/log'
log_filename = 'postgresql'
log_timezone = 'UTC'
EOF
# Only the meta store's user from localhost; anyone else is rejected.
cat >"$data/pg_hba.conf" <<EOF
local all all trust
host metadata risingwave 127.0.0.1/32 scram-sha-256
host all postgres 127.0.0.1/32 trust
EOF

start() { run "$bin/pg_ctl" -D "$data" -l "$tmp/pg_ctl.out" -w start >/dev/null; }
start
psql_su() { run psql -X -q -h "$tmp" -p "$port" -U postgres "$@"; }
psql_su -d postgres -c "CREATE ROLE risingwave LOGIN PASSWORD 'rw-secret'" \
  -c "CREATE DATABASE metadata OWNER risingwave"

tcp() { # user password [sql]
  PGPASSWORD=$2 PGCONNECT_TIMEOUT=5 psql -X -q -h 127.0.0.1 -p "$port" -U "$1" -d metadata \
    -c "${3:-SELECT 1}" >/dev/null 2>&1 || true
}

# A rejected pg_hba.conf entry and a wrong password.
tcp intruder x
tcp risingwave wrong-password

# Fill the slots: 4 for ordinary users, 2 reserved for superusers.
for _ in 1 2 3 4; do
  PGPASSWORD=rw-secret psql -X -q -h 127.0.0.1 -p "$port" -U risingwave -d metadata \
    -c "SELECT pg_sleep(60)" >/dev/null 2>&1 &
done
for _ in $(seq 1 50); do
  n=$(psql_su -d postgres -At -c "SELECT count(*) FROM pg_stat_activity WHERE usename = 'risingwave'")
  [ "$n" -ge 4 ] && break
  sleep 0.1
done
tcp risingwave rw-secret # remaining connection slots are reserved ...
# More superuser sessions than slots are left: sorry, too many clients already.
su_clients=()
for _ in 1 2 3 4; do
  PGCONNECT_TIMEOUT=5 psql -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres \
    -c "SELECT pg_sleep(4)" >/dev/null 2>&1 &
  su_clients+=($!)
done
wait "${su_clients[@]}" || true

# Terminated connections (pg_terminate_backend, as a failover tool does).
psql_su -d postgres -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%' AND pid <> pg_backend_pid()" >/dev/null 2>&1 || true
sleep 0.5

# A backend killed by a signal: the postmaster resets every other session.
for _ in 1 2; do
  PGPASSWORD=rw-secret psql -X -q -h 127.0.0.1 -p "$port" -U risingwave -d metadata \
    -c "SELECT pg_sleep(60)" >/dev/null 2>&1 &
done
for _ in $(seq 1 50); do
  n=$(psql_su -d postgres -At -c "SELECT count(*) FROM pg_stat_activity WHERE usename = 'risingwave'" 2>/dev/null || echo 0)
  [ "$n" -ge 2 ] && break
  sleep 0.1
done
victim=$(psql_su -d postgres -At -c "SELECT pid FROM pg_stat_activity WHERE usename = 'risingwave' LIMIT 1" 2>/dev/null || true)
[ -n "${victim:-}" ] && kill -9 "$victim"
for _ in $(seq 1 40); do
  psql_su -d postgres -At -c "SELECT 1" >/dev/null 2>&1 && break
  sleep 0.5
done

# A fast shutdown with a session open, then a restart.
PGPASSWORD=rw-secret psql -X -q -h 127.0.0.1 -p "$port" -U risingwave -d metadata \
  -c "SELECT pg_sleep(60)" >/dev/null 2>&1 &
sleep 0.5
run "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null
# Connections while it starts up again (the meta node retrying).
run "$bin/pg_ctl" -D "$data" -l "$tmp/pg_ctl.out" start >/dev/null
for _ in $(seq 1 20); do
  tcp risingwave rw-secret
done
run "$bin/pg_ctl" -D "$data" -w status >/dev/null 2>&1 || sleep 2
tcp risingwave rw-secret
run "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null

cp "$tmp/log/postgresql" "$out/stderr.log"
cp "$tmp/log/postgresql.csv" "$out/csvlog.csv"
cp "$tmp/log/postgresql.json" "$out/jsonlog.json"
"$bin/postgres" --version >"$out/version"
