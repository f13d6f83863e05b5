#!/usr/bin/env bash
# The Service proxy's rule programming with many Services (bench/proxy/proxy_bench.py): one
# change at 10,000 Services / 50,000 endpoints, the full sync, the proxy's RSS. Needs root.
#   bench/proxy_bench.sh [--services N] [--endpoints E] [--changes C]
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 bench/proxy/proxy_bench.py "$@"
