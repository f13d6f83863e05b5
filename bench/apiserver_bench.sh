#!/usr/bin/env bash
# API server benchmark, through the real HTTP API with keep-alive:
#   - pod creates/s with 64 concurrent clients (wrk, 64 connections, 2 threads);
#   - LIST of every pod (about 100,000 after the create run) as JSON, timed;
#   - server memory (RSS and RssAnon) holding them, and their JSON size;
#   - watch delivery latency to 1,000 watchers (bench/apiserver/watch_latency.cc), 100
#     creates/s for 5 s.
#
#   bench/apiserver_bench.sh [create-seconds]   (default 10; COLD=1: creates before the
#                                                pods' watch cache has started; KEELSON=path
#                                                and WATCH_LATENCY=path: other binaries, as
#                                                bench/apiserver_compare.sh runs them)
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-10}
BUILD_DIR=${BUILD_DIR:-build}
command -v wrk >/dev/null || { echo "wrk not installed: scripts/install-deps.sh" >&2; exit 1; }
WORK=$(mktemp -d /var/tmp/keelson-apibench-XXXXXX)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
KEELSON=${KEELSON:-$BUILD_DIR/keelson}
WATCH_LATENCY=${WATCH_LATENCY:-$BUILD_DIR/bench/watch_latency}
# The API server alone (`keelson server` also runs the scheduler and controllers).
"$KEELSON" apiserver --data-dir "$WORK/data" --port "$PORT" >"$WORK/server.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true; wait $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 200); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.05; done

# As in a running cluster, the pods' watch cache is running while pods are created (a LIST
# starts it): every create is also decoded into the cache and offered to its watchers.
# COLD=1 measures creates before anything has listed pods (the cache not yet started).
if [ -z "${COLD:-}" ]; then
  curl -sf -o /dev/null "http://127.0.0.1:$PORT/api/v1/pods"
  echo "== pod creates (pods' watch cache running), 64 connections, ${SECS}s"
else
  echo "== pod creates (no watch cache yet), 64 connections, ${SECS}s"
fi
# The server's CPU time per create (user + system, from /proc), which contention from other
# work on the machine changes far less than the rate does.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
BEFORE=$(cpu_ticks)
# ADMITTED=1: the pods carry what admission adds (see create_pods.lua).
wrk -t2 -c64 -d"${SECS}s" --latency -s bench/apiserver/create_pods.lua "http://127.0.0.1:$PORT" \
  ${ADMITTED:+-- admitted} \
  >"$WORK/wrk.out" || true
AFTER=$(cpu_ticks)
grep -E "Requests/sec|Latency|50%|99%|requests in|Non-2xx|unexpected" "$WORK/wrk.out" || true
REQS=$(awk '/requests in/ {print $1}' "$WORK/wrk.out")
python3 -c 'import os,sys; t=int(sys.argv[2])-int(sys.argv[1]); n=int(sys.argv[3] or 0); \
print("server CPU per create: %.1f us" % (t * 1e6 / os.sysconf("SC_CLK_TCK") / n if n else 0))' \
  "$BEFORE" "$AFTER" "${REQS:-0}"

echo "== LIST of every pod (JSON)"
for i in 1 2 3; do
  curl -s -o "$WORK/list.json" -w "list ${i}: %{time_total}s, %{size_download} bytes\n" \
    "http://127.0.0.1:$PORT/api/v1/pods"
done
COUNT=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["items"]))' "$WORK/list.json")
echo "pods listed: $COUNT"
echo "== LIST in pages of 500 (as kubectl get does)"
curl -s -o /dev/null -w "first page: %{time_total}s\n" "http://127.0.0.1:$PORT/api/v1/pods?limit=500"
echo "== server memory with $COUNT pods"
awk '/VmRSS|RssAnon/ {printf "%s %.1f MB\n", $1, $2/1024}' "/proc/$PID/status"
echo "== watch delivery, 1000 watchers, 100 creates/s for 5 s"
ulimit -n 4096 2>/dev/null || true
"$WATCH_LATENCY" --port="$PORT" --watchers=1000 --rate=100 --seconds=5 || true
