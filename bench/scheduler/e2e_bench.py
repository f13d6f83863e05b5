#!/usr/bin/env python3
"""The scheduler through the real API server, in upstream scheduler_perf's shapes: `keelson
server` (API only), `keelson agent --simulate` hollow nodes and a `keelson scheduler` process,
all on this machine. The initial pods are created and scheduled first; then the scheduler is
paused (SIGSTOP), the measured pods are created, and the clock runs from SIGCONT until the
last measured pod is bound (seen through a watch). Prints pods/s against upstream's threshold
for the shape, and the CPU time per scheduled pod of the scheduler and of the API server.

usage: e2e_bench.py [--build build]
                    [--shape basic|spread|affinity|antiaffinity|preemption|unschedulable]
                    [--nodes 5000]
                    [--init N] [--measured N]
"""
import argparse
import http.client
import json
import multiprocessing
import os
import re
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from keelson_bench import Cluster, cpu_seconds, wait  # noqa: E402

# Upstream's thresholds (pods/s) for the 5,000-node cases of performance-config.yaml, and
# the targets of this project.
SHAPES = {
    "basic": {"name": "SchedulingBasic", "init": 1000, "measured": 10000, "upstream": 680,
              "target": 2500},
    "spread": {"name": "TopologySpreading", "init": 5000, "measured": 5000, "upstream": 460,
               "target": 1500},
    "antiaffinity": {"name": "PodAntiAffinity", "init": 1000, "measured": 1000, "upstream": 60,
                     "target": 500},
    "affinity": {"name": "PodAffinity", "init": 1000, "measured": 1000, "upstream": 35,
                 "target": 500},
    # Nodes 3.6 of 4 cpu full of low-priority pods; one high-priority pod needing a whole
    # node per 200 measured pods preempts (upstream creates them at 5/s beside the measured).
    "preemption": {"name": "PreemptionAsync", "init": 20000, "measured": 5000, "upstream": 570,
                   "target": 1000},
    # The initial pods fit no node (9 cpu on 4-cpu nodes) and stay in the queue.
    "unschedulable": {"name": "Unschedulable", "init": 200, "measured": 10000, "upstream": 600,
                      "target": 600},
}


def pod(name, shape, measured):
    spec = {"containers": [{"name": "c", "image": "registry.k8s.io/pause:3.9",
                            "resources": {"requests": {"cpu": "100m", "memory": "500Mi"}}}]}
    labels = {"app": "bench"}
    if shape == "unschedulable" and not measured:
        spec["containers"][0]["resources"]["requests"]["cpu"] = "9"
    if shape == "spread" and measured:
        labels = {"color": "blue"}
        spec["topologySpreadConstraints"] = [{
            "maxSkew": 5, "topologyKey": "topology.kubernetes.io/zone",
            "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": {"matchLabels": {"color": "blue"}}}]
    if shape == "affinity":
        labels = {"color": "green"}
        spec["affinity"] = {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"topologyKey": "topology.kubernetes.io/zone",
             "labelSelector": {"matchLabels": {"color": "green"}},
             "namespaces": ["init", "measured"]}]}}
    if shape == "preemption" and not measured:
        spec["containers"][0]["resources"]["requests"]["cpu"] = "900m"
        spec["priorityClassName"] = "low"
    if shape == "antiaffinity":
        labels = {"color": "green"}
        spec["affinity"] = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"topologyKey": "kubernetes.io/hostname",
             "labelSelector": {"matchLabels": {"color": "green"}}}]}}
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": labels}, "spec": spec}


def high_pod(name):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"priorityClassName": "high",
                     "containers": [{"name": "c", "image": "registry.k8s.io/pause:3.9",
                                     "resources": {"requests": {"cpu": "3970m",
                                                                "memory": "500Mi"}}}]}}


def create_range(args):
    host, port, ns, prefix, lo, hi, shape, measured = args
    c = http.client.HTTPConnection(host, port, timeout=120)
    bad = 0
    for i in range(lo, hi):
        bodies = [pod(f"{prefix}{i}", shape, measured)]
        if shape == "preemption" and measured and i % 200 == 0:
            bodies.append(high_pod(f"high-{i}"))
        for b in bodies:
            c.request("POST", f"/api/v1/namespaces/{ns}/pods", body=json.dumps(b).encode(),
                      headers={"Content-Type": "application/json", "Accept": "application/json"})
            r = c.getresponse()
            r.read()
            bad += r.status != 201
    return bad


