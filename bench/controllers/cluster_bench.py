#!/usr/bin/env python3
"""The control plane end to end on hollow nodes: `keelson server` (API server and scheduler),
`keelson controller-manager` as a process of its own (so its CPU and memory can be read) and
`keelson agent --simulate NODES`, all on this machine. Prints, against the targets:

  1. a Deployment of REPLICAS from create to fully available (pods/s);
  2. a rolling update of it to a new image, maxSurge 25%, until complete;
  3. a foreground cascade delete of it, until the Deployment is gone;
  4. the deletion of a namespace holding 10,000 ConfigMaps, until the namespace is gone;
  5. the controller manager's CPU and RSS at steady state with STEADY pods.

usage: cluster_bench.py [--build build] [--nodes 5000] [--replicas 10000] [--steady 100000]
"""
import argparse
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from keelson_bench import Cluster, cpu_seconds, rss_mib, wait  # noqa: E402


def deployment(name, replicas, image):
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "strategy": {"type": "RollingUpdate",
                         "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "template": {"metadata": {"labels": labels},
                         "spec": {"containers": [{"name": "c", "image": image,
                                                  "resources": {"requests": {"cpu": "10m"}}}]}},
        },
    }


def complete(api, name, replicas):
    st, d = api.call("GET", f"/apis/apps/v1/namespaces/default/deployments/{name}")
    if st != 200:
        return False
    s = d.get("status", {})
    return (s.get("observedGeneration", 0) >= d["metadata"]["generation"]
            and s.get("updatedReplicas", 0) == replicas
            and s.get("replicas", 0) == replicas
            and s.get("availableReplicas", 0) == replicas)


