#!/usr/bin/env bash
# Installs (Debian's packages) and starts what the tests need from the system, each only when
# missing: Redis on 127.0.0.1:6379, PostgreSQL on 127.0.0.1:5432 (trust auth for postgres),
# Chromium for the browser tests, openssl for the TLS test's certificates, Python's
# channels_redis (the interoperability peer) and websockets (the reference smoke checks).
set -euo pipefail

apt_install() {
  echo "== apt-get install $*"
  if [ -z "${APT_UPDATED:-}" ]; then apt-get update -qq; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v pg_ctlcluster >/dev/null 2>&1 && command -v psql >/dev/null 2>&1 || need+=(postgresql)
[ -x /usr/bin/python3 ] || need+=(python3)
if [ -x /usr/bin/python3 ]; then
  /usr/bin/python3 -c 'import channels_redis, cryptography, msgpack' >/dev/null 2>&1 \
    || need+=(python3-channels-redis python3-cryptography python3-msgpack)
  /usr/bin/python3 -c 'import websockets' >/dev/null 2>&1 || need+=(python3-websockets)
else
  need+=(python3-channels-redis python3-cryptography python3-msgpack python3-websockets)
fi
fresh_postgres=0
[[ " ${need[*]} " == *" postgresql "* ]] && fresh_postgres=1
if [ ${#need[@]} -gt 0 ]; then apt_install "${need[@]}"; fi

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "== starting redis-server on 127.0.0.1:6379"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 50); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.1; done
fi
redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null

cluster="$(ls /etc/postgresql | head -n1)"
if [ "$fresh_postgres" = 1 ]; then
  pgconf="/etc/postgresql/$cluster/main"
  printf "listen_addresses = '127.0.0.1'\nport = 5432\n" >"$pgconf/conf.d/90-canal.conf"
  printf 'local all all trust\nhost all all 127.0.0.1/32 trust\n' >"$pgconf/pg_hba.conf"
  pg_ctlcluster --skip-systemctl-redirect "$cluster" main restart || true
fi
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "== starting PostgreSQL on 127.0.0.1:5432"
  pg_ctlcluster --skip-systemctl-redirect "$cluster" main start
fi
for _ in $(seq 100); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.1; done
pg_isready -h 127.0.0.1 -p 5432
