#!/usr/bin/env bash
# Side-by-side benchmark of `keelson store` and real etcd (Debian's etcd-server 3.4) with one
# load generator (bench/store/etcd_load.cc) speaking the etcd v3 gRPC API to both, in the
# same run, on this machine. Both servers sync every commit to disk before answering (etcd
# always fsyncs its WAL; keelson store syncs each group commit).
#
#   bench/store_bench.sh [seconds-per-workload]      (default 5; ONLY=w1,w2 picks workloads)
#   bench/store_bench.sh startup [keys]               (default 1000000)
#
# The first form prints one line per server and workload, then the keelson/etcd ratios. The
# second loads `keys` distinct keys, each written twice (2 x keys revisions), into each
# server, restarts it, and prints the time until it answers again and its memory then.
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=throughput
if [ "${1:-}" = startup ]; then MODE=startup; shift; fi
SECS=${1:-5}
BUILD_DIR=${BUILD_DIR:-build}
KEELSON="$BUILD_DIR/keelson"
LOAD="$BUILD_DIR/bench/etcd_load"
[ -x "$KEELSON" ] && [ -x "$LOAD" ] || { echo "build first: scripts/build.sh" >&2; exit 1; }
command -v etcd >/dev/null || { echo "etcd not installed: scripts/install-deps.sh" >&2; exit 1; }

