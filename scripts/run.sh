#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds keelson and runs it on the embedded store.
# Today that is `keelson store`: the embedded store serving the etcd v3 API on
# http://127.0.0.1:2379 (override with KEELSON_LISTEN), data in ./data/store (KEELSON_DATA).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
exec "${BUILD_DIR:-build}/keelson" store \
  --data-dir "${KEELSON_DATA:-data/store}" \
  --listen-client-urls "${KEELSON_LISTEN:-http://127.0.0.1:2379}" "$@"
