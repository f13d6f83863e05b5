"""What the Python benchmarks share: keelson processes in a work directory of their own, a
keep-alive HTTP client for the API server, waiting, and a process's CPU time and memory."""
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time


def wait(pred, timeout, what, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(interval)
    raise RuntimeError(f"timed out after {timeout}s waiting for {what}")


def cpu_seconds(pid):
    """User + system CPU time of a process so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class Api:
    """The API server over HTTP, one keep-alive connection per thread; retries lost connections."""

    def __init__(self, host, port):
        self.host, self.port = host, port
        self.local = threading.local()

    def _conn(self):
        c = getattr(self.local, "conn", None)
        if c is None:
            c = http.client.HTTPConnection(self.host, self.port, timeout=120)
            self.local.conn = c
        return c

    def call(self, method, path, body=None, ctype="application/json"):
        """(status, decoded JSON body, or the raw bytes when it is not JSON)."""
        for attempt in range(5):
            c = self._conn()
            try:
                headers = {"Accept": "application/json"}
                data = None
                if body is not None:
                    data = json.dumps(body).encode()
                    headers["Content-Type"] = ctype
                c.request(method, path, body=data, headers=headers)
                r = c.getresponse()
                payload = r.read()
                try:
                    return r.status, (json.loads(payload) if payload else None)
                except ValueError:
                    return r.status, payload
            except (http.client.HTTPException, ConnectionError, OSError):
                c.close()
                self.local.conn = None
                time.sleep(0.1 * (attempt + 1))
        raise RuntimeError(f"{method} {path}: no answer")


class Cluster:
    """keelson processes started from `build`, stopped (and the work directory removed, unless
    KEEP_BENCH_DIR is set) on leaving the `with` block."""

    def __init__(self, build, prefix):
        self.keelson = os.path.abspath(os.path.join(build, "keelson"))
        self.work = tempfile.mkdtemp(prefix=prefix, dir="/var/tmp")
        self.kubeconfig = os.path.join(self.work, "kubeconfig.yaml")
        self.procs = {}
        self.api = None

    def start(self, name, args):
        """`keelson ARGS...` with its output in the work directory."""
        p = subprocess.Popen([self.keelson] + args,
                             stdout=open(os.path.join(self.work, name + ".out"), "w"),
                             stderr=open(os.path.join(self.work, name + ".err"), "w"))
        self.procs[name] = p
        return p

    def start_server(self, flags):
        """`keelson server` on a free port; returns once it is ready, with self.api set."""
        p = self.start("server", ["server", "--data-dir", os.path.join(self.work, "data"),
                                  "--port", "0", "--disable-agent",
                                  "--write-kubeconfig", self.kubeconfig] + flags)
        wait(lambda: os.path.exists(self.kubeconfig) and "server:" in open(self.kubeconfig).read(),
             30, "the kubeconfig")
        m = re.search(r"server:\s*http://([\d.]+):(\d+)", open(self.kubeconfig).read())
        self.api = Api(m.group(1), int(m.group(2)))
        wait(lambda: self.api.call("GET", "/readyz")[0] == 200, 30, "readyz")
        return p

    def ready_nodes(self):
        _, l = self.api.call("GET", "/api/v1/nodes")
        return sum(1 for n in l.get("items", []) for c in n.get("status", {}).get("conditions", [])
                   if c["type"] == "Ready" and c["status"] == "True")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for p in reversed(list(self.procs.values())):
            try:
                os.kill(p.pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
            p.send_signal(signal.SIGTERM)
        for p in reversed(list(self.procs.values())):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        if os.environ.get("KEEP_BENCH_DIR"):
            print("logs in", self.work)
        else:
            shutil.rmtree(self.work, ignore_errors=True)
        return False
