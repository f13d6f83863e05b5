#!/usr/bin/env python3
"""Name resolution in the busybox image, as a pod uses it.

The image's layer is unpacked into a directory and its applets run there with chroot, in a
network namespace of the test's own (so port 53 is free and nothing leaks to the host), with
the files a pod gets from the kubelet: an /etc/resolv.conf that names the cluster DNS server
(10.43.0.10, with the cluster search list and ndots:5) and an /etc/hosts with an entry of its
own. dnsmasq, started by the test on 10.43.0.10, answers for web.default.svc.cluster.local;
two busybox httpds serve different pages on the address that name has (10.42.0.7) and on the
one that /etc/hosts gives `hostsonly` (10.42.0.8), so a page proves which address was reached.

nslookup (busybox's own DNS client), wget, nc and ping (glibc's getaddrinfo, through
/etc/nsswitch.conf) must resolve and connect; a name that neither knows must fail in each,
which shows that every check can fail.

Needs root (a network namespace, chroot), ip (iproute2) and dnsmasq (dnsmasq-base); exits 77
(skipped) without them.

Usage: busybox_dns_test.py BUSYBOX_ARCHIVE   (build/images/busybox.tar)
"""

import ctypes
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import unittest

ARCHIVE = None
SKIP = 77
CLONE_NEWNET = 0x40000000

DNS_SERVER = "10.43.0.10"  # the cluster DNS Service address a pod's resolv.conf names
WEB_NAME = "web.default.svc.cluster.local"
WEB_IP = "10.42.0.7"  # only in DNS
HOSTS_NAME = "hostsonly"
HOSTS_IP = "10.42.0.8"  # only in /etc/hosts
UNKNOWN_NAME = "nosuch.default.svc.cluster.local"  # in neither
PORT = 8080
IMAGE_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
# What the kubelet writes for a ClusterFirst pod in the default namespace.
RESOLV_CONF = ("search default.svc.cluster.local svc.cluster.local cluster.local\n"
               "nameserver %s\noptions ndots:5\n" % DNS_SERVER)


def unpack_image(archive, root):
    """Unpacks the single layer of the OCI archive `archive` into `root`."""
    with tarfile.open(archive) as tar:
        def read(name):
            return tar.extractfile(name).read()
        index = json.loads(read("index.json"))
        digest = index["manifests"][0]["digest"].split(":", 1)[1]
        manifest = json.loads(read("blobs/sha256/" + digest))
        (layer,) = manifest["layers"]
        with tarfile.open(fileobj=tar.extractfile(
                "blobs/sha256/" + layer["digest"].split(":", 1)[1])) as layer_tar:
            # Our own archive; its symlinks are absolute (/bin/sh -> /bin/busybox).
            kwargs = {"filter": "fully_trusted"} if hasattr(tarfile, "fully_trusted_filter") \
                else {}
            layer_tar.extractall(root, **kwargs)


def dns_query(server, name):
    """One A query over UDP; True when `server` answers at all."""
    qname = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    packet = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00" + qname + b"\x00\x01\x00\x01"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.2)
        try:
            s.sendto(packet, (server, 53))
            return s.recv(512)[:2] == b"\x12\x34"
        except OSError:
            return False


def can_connect(addr, port):
    try:
        with socket.create_connection((addr, port), timeout=0.2):
            return True
    except OSError:
        return False


