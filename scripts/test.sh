#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine and runs every keelson test: unit, conformance (both
# store backends, real etcd), etcdctl against `keelson store`, and the crash test.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
cd "${BUILD_DIR:-build}"
ctest --output-on-failure --timeout 900 -j 1 "$@"
