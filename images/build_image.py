#!/usr/bin/env python3
"""Builds a single-layer OCI image archive from files on this machine, with no network.

The archive is an OCI image layout in a tar (oci-layout, index.json, blobs/sha256/...) that
`ctr images import`, `keelson images import`, `docker load` (it also carries a Docker
manifest.json) and `podman load` accept. It holds one uncompressed layer, the image config and
the manifest; the image name goes into the index's annotations (io.containerd.image.name and
org.opencontainers.image.ref.name).

The output is deterministic: every tar entry has mtime 0, owner 0:0 and no user or group name,
entries are sorted, JSON is written with sorted keys, so the same inputs always give the same
bytes and the same image digest.

Example (the pause image):
  build_image.py --output pause.tar --name keelson.local/pause:3.10 \\
      --static-binary build/images/pause:/pause --entrypoint '["/pause"]'

Python 3 standard library only.
"""

import argparse
import hashlib
import io
import json
import os
import platform
import posixpath
import stat
import struct
import subprocess
import sys
import tarfile

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"


class BuildError(Exception):
    pass


def go_arch():
    machine = platform.machine().lower()
    return {
        "x86_64": "amd64",
        "amd64": "amd64",
        "aarch64": "arm64",
        "arm64": "arm64",
        "armv7l": "arm",
        "ppc64le": "ppc64le",
        "s390x": "s390x",
        "riscv64": "riscv64",
    }.get(machine, machine)


def image_path(path):
    """'/usr/bin/x' -> 'usr/bin/x'; rejects '..' (a path that would leave the root)."""
    if ".." in path.split("/"):
        raise BuildError("path %r leaves the image root" % path)
    norm = posixpath.normpath("/" + path)
    if norm == "/":
        raise BuildError("path %r names the image root" % path)
    return norm.lstrip("/")


def is_static_elf(data):
    """True when `data` is an ELF executable without a program interpreter (PT_INTERP)."""
    if data[:4] != b"\x7fELF":
        return False
    is64 = data[4] == 2
    endian = "<" if data[5] == 1 else ">"
    if is64:
        (phoff,) = struct.unpack_from(endian + "Q", data, 0x20)
        phentsize, phnum = struct.unpack_from(endian + "HH", data, 0x36)
    else:
        (phoff,) = struct.unpack_from(endian + "I", data, 0x1C)
        phentsize, phnum = struct.unpack_from(endian + "HH", data, 0x2A)
    for i in range(phnum):
        (p_type,) = struct.unpack_from(endian + "I", data, phoff + i * phentsize)
        if p_type == 3:  # PT_INTERP: needs a dynamic loader the image does not have
            return False
    return True


class Layer:
    """The entries of the image's single layer, keyed by path inside the image."""

    def __init__(self):
        self.entries = {}  # path -> ("dir", mode) | ("file", mode, bytes) | ("symlink", target)

    def _parents(self, path):
        parent = posixpath.dirname(path)
        while parent:
            if parent not in self.entries:
                self.entries[parent] = ("dir", 0o755)
            elif self.entries[parent][0] != "dir":
                raise BuildError("%s is not a directory (needed for %s)" % (parent, path))
            parent = posixpath.dirname(parent)

    def _put(self, path, entry):
        if path in self.entries and self.entries[path] != entry:
            if not (entry[0] == "dir" and self.entries[path][0] == "dir"):
                raise BuildError("/%s is given twice" % path)
        self._parents(path)
        self.entries[path] = entry

    def add_dir(self, path, mode):
        self._put(image_path(path), ("dir", mode))

    def add_file(self, path, mode, data):
        self._put(image_path(path), ("file", mode, data))

    def add_symlink(self, path, target):
        self._put(image_path(path), ("symlink", target))

    def tar_bytes(self):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
            for path in sorted(self.entries):
                entry = self.entries[path]
                info = tarfile.TarInfo(path)
                info.mtime = 0
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                if entry[0] == "dir":
                    info.type = tarfile.DIRTYPE
                    info.mode = entry[1]
                    tar.addfile(info)
                elif entry[0] == "file":
                    info.type = tarfile.REGTYPE
                    info.mode = entry[1]
                    info.size = len(entry[2])
                    tar.addfile(info, io.BytesIO(entry[2]))
                else:
                    info.type = tarfile.SYMTYPE
                    info.mode = 0o777
                    info.linkname = entry[1]
                    tar.addfile(info)
        return buf.getvalue()


