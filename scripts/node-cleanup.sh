#!/usr/bin/env bash
# Stops everything a keelson node left running under its data directory: its containerd, every
# container and pod sandbox (through runc, whose state is under the data directory), their
# shims, the mounts (rootfs, network namespaces, volumes) and, with --bridge NAME, the pod
# bridge and the Service proxy's tables (nftables `ip keelson-proxy` and its shards, which a
# proxy stopped with SIGTERM removes itself). The node's data stays; remove it afterwards if wanted.
#
#   scripts/node-cleanup.sh /var/lib/keelson/agent            # `keelson agent`/`kubelet`
#   scripts/node-cleanup.sh /var/lib/keelson/agent --bridge keelson0
#   scripts/node-cleanup.sh data/agent                          # README's `keelson server`
#
# A stopped node keeps its containers running on purpose (a restarted kubelet adopts them);
# this is for taking a node down for good, and for tests.
set -uo pipefail
if [ $# -lt 1 ]; then
  echo "usage: $0 NODE-DATA-DIR [--bridge NAME]" >&2
  exit 2
fi
dir=$(realpath -m "$1")
bridge=""
if [ "${2:-}" = "--bridge" ]; then bridge=${3:-}; fi
ctd="$dir/containerd"

# containerd first, so that it restarts nothing.
pkill -f -- "$ctd/config.toml" 2>/dev/null
for _ in $(seq 50); do pgrep -f -- "$ctd/config.toml" >/dev/null || break; sleep 0.1; done
pkill -9 -f -- "$ctd/config.toml" 2>/dev/null

# Every container of the node, from runc's state under the node's data directory.
if [ -d "$ctd/runc" ]; then
  for root in "$ctd"/runc/*; do
    [ -d "$root" ] || continue
    for id in $(runc --root "$root" list -q 2>/dev/null); do
      runc --root "$root" kill --all "$id" KILL 2>/dev/null
    done
    for id in $(runc --root "$root" list -q 2>/dev/null); do
      runc --root "$root" delete -f "$id" 2>/dev/null
    done
  done
fi
pkill -9 -f -- "-address $ctd/containerd.sock" 2>/dev/null

# Mounts under the data directory, deepest first.
awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do
  umount -l "$m" 2>/dev/null
done

if [ -n "$bridge" ]; then
  ip link del "$bridge" 2>/dev/null
  for t in $(nft list tables ip 2>/dev/null | awk '$3 ~ /^keelson-proxy(-[0-9]+)?$/ { print $3 }'); do
    nft delete table ip "$t" 2>/dev/null
  done
fi
exit 0
