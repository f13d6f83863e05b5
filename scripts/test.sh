#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine and runs every keelson test: unit, conformance (both
# store backends, real etcd), etcdctl against `keelson store`, the crash test, the hostile
# clients test and every fuzz target for a minute.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
# The fuzz targets (clang, ASan + UBSan, in build-fuzz/): ctest runs each for a bounded time
# (label fuzz); building them here keeps that time for fuzzing.
./scripts/fuzz.sh --build
cd "${BUILD_DIR:-build}"
ctest --output-on-failure --timeout 900 -j 1 "$@"
