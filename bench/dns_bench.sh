#!/usr/bin/env bash
# Cluster DNS throughput and latency: `keelson dns` against dnsmasq (Debian's dnsmasq-base)
# serving the same names, in the same run, measured by Debian's dnsperf with the same query
# file. `keelson server --disable-agent` holds N ClusterIP Services; keelson dns serves them
# from its informers, dnsmasq from a hosts file with the same names and addresses.
#
# Prints, for each server: queries/s at full load (dnsperf, C clients, 2 threads, T seconds)
# with its average latency, then p50/p99/p99.9 latency at a fixed offered load (Q queries/s,
# taken from dnsperf -v's per-query times), and keelson's share of dnsmasq's throughput.
#
#   bench/dns_bench.sh [services] [seconds] [clients] [fixed-qps]   (default 1000 10 8 20000)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000}
T=${2:-10}
C=${3:-8}
Q=${4:-20000}
BUILD_DIR=${BUILD_DIR:-build}
KEELSON=${KEELSON:-$BUILD_DIR/keelson}
WORKERS=${DNS_UDP_WORKERS:-2}
for p in dnsperf dnsmasq dig python3; do
  command -v "$p" >/dev/null || { echo "dns_bench.sh: needs $p" >&2; exit 2; }
done
WORK=$(mktemp -d /var/tmp/keelson-dnsbench-XXXXXX)
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
PORT=$(free_port)
"$KEELSON" server --data-dir "$WORK/data" --port "$PORT" --disable-agent >"$WORK/server.log" 2>&1 &
SERVER=$!
DNS=""
DNSMASQ=""
trap 'kill $DNS $DNSMASQ $SERVER 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 200); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.05; done

echo "== $N Services"
START=$(date +%s.%N)
python3 - "$PORT" "$N" "$WORK" <<'PY'
import json, sys, urllib.request
from concurrent.futures import ThreadPoolExecutor
port, n, work = sys.argv[1], int(sys.argv[2]), sys.argv[3]
base = f"http://127.0.0.1:{port}/api/v1/namespaces/default/services"
def create(i):
    body = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": f"svc-{i}"},
            "spec": {"ports": [{"name": "http", "port": 80}], "selector": {"app": f"a{i}"}}}
    req = urllib.request.Request(base, json.dumps(body).encode(), {"Content-Type": "application/json"})
    urllib.request.urlopen(req).read()
with ThreadPoolExecutor(8) as pool:
    list(pool.map(create, range(n)))
items = json.load(urllib.request.urlopen(base))["items"]
with open(f"{work}/hosts", "w") as hosts, open(f"{work}/queries", "w") as queries:
    for s in items:
        name = f'{s["metadata"]["name"]}.default.svc.cluster.local'
        hosts.write(f'{s["spec"]["clusterIP"]} {name}\n')
        queries.write(f"{name} A\n")
print(f"{len(items)} Services with cluster IPs")
PY
echo "created in $(python3 -c "print(f'{$(date +%s.%N) - $START:.1f}')") s"

DNS_PORT=$(free_port)
"$KEELSON" dns --kubeconfig "$WORK/data/kubeconfig.yaml" --listen "127.0.0.1:$DNS_PORT" \
  --resolv-conf /dev/null --udp-workers "$WORKERS" >"$WORK/dns.log" 2>&1 &
DNS=$!
DNSMASQ_PORT=$(free_port)
dnsmasq --no-daemon -C /dev/null --pid-file= --port="$DNSMASQ_PORT" --listen-address=127.0.0.1 \
  --bind-interfaces --no-resolv --no-hosts --addn-hosts="$WORK/hosts" --cache-size=10000 \
  --local-ttl=5 >"$WORK/dnsmasq.log" 2>&1 &
DNSMASQ=$!
LAST=$(tail -1 "$WORK/queries" | cut -d' ' -f1)
for port in "$DNS_PORT" "$DNSMASQ_PORT"; do
  for _ in $(seq 1 200); do
    [ -n "$(dig @127.0.0.1 -p "$port" +short +time=1 +tries=1 "$LAST")" ] && break
    sleep 0.1
  done
  echo "127.0.0.1:$port answers $LAST: $(dig @127.0.0.1 -p "$port" +short "$LAST")"
done

run() {  # name port -> "qps avg_ms lost"
  dnsperf -s 127.0.0.1 -p "$2" -d "$WORK/queries" -l "$T" -c "$C" -T 2 -q 500 >"$WORK/$1.perf" 2>&1
  awk '/Queries per second/ {q=$4} /Average Latency/ {l=$4*1000} /Queries lost/ {lost=$3}
       END {printf "%.0f %.3f %s\n", q, l, lost}' "$WORK/$1.perf"
}
latency() {  # name port -> "p50 p99 p999" in ms at Q queries/s
  dnsperf -s 127.0.0.1 -p "$2" -d "$WORK/queries" -l 5 -c "$C" -Q "$Q" -v 2>/dev/null |
    awk '/^> NOERROR/ {print $5 * 1000}' | sort -n |
    awk '{v[NR] = $1} END {printf "%.3f %.3f %.3f\n", v[int(NR*0.5)], v[int(NR*0.99)], v[int(NR*0.999)]}'
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

echo "== dnsperf: $T s, $C clients, 2 threads, 500 outstanding, $N names"
printf "%-10s %12s %12s %8s %10s %10s %10s %10s\n" server "queries/s" "avg ms" lost \
  "p50 ms" "p99 ms" "p99.9 ms" "CPU"
for round in 1 2; do
  for s in keelson dnsmasq; do
    if [ $s = keelson ]; then port=$DNS_PORT; pid=$DNS; else port=$DNSMASQ_PORT; pid=$DNSMASQ; fi
    c0=$(cpu_ticks $pid)
    read -r qps avg lost < <(run "$s-$round" "$port")
    c1=$(cpu_ticks $pid)
    read -r p50 p99 p999 < <(latency "$s" "$port")
    cpu=$(python3 -c "print(f'{($c1 - $c0) / $(getconf CLK_TCK) / $T * 100:.0f}%')")
    printf "%-10s %12s %12s %8s %10s %10s %10s %10s\n" "$s" "$qps" "$avg" "$lost" "$p50" "$p99" \
      "$p999" "$cpu"
    eval "QPS_${s}_$round=$qps"
  done
done
python3 -c "
k = max($QPS_keelson_1, $QPS_keelson_2); d = max($QPS_dnsmasq_1, $QPS_dnsmasq_2)
print(f'keelson / dnsmasq throughput (best of 2 rounds): {k:.0f} / {d:.0f} = {k / d:.2f}')"
echo "(latency columns: dnsperf -v at a fixed $Q queries/s for 5 s; CPU: the server's, during the full-load run)"
echo "keelson dns RSS: $(awk '/VmRSS/ {print int($2/1024)}' /proc/$DNS/status) MB;" \
  "dnsmasq RSS: $(awk '/VmRSS/ {print int($2/1024)}' /proc/$DNSMASQ/status) MB"
