#!/usr/bin/env python3
"""Rule programming of the Service proxy with many Services (issue 12's benchmark).

`keelson server --disable-agent` holds S Services with E endpoints each (selector-less, their
EndpointSlices written by the bench: no pods exist); `keelson proxy` programs the nftables of a
network namespace of the bench's own. Printed:
  - the first sync (the whole table) and its size;
  - one change at a time with S Services present: a new Service with its EndpointSlice, and an
    endpoint removed from an existing Service, each timed from the API write to the rule being
    in the kernel (the proxy's sync counter in /metrics moving, polled every millisecond) and by the proxy's
    own figure (/metrics: rendering + the nft transaction);
  - a forced full resync with S Services;
  - the proxy's RSS and CPU.
Needs root (network namespaces, nftables).
  proxy_bench.py [--services 10000] [--endpoints 5] [--changes 20]
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from keelson_bench import Cluster, cpu_seconds, rss_mib, wait  # noqa: E402

NETNS = f"kpbench{os.getpid() % 100000}"
TABLE = "keelson-proxy"


def sh(cmd, check=True):
    return subprocess.run(cmd, shell=True, check=check, capture_output=True, text=True)


def nft(args, check=False):
    return subprocess.run(["ip", "netns", "exec", NETNS, "nft"] + args, capture_output=True, text=True,
                          check=check)


def service(i):
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": f"svc-{i}", "namespace": "default"},
            "spec": {"ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}]}}


def slice_of(i, endpoints, skip=()):
    eps = []
    for e in range(endpoints):
        if e in skip:
            continue
        n = i * endpoints + e
        eps.append({"addresses": [f"10.{200 + n // 65536}.{(n // 256) % 256}.{n % 256}"],
                    "conditions": {"ready": True}, "nodeName": "bench-node"})
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": f"svc-{i}-1", "namespace": "default",
                         "labels": {"kubernetes.io/service-name": f"svc-{i}",
                                    "endpointslice.kubernetes.io/managed-by": "proxy-bench"}},
            "addressType": "IPv4", "endpoints": eps,
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}


def create_all(api, n, endpoints, threads=8):
    ips = [None] * n
    def work(k):
        for i in range(k, n, threads):
            st, body = api.call("POST", "/api/v1/namespaces/default/services", service(i))
            if st != 201:
                raise RuntimeError(f"service {i}: {st} {body}")
            ips[i] = body["spec"]["clusterIP"]
            st, body = api.call("POST", "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices",
                                slice_of(i, endpoints))
            if st != 201:
                raise RuntimeError(f"slice {i}: {st} {body}")
    ts = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return ips


def metrics(port):
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    out = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, value = line.rsplit(" ", 1)
        out[name] = float(value)
    return out


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--services", type=int, default=10000)
    ap.add_argument("--endpoints", type=int, default=5)
    ap.add_argument("--changes", type=int, default=20)
    ap.add_argument("--build", default=os.environ.get("BUILD_DIR", "build"))
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("proxy_bench: needs root (network namespaces, nftables)")
    sh(f"ip netns add {NETNS}")
    try:
        with Cluster(a.build, "keelson-proxy-bench-") as c:
            c.start_server(["--disable-controller-manager", "--disable-scheduler"])
            t0 = time.monotonic()
            ips = create_all(c.api, a.services, a.endpoints)
            print(f"created {a.services} Services with {a.endpoints} endpoints each "
                  f"({a.services * a.endpoints} endpoints) in {time.monotonic() - t0:.1f} s")
            p = c.start("proxy", ["proxy", "--kubeconfig", c.kubeconfig, "--netns", NETNS,
                                  "--hostname-override", "bench-node", "--cluster-cidr", "10.42.0.0/16",
                                  "--service-cidr", "10.43.0.0/16", "--healthz-bind-address",
                                  "127.0.0.1:0", "--sync-period", "1h"])
            t0 = time.monotonic()
            def port():
                m = re.search(r"health on port (\d+)", open(os.path.join(c.work, "proxy.out")).read())
                return int(m.group(1)) if m else 0
            wait(lambda: port() > 0, 30, "the proxy's health port")
            hport = port()
            wait(lambda: metrics(hport).get('keelson_proxy_syncs_total{kind="full"}', 0) >= 1, 300,
                 "the first sync")
            first_wall = time.monotonic() - t0
            m = metrics(hport)
            table = nft(["list", "table", "ip", TABLE]).stdout
            rules = sum(1 for line in table.splitlines() if line.startswith("\t\t") and
                        not line.strip().startswith(("type ", "elements", "flags", "}")))
            print(f"first sync (whole table, {int(m['keelson_proxy_services'])} Services, "
                  f"{int(m['keelson_proxy_chains'])} chains, ~{rules} rules): proxy "
                  f"{m['keelson_proxy_last_sync_seconds'] * 1000:.0f} ms; start to synced {first_wall:.1f} s")

            # The moment a change is in the kernel: the proxy's sync counter moves once its
            # transaction has been committed (nft has exited); /metrics is polled every ms.
            def syncs():
                return metrics(hport)['keelson_proxy_syncs_total{kind="partial"}']

            def wait_sync(before, since):
                wait(lambda: syncs() > before, 30, "the proxy's sync", interval=0.001)
                return time.monotonic() - since

            # One change at a time: a new Service.
            add_e2e, add_proxy, add_apply, del_e2e, del_proxy, del_apply = [], [], [], [], [], []
            add_prog, del_prog, put_time = [], [], []
            for k in range(a.changes):
                i = a.services + k
                st, body = c.api.call("POST", "/api/v1/namespaces/default/services", service(i))
                ip = body["spec"]["clusterIP"]
                time.sleep(0.3)  # the Service alone (a reject rule) first, then its endpoints
                before = syncs()
                t = time.monotonic()
                st, _ = c.api.call("POST", "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices",
                                   slice_of(i, a.endpoints))
                add_e2e.append(wait_sync(before, t))
                time.sleep(0.2)
                m = metrics(hport)
                add_proxy.append(m["keelson_proxy_last_sync_seconds"])
                add_apply.append(m["keelson_proxy_last_apply_seconds"])
                add_prog.append(m["keelson_proxy_last_programming_seconds"])
            # One endpoint removed from an existing Service.
            for k in range(a.changes):
                i = (k * 7919) % a.services
                st, cur = c.api.call("GET", f"/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/svc-{i}-1")
                body = slice_of(i, a.endpoints, skip=(0,))
                body["metadata"]["resourceVersion"] = cur["metadata"]["resourceVersion"]
                gone = cur["endpoints"][0]["addresses"][0]
                before = syncs()
                t = time.monotonic()
                st, _ = c.api.call("PUT", f"/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/svc-{i}-1", body)
                put_time.append(time.monotonic() - t)
                if st != 200:
                    raise RuntimeError(f"update slice {i}: {st}")
                del_e2e.append(wait_sync(before, t))
                rules = nft(["list", "ruleset"]).stdout if k == 0 else ""
                if k == 0 and f"dnat to {gone}:" in rules:
                    raise RuntimeError(f"{gone} is still in the rules after the sync")
                time.sleep(0.2)
                m = metrics(hport)
                del_proxy.append(m["keelson_proxy_last_sync_seconds"])
                del_apply.append(m["keelson_proxy_last_apply_seconds"])
                del_prog.append(m["keelson_proxy_last_programming_seconds"])

            def line(what, e2e, prox, apply):
                print(f"{what}: API write -> in the kernel p50 {statistics.median(e2e) * 1000:.1f} ms, "
                      f"p90 {pct(e2e, 90) * 1000:.1f} ms; the proxy's sync p50 "
                      f"{statistics.median(prox) * 1000:.1f} ms, p90 {pct(prox, 90) * 1000:.1f} ms, "
                      f"of which nft p50 {statistics.median(apply) * 1000:.1f} ms")
            line(f"add one Service ({a.services} present, {a.changes} times)", add_e2e, add_proxy, add_apply)
            print(f"  of which from the change reaching the proxy to the kernel: p50 "
                  f"{statistics.median(add_prog) * 1000:.1f} ms")
            line(f"remove one endpoint ({a.changes} times)", del_e2e, del_proxy, del_apply)
            print(f"  of which from the change reaching the proxy to the kernel: p50 "
                  f"{statistics.median(del_prog) * 1000:.1f} ms; the API's answer to the PUT p50 "
                  f"{statistics.median(put_time) * 1000:.1f} ms")
            if os.environ.get("PROXY_BENCH_DUMP"):
                with open(os.environ["PROXY_BENCH_DUMP"], "w") as f:
                    f.write(nft(["list", "ruleset"]).stdout)
            # The floor: the same kind of transaction through nft by hand, with the table as it is.
            one = (f"add chain ip {TABLE}-0 bench-probe\nflush chain ip {TABLE}-0 bench-probe\n"
                   f"add rule ip {TABLE}-0 bench-probe meta l4proto tcp dnat to 10.255.0.1:80\n"
                   f"add element ip {TABLE} hairpin-endpoints {{ 10.255.0.1 . 10.255.0.1 }}\n")
            floor = []
            for _ in range(10):
                t = time.monotonic()
                subprocess.run(["ip", "netns", "exec", NETNS, "nft", "-f", "-"], input=one, text=True,
                               check=True)
                floor.append(time.monotonic() - t)
            nft(["delete", "chain", "ip", TABLE + "-0", "bench-probe"])
            nft(["delete", "element", "ip", TABLE, "hairpin-endpoints", "{ 10.255.0.1 . 10.255.0.1 }"])
            print(f"the same kind of transaction by hand (ip netns exec nft -f, {a.services} Services "
                  f"present): p50 {statistics.median(floor) * 1000:.1f} ms")

            # A full resync with everything present: the table deleted behind the proxy's back
            # is found (every 5 s) and rebuilt.
            before = metrics(hport)['keelson_proxy_syncs_total{kind="full"}']
            nft(["delete", "table", "ip", TABLE], check=True)
            wait(lambda: metrics(hport)['keelson_proxy_syncs_total{kind="full"}'] > before, 60,
                 "the rebuild")
            print(f"full resync after the table was deleted: proxy "
                  f"{metrics(hport)['keelson_proxy_last_sync_seconds'] * 1000:.0f} ms")
            cpu0, w0 = cpu_seconds(p.pid), time.monotonic()
            time.sleep(10)
            cpu = (cpu_seconds(p.pid) - cpu0) / (time.monotonic() - w0) * 100
            print(f"proxy RSS with {a.services + a.changes} Services: {rss_mib(p.pid):.1f} MiB; idle CPU {cpu:.2f}% of a core")
            print("published anchors (upstream kube-proxy, nftables mode): 141 ms to add one Service "
                  "with 10,000 present, 1.3 s at 44,000; 260 MiB RSS at 10,000 Services")
    finally:
        sh(f"ip netns del {NETNS}", check=False)


if __name__ == "__main__":
    main()
