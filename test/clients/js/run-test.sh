#!/bin/sh
# Runs client_test.mjs (in DIR, next to its node_modules) against KEELSON_BINARY.
set -eu
dir=$1
shift
if ! command -v node >/dev/null 2>&1; then
  echo "FAIL: node is missing (./scripts/install-deps.sh installs Debian's nodejs)"
  echo "0 passed, 1 failed"
  exit 1
fi
binary=$(realpath "$1")
shift
cd "$dir"
exec node client_test.mjs "$binary" "$@"
