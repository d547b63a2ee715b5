#!/usr/bin/env bash
# The README's test command on a fresh Debian machine with a supported Node (22, 24, 26):
# installs and starts what only the system provides (Redis, PostgreSQL, Chromium, openssl,
# Python's channels_redis and websockets), then `npm ci` and `npm test`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-system.sh
echo "== node $(node --version), npm $(npm --version): npm ci"
# Native modules (better-sqlite3) build against this Node's headers when it ships them.
node_home="$(dirname "$(dirname "$(command -v node)")")"
if [ -d "$node_home/include/node" ] && [ -z "${npm_config_nodedir:-}" ]; then
  export npm_config_nodedir="$node_home"
fi
npm ci --no-audit --no-fund
echo "== npm test"
npm test
