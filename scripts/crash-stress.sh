#!/usr/bin/env bash
# Many rounds of the store crash test: SIGKILL `keelson store` under concurrent write load,
# restart, and check that no acknowledged write is lost, no transaction is half-applied and
# revisions have no holes.   scripts/crash-stress.sh [rounds]   (default 50)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build.sh >/dev/null
KEELSON_CRASH_ROUNDS=${1:-50} "${BUILD_DIR:-build}/test/store/store_crash_test"
