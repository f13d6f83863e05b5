#!/usr/bin/env bash
# Hollow nodes at scale: `keelson agent --simulate N` against `keelson server` on this machine.
# Prints the time until N nodes are registered and Ready (target ≤ 10 s for 10,000; KWOK's CI
# allows 180 s), the agent's memory per node (target ≤ 20 KiB; kubemark's hollow kubelet
# requests 100 MiB), and the heartbeat load: the API server's CPU and the lease renewals per
# second while the nodes only heartbeat.
#
#   bench/simnode_bench.sh [nodes] [heartbeat-seconds]   (default 10000 and 30)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
HB=${2:-30}
BUILD_DIR=${BUILD_DIR:-build}
KEELSON=${KEELSON:-$BUILD_DIR/keelson}
WORK=$(mktemp -d /var/tmp/keelson-simbench-XXXXXX)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$KEELSON" server --data-dir "$WORK/data" --port "$PORT" --disable-agent >"$WORK/server.log" 2>&1 &
SERVER=$!
AGENT=""
trap 'kill $AGENT $SERVER 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 200); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.05; done

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
TCK=$(getconf CLK_TCK)

echo "== $N hollow nodes"
"$KEELSON" agent --simulate "$N" --kubeconfig "$WORK/data/kubeconfig.yaml" >"$WORK/agent.log" 2>&1 &
AGENT=$!
for _ in $(seq 1 1200); do grep -q registered "$WORK/agent.log" && break; sleep 0.05; done
cat "$WORK/agent.log"
READY=$(curl -s "http://127.0.0.1:$PORT/api/v1/nodes" | python3 -c '
import json,sys
items=json.load(sys.stdin)["items"]
print(sum(1 for n in items for c in n["status"].get("conditions",[]) if c["type"]=="Ready" and c["status"]=="True"))')
echo "nodes Ready: $READY"
BASE_KB=$(awk '/VmRSS/ {print $2}' /proc/self/status)
AGENT_KB=$(rss_kb $AGENT)
echo "agent RSS: $((AGENT_KB / 1024)) MB, $(python3 -c "print(f'{$AGENT_KB*1024/$N/1024:.1f}')") KiB per node"

echo "== heartbeats only, ${HB}s"
LEASES_BEFORE=$(curl -s "http://127.0.0.1:$PORT/metrics" | awk -F' ' '/^apiserver_request_total/ && /resource="leases"/ && /verb="PATCH"/ {s+=$2} END {print s+0}')
S0=$(cpu_ticks $SERVER); A0=$(cpu_ticks $AGENT)
sleep "$HB"
S1=$(cpu_ticks $SERVER); A1=$(cpu_ticks $AGENT)
LEASES_AFTER=$(curl -s "http://127.0.0.1:$PORT/metrics" | awk -F' ' '/^apiserver_request_total/ && /resource="leases"/ && /verb="PATCH"/ {s+=$2} END {print s+0}')
python3 - "$S0" "$S1" "$A0" "$A1" "$TCK" "$HB" "$LEASES_BEFORE" "$LEASES_AFTER" "$(rss_kb $SERVER)" <<'PY'
import sys
s0, s1, a0, a1, tck, hb, l0, l1, srss = (float(x) for x in sys.argv[1:])
print(f"lease renewals: {(l1 - l0) / hb:.0f}/s")
print(f"API server CPU: {(s1 - s0) / tck / hb * 100:.1f}% of a core; RSS {srss / 1024:.0f} MB")
print(f"agent CPU: {(a1 - a0) / tck / hb * 100:.1f}% of a core")
PY