def count_pods(api, selector):
    st, l = api.call("GET", f"/api/v1/namespaces/default/pods?labelSelector={selector}&limit=1")
    meta = l.get("metadata", {})
    return len(l.get("items", [])) + int(meta.get("remainingItemCount", 0))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--nodes", type=int, default=5000)
    ap.add_argument("--replicas", type=int, default=10000)
    ap.add_argument("--steady", type=int, default=100000)
    ap.add_argument("--namespace-objects", type=int, default=10000)
    args = ap.parse_args()
    results = []
    with Cluster(args.build, "keelson-cluster-bench-") as cluster:
        cluster.start_server(["--disable-controller-manager"])
        api = cluster.api
        kc = cluster.kubeconfig
        cm = cluster.start("controller-manager", ["controller-manager", "--kubeconfig", kc])
        cluster.start("agent", ["agent", "--simulate", str(args.nodes), "--kubeconfig", kc,
                                "--pods", "110", "--cpu", "32", "--memory", "128Gi"])
        named = cluster.procs

        def cpu_snapshot():
            return {n: cpu_seconds(p.pid) for n, p in named.items()}

        def cpu_note(before, wall):
            after = cpu_snapshot()
            parts = [f"{n} {after[n] - before[n]:.1f}" for n in named]
            total = sum(after[n] - before[n] for n in named)
            return f"CPU s: {', '.join(parts)} ({total / wall * 100:.0f}% of one core)"

        t = time.monotonic()
        wait(lambda: cluster.ready_nodes() == args.nodes, 300, f"{args.nodes} Ready nodes", 1.0)
        print(f"{args.nodes} hollow nodes Ready in {time.monotonic() - t:.1f} s", flush=True)
        time.sleep(2)

        # 1. Create to fully available.
        r = args.replicas
        c = cpu_snapshot()
        t = time.monotonic()
        st, _ = api.call("POST", "/apis/apps/v1/namespaces/default/deployments",
                         deployment("bench", r, "registry.k8s.io/pause:3.9"))
        assert st == 201, st
        wait(lambda: complete(api, "bench", r), 600, "the Deployment available")
        create_s = time.monotonic() - t
        note = cpu_note(c, create_s)
        results.append((f"Deployment of {r:,} replicas, create to available",
                        create_s, 10.0, f"{r / create_s:,.0f} pods/s; {note}"))
        print(f"create: {create_s:.2f} s ({r / create_s:,.0f} pods/s) {note}", flush=True)

        # 2. Rolling update to a new image.
        time.sleep(2)
        c = cpu_snapshot()
        t = time.monotonic()
        st, _ = api.call("PATCH", "/apis/apps/v1/namespaces/default/deployments/bench",
                         {"spec": {"template": {"spec": {"containers": [
                             {"name": "c", "image": "registry.k8s.io/pause:3.10"}]}}}},
                         "application/strategic-merge-patch+json")
        assert st == 200, st
        wait(lambda: complete(api, "bench", r), 600, "the rollout")
        roll_s = time.monotonic() - t
        note = cpu_note(c, roll_s)
        results.append(("rolling update, maxSurge 25%", roll_s, 20.0, note))
        print(f"rolling update: {roll_s:.2f} s {note}", flush=True)

        # 3. Foreground cascade.
        time.sleep(2)
        c = cpu_snapshot()
        t = time.monotonic()
        st, _ = api.call("DELETE", "/apis/apps/v1/namespaces/default/deployments/bench",
                         {"kind": "DeleteOptions", "apiVersion": "v1",
                          "propagationPolicy": "Foreground"})
        assert st in (200, 202), st
        wait(lambda: api.call("GET", "/apis/apps/v1/namespaces/default/deployments/bench")[0]
             == 404, 600, "the Deployment gone")
        fg_s = time.monotonic() - t
        left = count_pods(api, "app%3Dbench")
        note = cpu_note(c, fg_s)
        results.append((f"foreground cascade of the Deployment ({r:,} pods)", fg_s, 5.0,
                        f"{left} pods left; {note}"))
        print(f"foreground cascade: {fg_s:.2f} s, {left} pods left {note}", flush=True)

        # 4. A namespace of 10,000 objects.
        n = args.namespace_objects
        api.call("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                "metadata": {"name": "full"}})
        errors = []

        def create_some(lo, hi):
            for i in range(lo, hi):
                st, _ = api.call("POST", "/api/v1/namespaces/full/configmaps",
                                 {"apiVersion": "v1", "kind": "ConfigMap",
                                  "metadata": {"name": f"cm-{i}"}, "data": {"k": "v" * 64}})
                if st != 201:
                    errors.append(st)
        threads = [threading.Thread(target=create_some, args=(i * n // 16, (i + 1) * n // 16))
                   for i in range(16)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert not errors, errors[:5]
        time.sleep(2)
        c = cpu_snapshot()
        t = time.monotonic()
        st, _ = api.call("DELETE", "/api/v1/namespaces/full")
        assert st in (200, 202), st
        wait(lambda: api.call("GET", "/api/v1/namespaces/full")[0] == 404, 600,
             "the namespace gone")
        ns_s = time.monotonic() - t
        note = cpu_note(c, ns_s)
        results.append((f"namespace of {n:,} ConfigMaps deleted", ns_s, 5.0, note))
        print(f"namespace deletion: {ns_s:.2f} s {note}", flush=True)

        # 5. Steady state with many pods.
        s = args.steady
        t = time.monotonic()
        api.call("POST", "/apis/apps/v1/namespaces/default/deployments",
                 deployment("steady", s, "registry.k8s.io/pause:3.9"))
        wait(lambda: complete(api, "steady", s), 1800, f"{s} pods available", 0.5)
        steady_create = time.monotonic() - t
        print(f"{s:,} pods available in {steady_create:.1f} s ({s / steady_create:,.0f} pods/s)",
              flush=True)
        time.sleep(10)
        c0, w0 = cpu_seconds(cm.pid), time.monotonic()
        time.sleep(30)
        cpu = (cpu_seconds(cm.pid) - c0) / (time.monotonic() - w0)
        rss = rss_mib(cm.pid)
        server_rss = rss_mib(named["server"].pid)
        results.append((f"controller manager at steady state, {s:,} pods", None, None,
                        f"CPU {cpu * 100:.1f}% of a core, RSS {rss:,.0f} MiB "
                        f"(API server RSS {server_rss:,.0f} MiB)"))

        print()
        print(f"{'measure':<58} {'time':>9} {'target':>8}  note")
        for what, secs, target, note in results:
            tm = f"{secs:.2f} s" if secs is not None else ""
            tg = f"≤ {target:.0f} s" if target is not None else ""
            ok = "" if secs is None else ("  met" if secs <= target else "  MISSED")
            print(f"{what:<58} {tm:>9} {tg:>8}{ok}  {note}")


if __name__ == "__main__":
    sys.exit(main())
