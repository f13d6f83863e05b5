#!/usr/bin/env bash
# Runs bench/apiserver_bench.sh for two builds of keelson side by side on this machine, each
# ROUNDS times alternating (A B A B ...), and prints each figure and the ratio B/A of their
# medians: pod creates/s, the server's CPU per create (µs), LIST of every pod (s), RSS holding
# them (MB), and watch delivery p99 (ms).
#
#   bench/apiserver_compare.sh A_DIR B_DIR [create-seconds] [rounds]
#
# A_DIR and B_DIR each hold `keelson` and `watch_latency` (a build directory's keelson and
# bench/watch_latency copied there, or the build dir itself for B with BUILD_LAYOUT=1).
set -euo pipefail
cd "$(dirname "$0")/.."
A=$1
B=$2
SECS=${3:-7}
ROUNDS=${4:-2}
bin() { if [ -x "$1/keelson" ]; then echo "$1/keelson"; else echo "$1/build/keelson"; fi; }
lat() { if [ -x "$1/watch_latency" ]; then echo "$1/watch_latency"; else echo "$1/bench/watch_latency"; fi; }
OUT=$(mktemp -d /var/tmp/keelson-compare-XXXXXX)
trap 'rm -rf "$OUT"' EXIT
for round in $(seq 1 "$ROUNDS"); do
  for side in A B; do
    dir=$([ "$side" = A ] && echo "$A" || echo "$B")
    echo "== round $round, $side ($dir)" >&2
    KEELSON=$(bin "$dir") WATCH_LATENCY=$(lat "$dir") bench/apiserver_bench.sh "$SECS" \
      >"$OUT/$side.$round" 2>&1 || true
  done
done
python3 - "$OUT" "$ROUNDS" <<'PY'
import re, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
def figures(text):
    f = {}
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if m: f["creates/s"] = float(m.group(1))
    lists = [float(x) for x in re.findall(r"list \d: ([\d.]+)s", text)]
    if lists: f["LIST s (best)"] = min(lists)
    m = re.search(r"VmRSS:? ([\d.]+) MB", text)
    if m: f["RSS MB"] = float(m.group(1))
    m = re.search(r"p99_ms=([\d.]+)", text)
    if m: f["watch p99 ms"] = float(m.group(1))
    m = re.search(r"server CPU per create: ([\d.]+) us", text)
    if m: f["CPU us/create"] = float(m.group(1))
    m = re.search(r"pods listed: (\d+)", text)
    if m: f["pods"] = float(m.group(1))
    return f
runs = {s: [figures(open(f"{out}/{s}.{r}").read()) for r in range(1, rounds + 1)] for s in "AB"}
keys = ["creates/s", "CPU us/create", "LIST s (best)", "RSS MB", "watch p99 ms", "pods"]
print(f"{'figure':<16}{'A (each run)':<28}{'B (each run)':<28}{'B/A (medians)':>14}")
for k in keys:
    a = [r[k] for r in runs["A"] if k in r]
    b = [r[k] for r in runs["B"] if k in r]
    if not a or not b:
        continue
    ratio = statistics.median(b) / statistics.median(a) if statistics.median(a) else float("nan")
    fa = " ".join(f"{x:g}" for x in a)
    fb = " ".join(f"{x:g}" for x in b)
    print(f"{k:<16}{fa:<28}{fb:<28}{ratio:>14.2f}")
PY