def create_pods(host, port, ns, prefix, n, shape, measured, workers=6):
    chunks = [(host, port, ns, prefix, i * n // workers, (i + 1) * n // workers, shape, measured)
              for i in range(workers)]
    with multiprocessing.Pool(workers) as p:
        bad = sum(p.map(create_range, chunks))
    if bad:
        raise RuntimeError(f"{bad} pod creations failed")


class BoundWatch:
    """Counts the pods of a namespace that have a node, from a watch started at `rv`."""

    def __init__(self, host, port, ns, rv, prefix=b""):
        self.prefix = prefix
        self.bound = set()
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.c = http.client.HTTPConnection(host, port, timeout=3600)
        self.c.request("GET", f"/api/v1/namespaces/{ns}/pods?watch=1&resourceVersion={rv}",
                       headers={"Accept": "application/json"})
        self.r = self.c.getresponse()
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    NAME = re.compile(rb'"metadata":\{"name":"([^"]+)"')

    def run(self):
        while not self.done.is_set():
            line = self.r.readline()
            if not line:
                return
            if b'"nodeName":"' in line:
                m = self.NAME.search(line)
                if m and m.group(1).startswith(self.prefix):
                    with self.lock:
                        self.bound.add(m.group(1))

    def count(self):
        with self.lock:
            return len(self.bound)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--shape", default="basic", choices=sorted(SHAPES))
    ap.add_argument("--nodes", type=int, default=5000)
    ap.add_argument("--init", type=int)
    ap.add_argument("--measured", type=int)
    ap.add_argument("--scheduler-config", help="a KubeSchedulerConfiguration file for the scheduler")
    ap.add_argument("--renew-interval", default="10s",
                    help="the hollow nodes' lease renewals (scheduler_perf has none)")
    args = ap.parse_args()
    shape = SHAPES[args.shape]
    n_init = shape["init"] if args.init is None else args.init
    n_meas = shape["measured"] if args.measured is None else args.measured
    with Cluster(args.build, "keelson-sched-e2e-") as cluster:
        server = cluster.start_server(["--disable-scheduler", "--disable-controller-manager"])
        api, kc = cluster.api, cluster.kubeconfig
        host, port = api.host, api.port
        # upstream's node template: 4 CPUs, 32 GiB, 110 pods; three zones for the spread shape.
        # As in scheduler_perf, no kubelet runs the pods while they are measured: the hollow
        # nodes would report them Running only after an hour (--pod-start-delay).
        zones = 3 if args.shape == "spread" else 1
        for z in range(zones):
            n = args.nodes // zones + (1 if z < args.nodes % zones else 0)
            cluster.start(f"agent{z}", ["agent", "--simulate", str(n), "--kubeconfig", kc,
                                "--node-name-prefix", f"z{z}-node-", "--cpu", "4",
                                "--memory", "32Gi", "--pods", "110", "--pod-start-delay", "1h",
                                "--renew-interval", args.renew_interval,
                                "--node-labels", f"topology.kubernetes.io/zone=zone{z}"])

        wait(lambda: cluster.ready_nodes() == args.nodes, 300, "Ready nodes", 1.0)
        for ns in ("init", "measured"):
            api.call("POST", "/api/v1/namespaces",
                 {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        for name, value in (("low", 1), ("high", 10000)):
            api.call("POST", "/apis/scheduling.k8s.io/v1/priorityclasses",
                 {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                  "metadata": {"name": name}, "value": value})

        sched = cluster.start("scheduler", ["scheduler", "--kubeconfig", kc,
                                            "--leader-elect=false"] +
                      (["--config", args.scheduler_config] if args.scheduler_config else []))
        _, l = api.call("GET", "/api/v1/namespaces/init/pods")
        init_watch = BoundWatch(host, port, "init", l["metadata"]["resourceVersion"])
        create_pods(host, port, "init", "init-", n_init, args.shape, False)
        if args.shape == "unschedulable":
            # Tried and found unschedulable: each has its PodScheduled=False condition.
            def all_tried():
                _, l = api.call("GET", "/api/v1/namespaces/init/pods")
                return all(any(c.get("reason") == "Unschedulable"
                               for c in p.get("status", {}).get("conditions", []))
                           for p in l["items"])
            wait(all_tried, 120, "the initial pods found unschedulable", 0.5)
        else:
            wait(lambda: init_watch.count() == n_init, 600, "the initial pods bound", 0.1)
        init_watch.done.set()
        time.sleep(1)

        os.kill(sched.pid, signal.SIGSTOP)
        _, l = api.call("GET", "/api/v1/namespaces/measured/pods")
        watch = BoundWatch(host, port, "measured", l["metadata"]["resourceVersion"], b"m-")
        t = time.monotonic()
        create_pods(host, port, "measured", "m-", n_meas, args.shape, True)
        created_s = time.monotonic() - t
        time.sleep(0.5)
        c_sched, c_server = cpu_seconds(sched.pid), cpu_seconds(server.pid)
        t = time.monotonic()
        os.kill(sched.pid, signal.SIGCONT)
        wait(lambda: watch.count() >= n_meas, 600, "the measured pods bound", 0.02)
        took = time.monotonic() - t
        d_sched, d_server = cpu_seconds(sched.pid) - c_sched, cpu_seconds(server.pid) - c_server
        rate = n_meas / took
        print(f"{shape['name']}: {args.nodes:,} nodes renewing their leases every "
              f"{args.renew_interval}, {n_init:,} initial + {n_meas:,} measured pods "
              f"(created in {created_s:.1f} s while the scheduler was paused)")
        print(f"  scheduled in {took:.2f} s: {rate:,.0f} pods/s; upstream threshold "
              f"{shape['upstream']} ({rate / shape['upstream']:.1f}x); target {shape['target']} "
              f"({'met' if rate >= shape['target'] else 'MISSED'})")
        print(f"  CPU per scheduled pod: scheduler {d_sched / n_meas * 1e6:,.0f} µs, "
              f"API server {d_server / n_meas * 1e6:,.0f} µs (bindings, events and watches; "
              f"no kubelet writes)")


if __name__ == "__main__":
    sys.exit(main())