def canonical_json(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def split_pair(arg, option, sep=":"):
    if sep not in arg:
        raise BuildError("%s %r: expected A%sB" % (option, arg, sep))
    return arg.split(sep, 1)


def read_source(src, hint):
    try:
        with open(src, "rb") as f:
            return f.read()
    except OSError as e:
        msg = "cannot read %s: %s" % (src, e.strerror)
        if hint:
            msg += " (%s)" % hint
        raise BuildError(msg)


def parse_mode(text, option):
    try:
        return int(text, 8)
    except ValueError:
        raise BuildError("%s: bad octal mode %r" % (option, text))


def busybox_applets(binary):
    """The install paths of every applet `binary` provides ('bin/sh', 'usr/bin/wc', ...)."""
    try:
        out = subprocess.run([binary, "--list-full"], check=True, capture_output=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        raise BuildError("%s --list-full failed: %s" % (binary, e))
    return sorted({line.strip() for line in out.decode().splitlines() if line.strip()})


def build(args):
    layer = Layer()
    sources = {}  # image path -> source path on this machine

    for spec in args.dir:
        path, _, mode = spec.partition(":")
        layer.add_dir(path, parse_mode(mode, "--dir") if mode else 0o755)

    def add_file(spec, option, require_static):
        parts = spec.split(":")
        if len(parts) not in (2, 3):
            raise BuildError("%s %r: expected SRC:DEST[:MODE]" % (option, spec))
        src, dest = parts[0], parts[1]
        data = read_source(src, args.missing_hint)
        if len(parts) == 3:
            mode = parse_mode(parts[2], option)
        else:
            mode = 0o755 if os.stat(src).st_mode & stat.S_IXUSR else 0o644
        if require_static and not is_static_elf(data):
            msg = "%s is not a statically linked executable: the image has no libc" % src
            if args.missing_hint:
                msg += " (%s)" % args.missing_hint
            raise BuildError(msg)
        layer.add_file(dest, mode, data)
        sources[image_path(dest)] = src

    for spec in args.static_binary:
        add_file(spec, "--static-binary", True)
    for spec in args.file:
        add_file(spec, "--file", False)
    for spec in args.symlink:
        dest, target = split_pair(spec, "--symlink")
        layer.add_symlink(dest, target)
    for dest in args.busybox_applets:
        key = image_path(dest)
        if key not in sources:
            raise BuildError("--busybox-applets %s: no file added at that path" % dest)
        for applet in busybox_applets(sources[key]):
            path = image_path(applet)
            if path != key and path not in layer.entries:
                layer.add_symlink(path, "/" + key)

    layer_tar = layer.tar_bytes()
    layer_digest = sha256(layer_tar)

    config = {
        "architecture": args.arch,
        "os": args.os,
        "created": "1970-01-01T00:00:00Z",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
        "history": [{"created": "1970-01-01T00:00:00Z", "created_by": "build_image.py"}],
    }
    c = config["config"]
    if args.env:
        c["Env"] = args.env
    if args.entrypoint is not None:
        c["Entrypoint"] = parse_argv(args.entrypoint, "--entrypoint")
    if args.cmd is not None:
        c["Cmd"] = parse_argv(args.cmd, "--cmd")
    if args.workdir:
        c["WorkingDir"] = args.workdir
    if args.user:
        c["User"] = args.user
    if args.label:
        c["Labels"] = dict(split_pair(l, "--label", "=") for l in args.label)
    config_json = canonical_json(config)
    config_digest = sha256(config_json)

    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": len(config_json)},
        "layers": [{"mediaType": OCI_LAYER, "digest": layer_digest, "size": len(layer_tar)}],
    }
    manifest_json = canonical_json(manifest)
    manifest_digest = sha256(manifest_json)

    name = args.name
    tag = name.rsplit(":", 1)[1] if ":" in name.rsplit("/", 1)[-1] else "latest"
    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {
                "mediaType": OCI_MANIFEST,
                "digest": manifest_digest,
                "size": len(manifest_json),
                "platform": {"architecture": args.arch, "os": args.os},
                "annotations": {
                    "io.containerd.image.name": name,
                    "org.opencontainers.image.ref.name": tag,
                },
            }
        ],
    }

    def blob_path(digest):
        return "blobs/sha256/" + digest.split(":", 1)[1]

    docker_manifest = [
        {
            "Config": blob_path(config_digest),
            "RepoTags": [name],
            "Layers": [blob_path(layer_digest)],
        }
    ]

    files = {
        "oci-layout": canonical_json({"imageLayoutVersion": "1.0.0"}),
        "index.json": canonical_json(index),
        "manifest.json": canonical_json(docker_manifest),
        blob_path(layer_digest): layer_tar,
        blob_path(config_digest): config_json,
        blob_path(manifest_digest): manifest_json,
    }
    dirs = {"blobs", "blobs/sha256"}

    # Written next to the output and renamed, so a failed build never leaves a partial archive
    # that a build system would take as up to date.
    tmp = args.output + ".tmp"
    try:
        with open(tmp, "wb") as out:
            with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as tar:
                for path in sorted(dirs | set(files)):
                    info = tarfile.TarInfo(path)
                    info.mtime = 0
                    info.uid = info.gid = 0
                    info.uname = info.gname = ""
                    if path in dirs:
                        info.type = tarfile.DIRTYPE
                        info.mode = 0o755
                        tar.addfile(info)
                    else:
                        info.mode = 0o644
                        info.size = len(files[path])
                        tar.addfile(info, io.BytesIO(files[path]))
        os.replace(tmp, args.output)
    except OSError as e:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise BuildError("cannot write %s: %s" % (args.output, e))
    return manifest_digest


