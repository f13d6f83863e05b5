#!/usr/bin/env python3
"""Tests of build_image.py: the archive is a valid OCI image layout (every digest and size
matches its blob, the config's diff_id is the layer's digest), it carries what the command line
asked for, it is byte-for-byte reproducible, and bad input fails with a clear message.

Usage: build_image_test.py [IMAGES_DIR]  -- also validates IMAGES_DIR/{pause,busybox}.tar.
"""

import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD_IMAGE = os.path.join(HERE, "build_image.py")
IMAGES_DIR = None


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def run_build(*args):
    return subprocess.run([sys.executable, BUILD_IMAGE] + list(args), capture_output=True,
                          text=True)


def read_archive(path):
    """Validates the OCI layout in `path`; returns (index, manifest, config, layer tar)."""
    with tarfile.open(path) as tar:
        files = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
    assert json.loads(files["oci-layout"]) == {"imageLayoutVersion": "1.0.0"}

    def blob(desc):
        data = files["blobs/sha256/" + desc["digest"].split(":", 1)[1]]
        assert sha256(data) == desc["digest"], "digest mismatch for %s" % desc["digest"]
        assert len(data) == desc["size"], "size mismatch for %s" % desc["digest"]
        return data

    index = json.loads(files["index.json"])
    assert index["schemaVersion"] == 2
    assert len(index["manifests"]) == 1
    manifest = json.loads(blob(index["manifests"][0]))
    assert manifest["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    config = json.loads(blob(manifest["config"]))
    assert len(manifest["layers"]) == 1
    layer = blob(manifest["layers"][0])
    assert manifest["layers"][0]["mediaType"] == "application/vnd.oci.image.layer.v1.tar"
    assert config["rootfs"] == {"type": "layers", "diff_ids": [sha256(layer)]}
    docker = json.loads(files["manifest.json"])
    assert docker[0]["Config"] == "blobs/sha256/" + manifest["config"]["digest"][7:]
    assert docker[0]["RepoTags"] == [index["manifests"][0]["annotations"][
        "io.containerd.image.name"]]
    return index, manifest, config, layer


def layer_members(layer):
    with tarfile.open(fileobj=io.BytesIO(layer)) as tar:
        return {m.name: m for m in tar.getmembers()}


class BuildImageTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        self.exe = os.path.join(self.dir, "prog")
        with open(self.exe, "w") as f:
            f.write("#!/bin/sh\necho hi\n")
        os.chmod(self.exe, 0o755)
        self.text = os.path.join(self.dir, "passwd")
        with open(self.text, "w") as f:
            f.write("root:x:0:0:root:/root:/bin/sh\n")
        # A stand-in for busybox: lists its applets as `busybox --list-full` does.
        self.busybox = os.path.join(self.dir, "busybox")
        with open(self.busybox, "w") as f:
            f.write("#!/bin/sh\n[ \"$1\" = --list-full ] && printf 'bin/sh\\nusr/bin/wc\\n"
                    "bin/busybox\\nsbin/init\\n'\n")
        os.chmod(self.busybox, 0o755)

    def tearDown(self):
        self.tmp.cleanup()

    def build(self, out, *extra):
        result = run_build("--output", out, "--name", "keelson.local/test:1.0",
                           "--file", self.exe + ":/bin/prog",
                           "--file", self.text + ":/etc/passwd:0600",
                           "--file", self.busybox + ":/bin/busybox",
                           "--busybox-applets", "/bin/busybox",
                           "--symlink", "/usr/bin/prog2:/bin/prog",
                           "--dir", "/tmp:1777", "--dir", "/proc",
                           "--env", "PATH=/usr/bin:/bin", "--env", "A=b c",
                           "--entrypoint", '["/bin/prog"]', "--cmd", '["-x", "y"]',
                           "--workdir", "/tmp", "--user", "65534:65534",
                           "--label", "k=v", "--arch", "arm64", *extra)
        self.assertEqual(result.returncode, 0, result.stderr)
        return out

    def test_archive_is_a_valid_oci_layout_with_what_was_asked(self):
        path = self.build(os.path.join(self.dir, "a.tar"))
        index, manifest, config, layer = read_archive(path)
        desc = index["manifests"][0]
        self.assertEqual(desc["annotations"], {
            "io.containerd.image.name": "keelson.local/test:1.0",
            "org.opencontainers.image.ref.name": "1.0",
        })
        self.assertEqual(desc["platform"], {"architecture": "arm64", "os": "linux"})
        self.assertEqual(config["architecture"], "arm64")
        self.assertEqual(config["os"], "linux")
        self.assertEqual(config["config"], {
            "Env": ["PATH=/usr/bin:/bin", "A=b c"],
            "Entrypoint": ["/bin/prog"],
            "Cmd": ["-x", "y"],
            "WorkingDir": "/tmp",
            "User": "65534:65534",
            "Labels": {"k": "v"},
        })

        members = layer_members(layer)
        names = [m for m in members]
        self.assertEqual(names, sorted(names), "layer entries are not sorted")
        for m in members.values():
            self.assertEqual((m.mtime, m.uid, m.gid, m.uname, m.gname), (0, 0, 0, "", ""),
                             m.name)
        self.assertEqual(members["bin/prog"].mode, 0o755)
        self.assertEqual(members["etc/passwd"].mode, 0o600)
        self.assertTrue(members["tmp"].isdir())
        self.assertEqual(members["tmp"].mode, 0o1777)
        self.assertTrue(members["proc"].isdir())
        self.assertTrue(members["usr"].isdir(), "parent directories are added")
        self.assertEqual(members["usr/bin/prog2"].linkname, "/bin/prog")
        for applet in ("bin/sh", "usr/bin/wc", "sbin/init"):
            self.assertTrue(members[applet].issym(), applet)
            self.assertEqual(members[applet].linkname, "/bin/busybox")
        self.assertTrue(members["bin/busybox"].isfile(), "the binary is not replaced by a link")
        with tarfile.open(fileobj=io.BytesIO(layer)) as tar:
            self.assertEqual(tar.extractfile("bin/prog").read(), b"#!/bin/sh\necho hi\n")

    def test_output_is_reproducible(self):
        a = self.build(os.path.join(self.dir, "a.tar"))
        os.utime(self.exe, (12345, 12345))  # source mtimes do not matter
        b = self.build(os.path.join(self.dir, "b.tar"))
        with open(a, "rb") as fa, open(b, "rb") as fb:
            self.assertEqual(fa.read(), fb.read())

    def test_name_without_tag_gets_latest(self):
        out = os.path.join(self.dir, "n.tar")
        result = run_build("--output", out, "--name", "localhost:5000/x",
                           "--file", self.exe + ":/x")
        self.assertEqual(result.returncode, 0, result.stderr)
        index, _, _, _ = read_archive(out)
        self.assertEqual(index["manifests"][0]["annotations"]
                         ["org.opencontainers.image.ref.name"], "latest")

    def test_errors_are_clear(self):
        out = os.path.join(self.dir, "bad.tar")
        cases = [
            (["--static-binary", self.exe + ":/x", "--missing-hint", "install it"],
             ["not a statically linked executable", "install it"]),
            (["--file", "/nonexistent/busybox:/x", "--missing-hint", "run install-deps"],
             ["/nonexistent/busybox", "run install-deps"]),
            (["--file", self.exe + ":/x", "--file", self.text + ":/x"], ["/x is given twice"]),
            (["--file", self.exe + ":/../x"], ["leaves the image root"]),
            (["--file", self.exe + ":/x", "--entrypoint", "/x"], ["--entrypoint", "not JSON"]),
            (["--file", self.exe + ":/x", "--cmd", '"sh"'], ["JSON array of strings"]),
            (["--file", self.exe + ":/x", "--file", self.text + ":/x/y"], ["not a directory"]),
            (["--busybox-applets", "/bin/busybox"], ["no file added at that path"]),
        ]
        for args, wants in cases:
            result = run_build("--output", out, "--name", "x", *args)
            self.assertEqual(result.returncode, 1, args)
            for want in wants:
                self.assertIn(want, result.stderr, args)
            self.assertFalse(os.path.exists(out), "a failed build left %s" % out)
            self.assertFalse(os.path.exists(out + ".tmp"))

    def test_static_elf_detection(self):
        sys.path.insert(0, HERE)
        import build_image
        with open("/bin/sh", "rb") as f:  # dash: dynamically linked on Debian
            self.assertFalse(build_image.is_static_elf(f.read()))
        self.assertFalse(build_image.is_static_elf(b"#!/bin/sh\n"))

    def test_built_images(self):
        """The archives the build made (images/CMakeLists.txt) hold what README.md says."""
        if IMAGES_DIR is None:
            self.skipTest("no images directory given")
        index, _, config, layer = read_archive(os.path.join(IMAGES_DIR, "pause.tar"))
        self.assertEqual(index["manifests"][0]["annotations"]["io.containerd.image.name"],
                         "keelson.local/pause:3.10")
        self.assertEqual(config["config"]["Entrypoint"], ["/pause"])
        members = layer_members(layer)
        self.assertEqual(sorted(members), ["pause"])
        sys.path.insert(0, HERE)
        import build_image
        with tarfile.open(fileobj=io.BytesIO(layer)) as tar:
            self.assertTrue(build_image.is_static_elf(tar.extractfile("pause").read()))

        index, _, config, layer = read_archive(os.path.join(IMAGES_DIR, "busybox.tar"))
        name = index["manifests"][0]["annotations"]["io.containerd.image.name"]
        self.assertTrue(name.startswith("keelson.local/busybox:1."), name)
        self.assertEqual(config["config"]["Cmd"], ["sh"])
        self.assertEqual(config["config"]["Env"], ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"])
        members = layer_members(layer)
        for d in ("tmp", "proc", "sys", "dev", "etc", "var"):
            self.assertTrue(members[d].isdir(), d)
        self.assertEqual(members["tmp"].mode, 0o1777)
        self.assertEqual(members["bin/sh"].linkname, "/bin/busybox")
        self.assertTrue(build_image.is_static_elf(
            tarfile.open(fileobj=io.BytesIO(layer)).extractfile("bin/busybox").read()))
        with tarfile.open(fileobj=io.BytesIO(layer)) as tar:
            passwd = tar.extractfile("etc/passwd").read().decode()
            group = tar.extractfile("etc/group").read().decode()
            nsswitch = tar.extractfile("etc/nsswitch.conf").read().decode()
            hosts = tar.extractfile("etc/hosts").read().decode()
        self.assertIn("root:x:0:0:", passwd)
        self.assertIn("nobody:x:65534:65534:", passwd)
        self.assertIn("nobody:x:65534:", group)
        self.assertRegex(nsswitch, r"(?m)^hosts:\s+files dns$")
        self.assertIn("127.0.0.1\tlocalhost", hosts)
        # No shared libraries: busybox's static glibc has the files and dns services built in
        # (busybox_dns_test.py resolves names with this image).
        self.assertEqual(sorted(m.name for m in members.values() if m.isfile()),
                         ["bin/busybox", "etc/group", "etc/hosts", "etc/nsswitch.conf",
                          "etc/passwd"])


if __name__ == "__main__":
    if len(sys.argv) > 1 and not sys.argv[1].startswith("-"):
        IMAGES_DIR = sys.argv.pop(1)
    unittest.main()
