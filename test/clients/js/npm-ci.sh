#!/bin/sh
# Installs the pinned JavaScript client into DIR/node_modules with `npm ci`, unless it is
# already installed from the same package-lock.json.
set -eu
cd "$1"
if ! command -v npm >/dev/null 2>&1; then
  echo "FAIL: npm is missing (./scripts/install-deps.sh installs Debian's nodejs and npm)"
  exit 1
fi
if cmp -s package-lock.json node_modules/.keelson-installed-lock.json; then
  echo "node_modules is up to date with package-lock.json"
  exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
cp package-lock.json node_modules/.keelson-installed-lock.json
echo "installed $(node -p "require('./node_modules/@kubernetes/client-node/package.json').version" 2>/dev/null) of @kubernetes/client-node"
