#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds keelson and runs a cluster on the embedded store:
# `keelson server` serving the Kubernetes API on http://127.0.0.1:6443 (KEELSON_PORT), state in
# ./data (KEELSON_DATA). It prints where it wrote the kubeconfig:
#   export KUBECONFIG=$PWD/data/kubeconfig.yaml; kubectl get namespaces
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
exec "${BUILD_DIR:-build}/keelson" server \
  --data-dir "${KEELSON_DATA:-data}" \
  --port "${KEELSON_PORT:-6443}" "$@"
