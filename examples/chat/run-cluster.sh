#!/usr/bin/env bash
# The chat example as a small cluster on one machine: two `canal serve` processes and one
# `canal worker`, sharing Redis (the channel layer) and PostgreSQL (the database), as
# docs/deploying.md describes. A page on one server and a page on the other, in the same room,
# see each other's messages.
#
#   examples/chat/run-cluster.sh                  servers on ports 8001 and 8002
#   examples/chat/run-cluster.sh 9001 9002 9003   one server per port given
#
# REDIS_URL (default redis://127.0.0.1:6379/0) and DATABASE_URL (default
# postgres://postgres@127.0.0.1:5432/canal_chat) say where they are. A local Redis that is not
# running is started for as long as this script runs; a local PostgreSQL that is not running is
# started as .ci/run does; the database is made if it is missing. Ctrl-C stops everything.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CONFIG="$HERE/canal.config.ts"
CANAL=(node "$ROOT/bin/canal.mjs")
say() { printf '== %s\n' "$*"; }
die() { printf 'run-cluster: %s\n' "$*" >&2; exit 1; }

ports=("$@")
[ ${#ports[@]} -gt 0 ] || ports=(8001 8002)
for p in "${ports[@]}"; do
  [[ "$p" =~ ^[0-9]+$ ]] && [ "$p" -ge 1 ] && [ "$p" -le 65535 ] || die "a port is a number from 1 to 65535, not \"$p\""
done
[ -d "$ROOT/node_modules" ] || die "no node_modules in $ROOT: run npm ci there first"

export LAYER=redis
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/canal_chat}"

# host port [database admin-url] of a URL, read by Node's URL parser.
url_parts() {
  node -e '
    let u;
    try { u = new URL(process.argv[1]); } catch { console.error(`run-cluster: not a URL: ${process.argv[1]}`); process.exit(1); }
    const parts = [u.hostname.replace(/^\[|\]$/g, "") || "localhost", u.port || process.argv[2]];
    if (process.argv[3]) { parts.push(decodeURIComponent(u.pathname.slice(1))); u.pathname = "/postgres"; parts.push(u.href); }
    console.log(parts.join(" "));' "$@"
}
is_local() { [ "$1" = 127.0.0.1 ] || [ "$1" = localhost ] || [ "$1" = ::1 ]; }
answers() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
# Redis answers PING (+PONG, or -NOAUTH when it wants a password: there all the same).
redis_up() { (exec 3<>"/dev/tcp/$1/$2" && printf 'PING\r\n' >&3 && IFS= read -r -t 2 reply <&3 && [ -n "$reply" ]) 2>/dev/null; }

tmp="$(mktemp -d "${TMPDIR:-/tmp}/canal-cluster.XXXXXX")"
canal_pids=()
redis_pid=''
stopping=''

stop_all() {
  [ -z "$stopping" ] || return 0
  stopping=1
  trap '' INT TERM
  if [ ${#canal_pids[@]} -gt 0 ]; then
    say "stopping: SIGTERM to the servers and the worker (they close WebSockets with 1012, finish what is in hand)"
    kill -TERM "${canal_pids[@]}" 2>/dev/null || true
    # canal's own drain timeout is 10 s; a process still there after 15 s is killed.
    for _ in $(seq 150); do
      alive=''
      for pid in "${canal_pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
      [ -n "$alive" ] || break
      sleep 0.1
    done
    kill -KILL "${canal_pids[@]}" 2>/dev/null || true
    wait "${canal_pids[@]}" 2>/dev/null || true
  fi
  if [ -n "$redis_pid" ]; then
    say "stopping the redis-server this script started"
    kill -TERM "$redis_pid" 2>/dev/null || true
    wait "$redis_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Redis
read -r redis_host redis_port < <(url_parts "$REDIS_URL" 6379) || die "REDIS_URL must be a URL, redis://host:port/db"
if ! redis_up "$redis_host" "$redis_port"; then
  is_local "$redis_host" || die "Redis does not answer at $REDIS_URL; start it, or set REDIS_URL"
  command -v redis-server >/dev/null 2>&1 || die "Redis is not running at $REDIS_URL and redis-server is not installed: apt-get install redis-server"
  say "starting redis-server on $redis_host:$redis_port (until this script stops; log: $tmp/redis.log)"
  # Its own process group (set -m), as the canal processes below: Ctrl-C must not stop Redis
  # before they have finished with it.
  set -m
  redis-server --port "$redis_port" --bind "$redis_host" --save '' --appendonly no --dir "$tmp" --logfile "$tmp/redis.log" </dev/null &
  redis_pid=$!
  set +m
  for _ in $(seq 50); do redis_up "$redis_host" "$redis_port" && break; sleep 0.1; done
  redis_up "$redis_host" "$redis_port" || die "redis-server did not start on port $redis_port; see $tmp/redis.log"
fi

# PostgreSQL
read -r pg_host pg_port pg_name pg_admin < <(url_parts "$DATABASE_URL" 5432 postgres) || die "DATABASE_URL must be a URL, postgres://user@host:port/dbname"
if ! pg_isready -q -h "$pg_host" -p "$pg_port" 2>/dev/null; then
  is_local "$pg_host" || die "PostgreSQL does not answer at $pg_host:$pg_port; start it, or set DATABASE_URL"
  command -v pg_ctlcluster >/dev/null 2>&1 || die "PostgreSQL is not running on $pg_host:$pg_port and pg_ctlcluster is missing: apt-get install postgresql"
  version="$(ls /etc/postgresql | head -n1)"
  say "starting PostgreSQL $version on $pg_host:$pg_port"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start \
    || die "could not start PostgreSQL; try: sudo pg_ctlcluster $version main start"
  for _ in $(seq 100); do pg_isready -q -h "$pg_host" -p "$pg_port" && break; sleep 0.1; done
  pg_isready -q -h "$pg_host" -p "$pg_port" || die "PostgreSQL did not start on $pg_host:$pg_port"
fi
if ! command -v psql >/dev/null 2>&1; then
  say "psql is not installed: not checking that database $pg_name exists"
elif [[ ! "$pg_name" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
  say "not checking database \"$pg_name\" (a name of letters, digits and _ is checked and made here)"
else
  exists="$(psql "$pg_admin" -XtAc "select 1 from pg_database where datname = '$pg_name'")" \
    || die "cannot reach PostgreSQL to check that database $pg_name exists (above); set DATABASE_URL"
  if [ -z "$exists" ]; then
    say "creating database $pg_name"
    psql "$pg_admin" -Xqc "create database $pg_name"
  fi
fi

# The servers and the worker. Each runs in its own process group (set -m), so Ctrl-C reaches
# only this script, which then stops each of them with one SIGTERM (a second signal would
# make canal give up its graceful shutdown). Their lines are prefixed with their names.
for p in "${ports[@]}"; do
  ! answers 127.0.0.1 "$p" || die "port $p is already in use; give other ports: $0 9001 9002"
done
start() {
  local name=$1
  shift
  "$@" </dev/null 2>&1 | awk -v prefix="$name | " '{ print prefix $0; fflush() }' &
  canal_pids+=("$(jobs -p %+)")
}
set -m
for p in "${ports[@]}"; do start "web.$p" "${CANAL[@]}" serve --config "$CONFIG" --port "$p"; done
start worker "${CANAL[@]}" worker --config "$CONFIG"
set +m

for p in "${ports[@]}"; do
  for _ in $(seq 300); do
    answers 127.0.0.1 "$p" && break
    for pid in "${canal_pids[@]}"; do kill -0 "$pid" 2>/dev/null || die "a process of the cluster exited during start-up (see its lines above)"; done
    sleep 0.1
  done
  answers 127.0.0.1 "$p" || die "the server for port $p did not start listening within 30 s"
done

say "chat cluster up: LAYER=redis REDIS_URL=$REDIS_URL DATABASE_URL=$(sed -E 's#(://[^:/@]*):[^@]*@#\1:***@#' <<<"$DATABASE_URL")"
for p in "${ports[@]}"; do say "  http://127.0.0.1:$p/chat/lobby/"; done
say "Ctrl-C stops everything"

# Whichever process ends first (a crash, a port taken meanwhile) ends the cluster.
wait -n || true
[ -n "$stopping" ] || die "a process of the cluster exited; stopping the others"