def wait_for(pred, what, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for %s" % what)


class BusyboxNameResolutionTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.procs = []
        try:
            cls.start()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def start(cls):
        tmp = cls.tmp.name
        cls.root = os.path.join(tmp, "rootfs")
        unpack_image(ARCHIVE, cls.root)
        etc = os.path.join(cls.root, "etc")
        # The pod's resolv.conf and hosts (the kubelet mounts its own over the image's files).
        with open(os.path.join(etc, "resolv.conf"), "w") as f:
            f.write(RESOLV_CONF)
        with open(os.path.join(etc, "hosts"), "a") as f:
            f.write("%s\t%s\n" % (HOSTS_IP, HOSTS_NAME))

        for cmd in (["ip", "link", "set", "lo", "up"],
                    ["ip", "addr", "add", DNS_SERVER + "/32", "dev", "lo"],
                    ["ip", "addr", "add", WEB_IP + "/32", "dev", "lo"],
                    ["ip", "addr", "add", HOSTS_IP + "/32", "dev", "lo"]):
            subprocess.run(cmd, check=True, capture_output=True)

        dns_hosts = os.path.join(tmp, "dns-hosts")
        with open(dns_hosts, "w") as f:
            f.write("%s %s\n" % (WEB_IP, WEB_NAME))
        # --local: NXDOMAIN for any other name under cluster.local, as a cluster DNS server
        # says; no upstream servers, so every other name is refused.
        cls.spawn(["dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--port=53",
                   "--listen-address=" + DNS_SERVER, "--bind-interfaces", "--no-resolv",
                   "--no-hosts", "--addn-hosts=" + dns_hosts, "--local=/cluster.local/",
                   "--user=root", "--pid-file=" + os.path.join(tmp, "dnsmasq.pid")])
        busybox = os.path.join(cls.root, "bin", "busybox")
        for ip, page in ((WEB_IP, "page-of-web"), (HOSTS_IP, "page-of-hostsonly")):
            www = os.path.join(tmp, "www-" + ip)
            os.mkdir(www)
            with open(os.path.join(www, "index.html"), "w") as f:
                f.write(page + "\n")
            cls.spawn([busybox, "httpd", "-f", "-p", "%s:%d" % (ip, PORT), "-h", www])
        wait_for(lambda: dns_query(DNS_SERVER, WEB_NAME), "dnsmasq on %s" % DNS_SERVER)
        wait_for(lambda: can_connect(WEB_IP, PORT) and can_connect(HOSTS_IP, PORT), "httpd")

    @classmethod
    def spawn(cls, argv):
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        cls.procs.append(proc)
        time.sleep(0.05)
        if proc.poll() is not None:
            raise AssertionError("%s exited: %s" % (argv[0], proc.stderr.read().decode()))

    @classmethod
    def tearDownClass(cls):
        for proc in cls.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            proc.stderr.close()
        cls.tmp.cleanup()

    def image(self, *argv, stdin=""):
        """Runs an applet of the image by its name, chrooted into the image, as a pod would."""
        try:
            return subprocess.run(["chroot", self.root] + list(argv), input=stdin,
                                  capture_output=True, text=True, timeout=30,
                                  env={"PATH": IMAGE_PATH})
        except subprocess.TimeoutExpired:
            self.fail("%s timed out" % " ".join(argv))

    def assert_ok(self, result, want):
        self.assertEqual(result.returncode, 0, "%s\n%s" % (result.args, result.stderr))
        self.assertIn(want, result.stdout, "%s\n%s" % (result.args, result.stderr))

    def assert_fails(self, result):
        self.assertNotEqual(result.returncode, 0, "%s\n%s" % (result.args, result.stdout))

    def test_nslookup(self):
        # busybox's own DNS client: the server from /etc/resolv.conf, no /etc/hosts.
        self.assert_ok(self.image("nslookup", WEB_NAME), "Address: %s" % WEB_IP)
        self.assert_ok(self.image("nslookup", WEB_NAME, DNS_SERVER), "Address: %s" % WEB_IP)
        self.assert_fails(self.image("nslookup", UNKNOWN_NAME))

    def test_wget(self):
        def wget(name):
            return self.image("wget", "-q", "-O-", "http://%s:%d/" % (name, PORT))
        self.assert_ok(wget(WEB_NAME), "page-of-web")
        self.assert_ok(wget("web"), "page-of-web")  # through the search list
        self.assert_ok(wget(HOSTS_NAME), "page-of-hostsonly")
        result = wget(UNKNOWN_NAME)
        self.assert_fails(result)
        self.assertIn("bad address", result.stderr)

    def test_nc(self):
        def nc(name):
            return self.image("nc", "-w", "5", name, str(PORT),
                              stdin="GET / HTTP/1.0\r\n\r\n")
        self.assert_ok(nc(WEB_NAME), "page-of-web")
        self.assert_ok(nc("web"), "page-of-web")
        self.assert_ok(nc(HOSTS_NAME), "page-of-hostsonly")
        result = nc(UNKNOWN_NAME)
        self.assert_fails(result)
        self.assertIn("bad address", result.stderr)

    def test_ping(self):
        self.assert_ok(self.image("ping", "-c", "1", "-W", "2", WEB_NAME), "(%s)" % WEB_IP)
        self.assert_ok(self.image("ping", "-c", "1", "-W", "2", HOSTS_NAME),
                       "(%s)" % HOSTS_IP)
        self.assert_fails(self.image("ping", "-c", "1", "-W", "2", UNKNOWN_NAME))


def main():
    global ARCHIVE
    if len(sys.argv) < 2:
        print("usage: busybox_dns_test.py BUSYBOX_ARCHIVE", file=sys.stderr)
        return 2
    ARCHIVE = os.path.abspath(sys.argv.pop(1))
    if not os.path.isfile(ARCHIVE):
        print("%s is missing: build the keelson_image_busybox target" % ARCHIVE,
              file=sys.stderr)
        return 1
    if os.geteuid() != 0:
        print("skipped: needs root for a network namespace and chroot", file=sys.stderr)
        return SKIP
    for tool, package in (("ip", "iproute2"), ("dnsmasq", "dnsmasq-base"),
                          ("chroot", "coreutils")):
        if shutil.which(tool) is None:
            print("skipped: %s (%s) is not installed" % (tool, package), file=sys.stderr)
            return SKIP
    # This process (and so every server and applet it starts) moves to a network namespace
    # of its own: only lo, no other DNS server on port 53, gone when the test exits.
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        print("unshare(CLONE_NEWNET): %s" % os.strerror(ctypes.get_errno()), file=sys.stderr)
        return 1
    return 0 if unittest.main(exit=False).result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
