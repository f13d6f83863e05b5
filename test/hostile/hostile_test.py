#!/usr/bin/python3
"""Hostile clients against a real `keelson server` over loopback sockets.

Each case sends what a broken or malicious client might (alias bombs, oversize bodies on
every verb, chunked oversize, garbage request lines, oversize headers, lying Content-Length,
bad chunked encoding, thousands of idle half-open connections, deep selectors, invalid UTF-8,
a flood of watches, more requests than the in-flight limits allow) and checks the answer.
After each case the server must answer a normal GET at once and its RSS must be back within
bounds. One line per case; the last line is "N passed, M failed".

Usage: hostile_test.py PATH/TO/keelson
Standard library only.
"""

import http.client
import json
import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

MIB = 1 << 20
BODY_LIMIT = 3 * MIB
RSS_BOUND_MB = 150  # after every case
ALIAS_BOMB_RSS_MB = 100


class Server:
    """A `keelson server` on a free port in a scratch data directory."""

    def __init__(self, binary, *flags):
        self.dir = tempfile.mkdtemp(prefix="keelson-hostile-")
        self.proc = subprocess.Popen(
            [binary, "server", "--data-dir", self.dir, "--port", "0", "--disable-agent", *flags],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.port = None
        deadline = time.time() + 30
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            m = re.search(r"serving the Kubernetes API on http://127\.0\.0\.1:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                break
        if self.port is None:
            self.stop()
            raise RuntimeError("keelson server did not start")
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        for _ in self.proc.stdout:
            pass

    def rss_mb(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return -1

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def connect(port, timeout=10):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def read_response(sock, timeout=10):
    """Reads one HTTP response (Content-Length or close-delimited); returns (status, headers,
    body) or (None, {}, b"") when the connection closed without an answer."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, socket.timeout):
            chunk = b""
        if not chunk:
            return None, {}, b""
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    length = int(headers.get("content-length", "-1"))
    while length >= 0 and len(rest) < length:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, socket.timeout):
            break
        if not chunk:
            break
        rest += chunk
    return status, headers, rest[:length] if length >= 0 else rest


def raw(port, data, timeout=10):
    """Sends raw bytes on a new connection and reads one response."""
    s = connect(port, timeout)
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        return read_response(s, timeout)
    finally:
        s.close()


def request(port, method, path, body=None, headers=None, timeout=10):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), r.read()
    finally:
        c.close()


def status_reason(body):
    try:
        return json.loads(body).get("reason", "")
    except (ValueError, AttributeError):
        return ""


class Failed(Exception):
    pass


def expect(cond, what):
    if not cond:
        raise Failed(what)


# --- the cases -------------------------------------------------------------------------------

def case_alias_bomb(srv):
    # Nine nested anchors, each a list of nine aliases of the one before: 9^9 strings.
    lines = ['apiVersion: v1', 'kind: ConfigMap', 'metadata: {name: bomb}',
             'a: &a ["lollollol", "lollollol", "lollollol", "lollollol", "lollollol", "lollollol", "lollollol", "lollollol", "lollollol"]']
    prev = "a"
    for name in "bcdefghi":
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
        prev = name
    lines.append("data: {x: *i}")
    body = ("\n".join(lines) + "\n").encode()
    start = time.monotonic()
    status, _, resp = request(srv.port, "POST", "/api/v1/namespaces/default/configmaps", body,
                              {"Content-Type": "application/yaml"})
    took_ms = (time.monotonic() - start) * 1000
    rss = srv.rss_mb()
    expect(400 <= status < 500, f"status {status}: {resp[:200]!r}")
    expect(took_ms < 100, f"took {took_ms:.0f} ms")
    expect(rss < ALIAS_BOMB_RSS_MB, f"RSS {rss:.0f} MB")
    return f"{len(body)}-byte body: {status} in {took_ms:.0f} ms, RSS {rss:.0f} MB"


def case_oversize_every_verb(srv):
    big = b'{"a":"' + b"x" * (BODY_LIMIT + MIB) + b'"}'
    cm = "/api/v1/namespaces/default/configmaps"
    verbs = [
        ("POST", cm, "application/json"),
        ("PUT", cm + "/big", "application/json"),
        ("PATCH", cm + "/big", "application/merge-patch+json"),
        ("PATCH", cm + "/big", "application/json-patch+json"),
        ("PATCH", cm + "/big", "application/strategic-merge-patch+json"),
        ("PATCH", cm + "/big?fieldManager=x", "application/apply-patch+yaml"),
        ("DELETE", cm + "/big", "application/json"),
        ("POST", "/api/v1/namespaces/default/pods/p/eviction", "application/json"),
    ]
    for method, path, ct in verbs:
        head = (f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {ct}\r\n"
                f"Content-Length: {len(big)}\r\n\r\n").encode()
        status, headers, body = raw(srv.port, head + big)
        expect(status == 413, f"{method} {ct}: status {status}")
        expect(status_reason(body) == "RequestEntityTooLarge", f"{method}: body {body[:200]!r}")
        expect(headers.get("connection") == "close", f"{method}: connection not closed")
    # A body just under the limit is read whole (and refused by validation, a ConfigMap
    # holding at most 1 MiB), with Content-Length and chunked.
    near = (b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"near"},"data":{"a":"' +
            b"x" * (BODY_LIMIT - 200) + b'"}}')
    status, _, body = request(srv.port, "POST", cm, near, {"Content-Type": "application/json"})
    expect(status == 422, f"a body just under the limit: {status} {body[:200]!r}")
    head = (f"POST {cm} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n\r\n").encode()
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(near[i:i + 100000]), near[i:i + 100000])
                      for i in range(0, len(near), 100000)) + b"0\r\n\r\n"
    status, _, body = raw(srv.port, head + chunks)
    expect(status == 422, f"a chunked body just under the limit: {status} {body[:200]!r}")
    return (f"{len(verbs)} verbs with {len(big) >> 20} MiB bodies: 413 RequestEntityTooLarge; "
            "just under the limit: read whole")


def case_chunked_oversize(srv):
    head = (b"POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"x" * 65536
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(64)) + b"0\r\n\r\n"
    status, _, resp = raw(srv.port, head + body)
    expect(status == 413, f"status {status}")
    expect(status_reason(resp) == "RequestEntityTooLarge", f"body {resp[:200]!r}")
    return "4 MiB in 64 KiB chunks: 413"


def case_garbage_request_lines(srv):
    garbage = [b"\x00\x01\x02\x03\xff\xfe\r\n\r\n", b"GARBAGE\r\n\r\n", b"GET\r\n\r\n",
               b"GET / HTTP/1.1 extra\r\n\r\n", b"G\x7fT / HTTP/1.1\r\n\r\n",
               b"GET / HTTP/2.0\r\n\r\n", b"GET /\x00 HTTP/1.1\r\n\r\n",
               b"\r\n\r\n\r\n\r\n", b"A" * 60000 + b" / HTTP/1.1\r\n\r\n",
               b"GET / HTTP/1.1\r\nNo colon here\r\n\r\n",
               b"GET / HTTP/1.1\r\n: empty name\r\n\r\n"]
    answers = []
    for g in garbage:
        status, _, _ = raw(srv.port, g)
        expect(status in (400, 404, 431), f"{g[:20]!r}: status {status}")
        answers.append(status)
    return f"{len(garbage)} kinds: " + ",".join(str(a) for a in answers)


def case_oversize_headers(srv):
    status, _, body = raw(srv.port, b"GET /api/v1/namespaces HTTP/1.1\r\nHost: x\r\nX-Big: " +
                          b"a" * (100 * 1024) + b"\r\n\r\n")
    expect(status == 431, f"status {status}")
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(20000))
    status2, _, _ = raw(srv.port, b"GET / HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")
    expect(status2 == 431, f"20,000 headers: status {status2}")
    return "100 KiB header and 20,000 headers: 431"


def case_lying_content_length(srv):
    # Short: the rest of the body is read as the next request, which is garbage.
    body = b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"liar"}}'
    s = connect(srv.port)
    s.sendall(b"POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: x\r\n"
              b"Content-Type: application/json\r\nContent-Length: 10\r\n\r\n" + body)
    first, _, _ = read_response(s)
    second, _, _ = read_response(s)
    s.close()
    expect(first == 400, f"short: first answer {first}")
    expect(second in (400, None), f"short: second answer {second}")
    # Long: the server waits for a body that never comes, holding nothing else up.
    s = connect(srv.port)
    s.sendall(b"POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: x\r\n"
              b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n" + body)
    s.settimeout(1)
    try:
        early = s.recv(100)
    except socket.timeout:
        early = None
    expect(early is None, f"long: answered before the body came: {early!r}")
    status, _, _ = request(srv.port, "GET", "/api/v1/namespaces/default", timeout=2)
    expect(status == 200, f"long: another client got {status}")
    s.close()
    return f"short: {first} then {second}; long: waits, others served"


def case_bad_chunked(srv):
    head = (b"POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
    bad = [b"zz\r\nabc\r\n0\r\n\r\n", b"3\r\nabcdef\r\n0\r\n\r\n",
           b"ffffffffffffffffffff\r\nx\r\n", b"-5\r\nabc\r\n",
           b"3;" + b"e" * 70000 + b"\r\nabc\r\n0\r\n\r\n",
           b"3" + b"0" * (4 * MIB)]  # a chunk-size line that never ends
    answers = []
    for b in bad:
        status, _, _ = raw(srv.port, head + b)
        expect(status in (400, 413, 431), f"{b[:20]!r}: status {status}")
        answers.append(status)
    # Bare LFs never end a chunk line: the server waits for the rest (until its timeout)
    # without answering or holding anything else up.
    status, _, _ = raw(srv.port, head + b"3\nabc\n0\n\n", timeout=1)
    expect(status in (None, 400), f"bare LF: status {status}")
    cl_and_te = (b"POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: x\r\n"
                 b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
    status, _, _ = raw(srv.port, cl_and_te)
    expect(status is not None and status >= 400, f"Content-Length with chunked: {status}")
    return f"{len(bad) + 1} kinds: " + ",".join(str(a) for a in answers + [status])


def case_slowloris(srv):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 6000)
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    n = min(3000, want - 200)
    socks = []
    try:
        for i in range(n):
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
            s.sendall(b"GET /api/v1/namespaces HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * (i % 50))
            socks.append(s)
        start = time.monotonic()
        status, _, _ = request(srv.port, "GET", "/api/v1/namespaces/default", timeout=5)
        took_ms = (time.monotonic() - start) * 1000
        expect(status == 200, f"GET with {n} idle connections: {status}")
        expect(took_ms < 1000, f"GET with {n} idle connections took {took_ms:.0f} ms")
        rss = srv.rss_mb()
    finally:
        for s in socks:
            s.close()
    return f"{n} half-open connections: a GET took {took_ms:.0f} ms, RSS {rss:.0f} MB"


def case_deep_selectors(srv):
    cases = [
        ("labelSelector", ",".join(f"k{i}=v" for i in range(4000))),
        ("labelSelector", "a in (" + ",".join(f"v{i}" for i in range(6000)) + ")"),
        ("labelSelector", "(" * 20000),
        ("labelSelector", "a in " + "(" * 20000),
        ("labelSelector", "!" * 30000),
        ("fieldSelector", ",".join(f"metadata.name=n{i}" for i in range(3000))),
        ("fieldSelector", "metadata.name=" + "\\\\" * 15000),
        ("fieldSelector", "=" * 30000),
    ]
    answers = []
    for key, sel in cases:
        q = urllib_quote(sel)
        start = time.monotonic()
        status, _, _ = request(srv.port, "GET",
                               f"/api/v1/namespaces/default/configmaps?{key}={q}", timeout=10)
        took = time.monotonic() - start
        expect(status in (200, 400, 431), f"{key} {sel[:30]!r}: status {status}")
        expect(took < 2, f"{key} {sel[:30]!r}: took {took:.1f} s")
        answers.append(status)
    return f"{len(cases)} selectors: " + ",".join(str(a) for a in answers)


def urllib_quote(s):
    import urllib.parse
    return urllib.parse.quote(s, safe="")


def case_invalid_utf8(srv):
    cm = "/api/v1/namespaces/default/configmaps"
    bodies = [
        b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"u1"},"data":{"a":"\xff\xfe"}}',
        b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"\xc3\x28"}}',
        b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"u2","labels":{"\xed\xa0\x80":"x"}}}',
    ]
    answers = []
    for b in bodies:
        status, _, _ = request(srv.port, "POST", cm, b, {"Content-Type": "application/json"})
        expect(400 <= status < 500, f"{b[60:90]!r}: status {status}")
        answers.append(status)
    yaml = b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: u3}\ndata: {a: \"\xff\"}\n"
    status, _, _ = request(srv.port, "POST", cm, yaml, {"Content-Type": "application/yaml"})
    expect(400 <= status < 500, f"YAML: status {status}")
    answers.append(status)
    for name in ("%FF%FE", "%C3%28", "a%00b", "%ED%A0%80"):
        status, _, _ = request(srv.port, "GET", f"{cm}/{name}")
        expect(status in (400, 404), f"name {name}: status {status}")
        answers.append(status)
    status, _, body = request(srv.port, "GET", cm)
    expect(status == 200 and b"u1" not in body and b"u2" not in body and b"u3" not in body,
           "something was stored")
    request(srv.port, "DELETE", f"{cm}/u3")
    return "bodies and names: " + ",".join(str(a) for a in answers) + "; nothing stored"


def case_watch_flood(srv):
    n = 500
    socks = []
    try:
        for i in range(n):
            s = connect(srv.port)
            s.sendall(b"GET /api/v1/namespaces/default/configmaps?watch=1&resourceVersion=0"
                      b" HTTP/1.1\r\nHost: x\r\n\r\n")
            socks.append(s)
        # Every watch starts (its response header arrives).
        started = 0
        for s in socks:
            s.settimeout(10)
            if s.recv(64).startswith(b"HTTP/1.1 200"):
                started += 1
        expect(started == n, f"{started} of {n} watches started")
        status, _, _ = request(srv.port, "POST", "/api/v1/namespaces/default/configmaps",
                               b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"w"}}',
                               {"Content-Type": "application/json"})
        expect(status == 201, f"a create with {n} watches open: {status}")
        rss = srv.rss_mb()
    finally:
        for s in socks:
            s.close()
    request(srv.port, "DELETE", "/api/v1/namespaces/default/configmaps/w")
    return f"{n} watches from one client, all started; a create was served; RSS {rss:.0f} MB"


def case_inflight_limit(binary):
    small = Server(binary, "--max-requests-inflight", "1", "--max-mutating-requests-inflight", "1")
    try:
        # Watches are long-running: they do not count against the limit.
        watches = []
        for _ in range(5):
            s = connect(small.port)
            s.sendall(b"GET /api/v1/namespaces?watch=true HTTP/1.1\r\nHost: x\r\n\r\n")
            watches.append(s)
        for s in watches:
            expect(s.recv(64).startswith(b"HTTP/1.1 200"), "a watch did not start")
        status, _, _ = request(small.port, "GET", "/api/v1/namespaces/default")
        expect(status == 200, f"GET with 5 watches open and a limit of 1: {status}")
        # Many writers at once against a limit of one.
        results = []
        lock = threading.Lock()

        def writer(i):
            body = json.dumps({"apiVersion": "v1", "kind": "ConfigMap",
                               "metadata": {"name": f"c{i}"}, "data": {"a": "b" * 1000}})
            try:
                r = request(small.port, "POST", "/api/v1/namespaces/default/configmaps",
                            body.encode(), {"Content-Type": "application/json"})
            except OSError as e:
                r = (None, {}, str(e).encode())
            with lock:
                results.append(r)

        threads = [threading.Thread(target=writer, args=(i,)) for i in range(64)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        refused = [r for r in results if r[0] == 429]
        created = [r for r in results if r[0] == 201]
        expect(len(refused) + len(created) == len(results),
               "other answers: " + ",".join(str(r[0]) for r in results))
        expect(refused, "no request was refused")
        expect(created, "no request was served")
        st, headers, body = refused[0]
        expect(headers.get("retry-after") == "1", f"Retry-After {headers.get('retry-after')}")
        doc = json.loads(body)
        expect(doc.get("reason") == "TooManyRequests" and doc.get("code") == 429 and
               doc.get("message") == "Too many requests, please try again later.",
               f"body {body[:200]!r}")
        for s in watches:
            s.close()
        return (f"limit 1: {len(created)} served, {len(refused)} got 429 with Retry-After: 1; "
                "5 watches not counted")
    finally:
        small.stop()


# --- the run ---------------------------------------------------------------------------------

def healthy(srv):
    """The server answers a normal GET at once and its RSS is within bounds."""
    if not srv.alive():
        return "the server died"
    start = time.monotonic()
    try:
        status, _, _ = request(srv.port, "GET", "/api/v1/namespaces/default", timeout=5)
    except OSError as e:
        return f"a normal GET failed: {e}"
    took_ms = (time.monotonic() - start) * 1000
    if status != 200:
        return f"a normal GET got {status}"
    if took_ms > 500:
        return f"a normal GET took {took_ms:.0f} ms"
    rss = 0
    for _ in range(20):  # memory freed by closed connections may take a moment to go back
        rss = srv.rss_mb()
        if rss < RSS_BOUND_MB:
            break
        time.sleep(0.1)
    if rss >= RSS_BOUND_MB:
        return f"RSS {rss:.0f} MB after the case"
    return None


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    binary = sys.argv[1]
    srv = Server(binary)
    passed = failed = 0
    cases = [case_alias_bomb, case_oversize_every_verb, case_chunked_oversize,
             case_garbage_request_lines, case_oversize_headers, case_lying_content_length,
             case_bad_chunked, case_slowloris, case_deep_selectors, case_invalid_utf8,
             case_watch_flood]
    try:
        for case in cases + [case_inflight_limit]:
            name = case.__name__[len("case_"):]
            try:
                detail = case(binary) if case is case_inflight_limit else case(srv)
                problem = healthy(srv)
                if problem:
                    raise Failed("after the case: " + problem)
                print(f"PASS {name}: {detail}; then a GET at once, RSS {srv.rss_mb():.0f} MB",
                      flush=True)
                passed += 1
            except (Failed, OSError, ValueError) as e:
                print(f"FAIL {name}: {e}", flush=True)
                failed += 1
                if not srv.alive():
                    print("the server died; stopping", flush=True)
                    break
    finally:
        srv.stop()
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
