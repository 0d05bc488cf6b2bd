#!/usr/bin/env bash
# Captures a real MariaDB server's error log while provoking what
# RisingWave's meta store runs into on a MySQL-compatible backend: a wrong
# password and an unknown user (`Access denied for user`), too many
# connections, a connection dropped before it logged in, a normal shutdown
# and a restart, and (when a small tmpfs can be mounted, i.e. as root) a
# full disk, on which MariaDB 10.11 crashes and is started again.
#
#   testdata/mysql/capture.sh OUTDIR
#
# Writes OUTDIR/error.log and OUTDIR/version. Uses Debian's `mariadbd`, a
# temporary data directory and a spare port; never touches another server.
# `log_warnings=4` makes MariaDB log refused connections (`Aborted
# connection ... (Too many connections)`); its default (2) logs only the
# access denials. Exits 3 when no server is installed.
set -euo pipefail

out=${1:?usage: capture.sh OUTDIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)

server=$(command -v mariadbd || ls /usr/sbin/mariadbd 2>/dev/null || true)
if [ -z "$server" ] || ! command -v mariadb-install-db >/dev/null || ! command -v mariadb >/dev/null; then
  echo "capture.sh: no MariaDB server (mariadbd, mariadb-install-db, mariadb)" >&2
  exit 3
fi

tmp=$(mktemp -d /tmp/rwdoctor-mysql.XXXXXX)
user=$(id -un)
if [ "$(id -u)" = 0 ]; then
  id mysql >/dev/null 2>&1 || useradd --system --home-dir "$tmp" mysql
  user=mysql
fi

# A spare port: the first free one from 53306 upwards.
port=53306
while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done

data=$tmp/data
log=$tmp/error.log
small=$tmp/small
mounted=
pid=
cleanup() {
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
  jobs -p | xargs -r kill 2>/dev/null || true
  [ -n "$mounted" ] && umount "$small" 2>/dev/null || true
  [ -n "${KEEP:-}" ] && cp "$log" "$KEEP" 2>/dev/null; rm -rf "$tmp"
}
trap cleanup EXIT

mkdir -p "$small"
chown -R "$user" "$tmp"
mariadb-install-db --no-defaults --user="$user" --datadir="$data" \
  --auth-root-authentication-method=normal >/dev/null
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=2m tmpfs "$small" 2>/dev/null; then
  mounted=1
  chown "$user" "$small"
fi

start() {
  "$server" --no-defaults --user="$user" --datadir="$data" --port="$port" \
    --bind-address=127.0.0.1 --socket="$tmp/sock" --pid-file="$tmp/pid" \
    --log-error="$log" --max-connections=10 --log-warnings=4 \
    --skip-name-resolve >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do
    root -e "SELECT 1" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "capture.sh: mariadbd did not start" >&2
  exit 1
}
root() { mariadb --no-defaults -h 127.0.0.1 -P "$port" -u root "$@"; }
as_rw() { # password [sql]
  mariadb --no-defaults -h 127.0.0.1 -P "$port" -u risingwave -p"$1" metadata \
    -e "${2:-SELECT 1}" >/dev/null 2>&1 || true
}

start
root -e "CREATE USER 'risingwave'@'%' IDENTIFIED BY 'rw-secret';
         CREATE DATABASE metadata; GRANT ALL ON metadata.* TO 'risingwave'@'%';"

# Access denied: a wrong password, an unknown user.
as_rw wrong-password
mariadb --no-defaults -h 127.0.0.1 -P "$port" -u intruder -px metadata -e "SELECT 1" >/dev/null 2>&1 || true

# Too many connections: 16 sessions for 10 slots (+1 for a SUPER user).
for _ in $(seq 1 16); do as_rw rw-secret "SELECT SLEEP(3)" & done
sleep 1
as_rw rw-secret
wait $(jobs -p | grep -v "^$pid\$") 2>/dev/null || true

# A connection that closes before it logs in (a health check, a cut network).
exec 4<>"/dev/tcp/127.0.0.1/$port"
head -c 1 <&4 >/dev/null || true
exec 4<&- 4>&-
sleep 0.5

# A normal shutdown, then a restart.
root -e "SHUTDOWN"
wait "$pid" 2>/dev/null || true
start

# A full disk: a table on a 2 MiB tmpfs; MariaDB 10.11 aborts on it.
if [ -n "$mounted" ]; then
  root metadata -e "CREATE TABLE filler (id INT AUTO_INCREMENT PRIMARY KEY, pad LONGBLOB)
                    DATA DIRECTORY='$small'"
  for _ in $(seq 1 4); do
    root metadata -e "INSERT INTO filler (pad) VALUES (REPEAT('x', 1000000))" >/dev/null 2>&1 || true
  done
  wait "$pid" 2>/dev/null || true
  # Space freed (the volume grown), then started again: crash recovery.
  mount -o remount,size=32m "$small"
  start
  root metadata -e "DROP TABLE filler" >/dev/null 2>&1 || true
fi
root -e "SHUTDOWN"
wait "$pid" 2>/dev/null || true
pid=

cp "$log" "$out/error.log"
"$server" --version >"$out/version"
