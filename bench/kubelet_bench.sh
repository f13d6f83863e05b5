#!/usr/bin/env bash
# Pod startup on a real node (bench/kubelet/pod_startup_bench.cc): `keelson server
# --disable-agent` and a separate `keelson kubelet` (so that its own RSS and CPU can be read),
# then the bench: N pods one after another through the API and the same containers straight
# through the CRI, side by side; N pods at once; the kubelet idle with N pods. Needs root.
#   bench/kubelet_bench.sh [pods]     (default 100)
set -euo pipefail
cd "$(dirname "$0")/.."
PODS=${1:-100}
BUILD=${BUILD_DIR:-build}
KEELSON=${KEELSON:-$BUILD/keelson}
WORK=$(mktemp -d /tmp/keelson-kbench-XXXXXX)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cleanup() {
  kill "${KUBELET_PID:-}" "${SERVER_PID:-}" 2>/dev/null || true
  cp "$WORK/kubelet.log" "$WORK/server.log" "${TMPDIR:-/tmp}/" 2>/dev/null || true
  wait 2>/dev/null || true
  scripts/node-cleanup.sh "$WORK/node" --bridge kbench0 >/dev/null 2>&1 || true
  rm -rf "$WORK" 2>/dev/null || true
}
trap cleanup EXIT
"$KEELSON" server --data-dir "$WORK/data" --port "$PORT" --disable-agent \
  --allocate-node-cidrs --cluster-cidr 10.88.0.0/16 >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do [ -f "$WORK/data/kubeconfig.yaml" ] && break; sleep 0.1; done
"$KEELSON" kubelet --kubeconfig "$WORK/data/kubeconfig.yaml" --data-dir "$WORK/node" \
  --node-name kbench-node --cni-bridge kbench0 --images "$BUILD/images" ${KUBELET_FLAGS:-} \
  >"$WORK/kubelet.log" 2>&1 &
KUBELET_PID=$!
for _ in $(seq 300); do
  kubectl --kubeconfig "$WORK/data/kubeconfig.yaml" get nodes 2>/dev/null | grep -q " Ready" && break
  sleep 0.2
done
"$BUILD/bench/pod_startup_bench" --kubeconfig "$WORK/data/kubeconfig.yaml" \
  --cri "unix://$WORK/node/containerd/containerd.sock" --kubelet-pid "$KUBELET_PID" --pods "$PODS"
