#!/usr/bin/env bash
# Installs every Debian 12 package keelson needs to build, test and run. Idempotent: it asks
# apt only for what is missing.
set -euo pipefail

PACKAGES=(
  # build
  g++ cmake ninja-build ccache pkg-config git
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libssl-dev liblmdb-dev lmdb-utils zlib1g-dev libzstd-dev libyaml-cpp-dev
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  etcd-server etcd-client procps wrk curl python3
  # the client library tests (test/clients): the official Python client for Debian's python3
  python3-kubernetes
  # the coverage-guided fuzzers (fuzz/, docs/fuzzing.md): clang's libFuzzer and sanitizers
  clang-14 libclang-rt-14-dev
  # nodes (the kubelet): the container runtime, the CNI plugins, the packet filter, and the
  # static busybox the test image is built from (images/)
  containerd runc containernetworking-plugins nftables conntrack iproute2 busybox-static
  # the kubelet's image pull test: a registry on loopback with htpasswd (bcrypt) credentials
  docker-registry apache2-utils
  # Services and cluster DNS (the proxy and DNS tests and benchmarks): a real resolver client,
  # the DNS load generator, and the peer server the DNS benchmark measures against
  bind9-dnsutils dnsperf dnsmasq-base
)

# The JavaScript client test (test/clients/js) runs @kubernetes/client-node on Node.js with
# the modules `npm ci` installs: Debian's nodejs and npm where the machine has none (a newer
# Node.js installed otherwise is kept).
if ! command -v node >/dev/null 2>&1; then
  PACKAGES+=(nodejs)
fi
if ! command -v npm >/dev/null 2>&1; then
  PACKAGES+=(npm)
fi

# The API server tests drive real kubectl: the machine's kubectl package (with its versioned
# kubectl.1.27 ... kubectl.1.33) where it is installed, else Debian's kubernetes-client.
if ! command -v kubectl >/dev/null 2>&1; then
  PACKAGES+=(kubernetes-client)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"

# Debian's docker-registry package starts a registry service on port 5000 where systemd runs;
# keelson's tests start their own on loopback, so the service installed just now is turned off.
if [[ " ${missing[*]} " == *" docker-registry "* ]] && [ -d /run/systemd/system ]; then
  $SUDO systemctl disable --now docker-registry.service >/dev/null 2>&1 || true
fi