def parse_argv(text, option):
    try:
        value = json.loads(text)
    except ValueError as e:
        raise BuildError("%s %r: not JSON: %s" % (option, text, e))
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BuildError("%s %r: expected a JSON array of strings" % (option, text))
    return value


def main(argv):
    p = argparse.ArgumentParser(
        description="Build a single-layer OCI image archive (no network needed).")
    p.add_argument("--output", required=True, help="the archive to write")
    p.add_argument("--name", required=True, help="image reference, e.g. keelson.local/pause:3.10")
    p.add_argument("--file", action="append", default=[], metavar="SRC:DEST[:MODE]",
                   help="copy file SRC to DEST in the image (MODE octal; default 0755 if "
                   "SRC is executable, else 0644)")
    p.add_argument("--static-binary", action="append", default=[], metavar="SRC:DEST[:MODE]",
                   help="like --file, but fail unless SRC is a statically linked executable")
    p.add_argument("--symlink", action="append", default=[], metavar="DEST:TARGET",
                   help="a symlink at DEST pointing to TARGET")
    p.add_argument("--dir", action="append", default=[], metavar="DEST[:MODE]",
                   help="an (empty) directory; parents of every entry are added as 0755")
    p.add_argument("--busybox-applets", action="append", default=[], metavar="DEST",
                   help="a symlink to DEST for every applet that the busybox binary added at "
                   "DEST lists with --list-full (existing entries win)")
    p.add_argument("--env", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--entrypoint", metavar="JSON", help='e.g. \'["/pause"]\'')
    p.add_argument("--cmd", metavar="JSON", help='e.g. \'["sh"]\'')
    p.add_argument("--workdir", default="")
    p.add_argument("--user", default="")
    p.add_argument("--label", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--arch", default=go_arch(), help="default: this machine's (%(default)s)")
    p.add_argument("--os", default="linux")
    p.add_argument("--missing-hint", default="",
                   help="added to the error when a source file is missing or not static")
    args = p.parse_args(argv)
    try:
        digest = build(args)
    except BuildError as e:
        print("build_image.py: error: %s" % e, file=sys.stderr)
        return 1
    print("%s %s %s" % (args.output, args.name, digest))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