WORK=$(mktemp -d /var/tmp/keelson-bench-XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_ready() {  # endpoint: the port accepts connections, then a health check passes
  local port=${1##*:}
  for _ in $(seq 1 3000); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null &&
       ETCDCTL_API=3 etcdctl --endpoints="$1" --dial-timeout=2s endpoint health >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.01
  done
  echo "server at $1 did not come up" >&2; return 1
}

start_etcd() {
  local cport=$(free_port) pport=$(free_port)
  etcd --name bench --data-dir "$WORK/etcd" \
    --listen-client-urls "http://127.0.0.1:$cport" --advertise-client-urls "http://127.0.0.1:$cport" \
    --listen-peer-urls "http://127.0.0.1:$pport" --initial-advertise-peer-urls "http://127.0.0.1:$pport" \
    --initial-cluster "bench=http://127.0.0.1:$pport" --quota-backend-bytes 8589934592 \
    --log-level error >"$WORK/etcd.log" 2>&1 &
  SERVER_PID=$!; PIDS+=("$SERVER_PID"); ENDPOINT="127.0.0.1:$cport"
  wait_ready "http://$ENDPOINT"
}

start_keelson() {
  local cport=$(free_port)
  "$KEELSON" store --data-dir "$WORK/keelson" --listen-client-urls "http://127.0.0.1:$cport" \
    >"$WORK/keelson.log" 2>&1 &
  SERVER_PID=$!; PIDS+=("$SERVER_PID"); ENDPOINT="127.0.0.1:$cport"
  wait_ready "http://$ENDPOINT"
}

stop_server() { kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; }

rss_mb() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }

if [ "$MODE" = startup ]; then
  KEYS=${1:-1000000}
  CLIENTS=250
  printf '%-8s %10s %12s %14s %12s %10s\n' server keys revisions startup_ms rss_mb db_mb
  for server in etcd keelson; do
    rm -rf "$WORK/etcd" "$WORK/keelson"
    "start_$server"
    # Every client cycles over KEYS/CLIENTS keys of its own: KEYS distinct keys, twice each.
    "$LOAD" --endpoint="$ENDPOINT" --workload=put --clients=$CLIENTS --keys=$((KEYS / CLIENTS)) \
      --value-size=256 --total=$((2 * KEYS)) >/dev/null
    stop_server
    t0=$(date +%s%N)
    "start_$server"
    t1=$(date +%s%N)
    ETCDCTL_API=3 etcdctl --endpoints="http://$ENDPOINT" get /bench/0/0 >/dev/null
    rev=$(ETCDCTL_API=3 etcdctl --endpoints="http://$ENDPOINT" endpoint status -w json | \
      python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Status"]["header"]["revision"])')
    db=$(du -sm "$WORK/$server" | cut -f1)
    printf '%-8s %10s %12s %14s %12s %10s\n' "$server" "$KEYS" "$rev" \
      "$(( (t1 - t0) / 1000000 ))" "$(rss_mb "$SERVER_PID")" "$db"
    stop_server
  done
  exit 0
fi

WORKLOADS=(
  "put_256B_c1    --workload=put --value-size=256 --clients=1"
  "put_256B_c16   --workload=put --value-size=256 --clients=16"
  "put_256B_c256  --workload=put --value-size=256 --clients=256"
  "put_4KiB_c1    --workload=put --value-size=4096 --clients=1"
  "put_4KiB_c16   --workload=put --value-size=4096 --clients=16"
  "put_4KiB_c256  --workload=put --value-size=4096 --clients=256"
  "range_c16      --workload=range --clients=16"
  "range_c256     --workload=range --clients=256"
  "watch_1000     --workload=watch --watchers=1000 --rate=100 --conns=10"
)

# ONLY=name,name,... runs just those workloads (e.g. ONLY=put_256B_c256,range_c256).
if [ -n "${ONLY:-}" ]; then
  KEEP=()
  for w in "${WORKLOADS[@]}"; do [[ ",$ONLY," == *",${w%% *},"* ]] && KEEP+=("$w"); done
  WORKLOADS=("${KEEP[@]}")
fi

declare -A RESULT
for server in etcd keelson; do
  rm -rf "$WORK/etcd" "$WORK/keelson"
  "start_$server"
  for w in "${WORKLOADS[@]}"; do
    name=${w%% *}; args=${w#* }
    line=$("$LOAD" --endpoint="$ENDPOINT" --seconds="$SECS" --server-pid="$SERVER_PID" $args || true)
    RESULT["$server/$name"]="$line"
    printf '%-8s %-14s %s\n' "$server" "$name" "$line"
  done
  stop_server
done

field() { sed -n "s/.*\b$2=\([0-9.]*\).*/\1/p" <<<"$1"; }
echo
printf '%-14s %12s %12s %7s   %9s %9s %9s %9s   %9s %9s   %s\n' workload etcd_ops keelson_ops \
  ratio etcd_p50 keel_p50 etcd_p99 keel_p99 etcd_anon keel_anon 'cpu_us/op etcd+gen keelson+gen'
for w in "${WORKLOADS[@]}"; do
  name=${w%% *}
  e=${RESULT["etcd/$name"]}; k=${RESULT["keelson/$name"]}
  key=ops_per_sec; [[ $name == watch* ]] && key=events_per_sec
  eo=$(field "$e" $key); ko=$(field "$k" $key)
  ratio=$(python3 -c "print(f'{float(\"$ko\" or 0)/max(float(\"$eo\" or 0),1e-9):.2f}')")
  cpu=""
  [[ $name == watch* ]] || cpu="$(field "$e" server_cpu_us)+$(field "$e" gen_cpu_us) $(field "$k" server_cpu_us)+$(field "$k" gen_cpu_us)"
  printf '%-14s %12s %12s %6sx   %7sms %7sms %7sms %7sms   %7sMB %7sMB   %s\n' "$name" "$eo" "$ko" "$ratio" \
    "$(field "$e" p50_ms)" "$(field "$k" p50_ms)" "$(field "$e" p99_ms)" "$(field "$k" p99_ms)" \
    "$(field "$e" anon_mb)" "$(field "$k" anon_mb)" "$cpu"
done
echo
echo "anon: the server's own memory (RssAnon) after the workload; rss_mb in the lines above also"
echo "counts the resident pages of its memory-mapped database file. Watch throughput is set by"
echo "the writer's rate (100 puts/s x 1000 watchers); compare its latencies."
echo "cpu_us/op: CPU microseconds per request of the server + of the load generator; when they"
echo "fill the machine's cores, throughput is bounded by cores / (server + generator)."

