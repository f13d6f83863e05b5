#!/usr/bin/env python3
"""Writes an OCI image archive of busybox images, for `ctr images import`.

usage: make_oci_image.py OUT.tar SPEC_JSON

SPEC_JSON is a list of images: [{"name": "keelson.local/busybox:1", "entrypoint": [...],
"cmd": [...]}, ...]. Every image has the same single layer: the static busybox of the host
(/bin/busybox) as /bin/busybox, with /bin/<applet> symlinks to it for the applets below.
The archive is an OCI image layout (oci-layout, index.json, blobs/sha256/...) in a tar; each
manifest in index.json carries the image's name in the annotations containerd reads.
"""
import hashlib
import io
import json
import sys
import tarfile

BUSYBOX = "/bin/busybox"
APPLETS = ["sh", "echo", "cat", "sleep", "ls", "true", "false", "env", "id", "ps", "kill",
           "test", "wc", "date", "mkdir", "rm", "touch", "hostname"]
MTIME = 1700000000


def tar_bytes(add):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        add(tar)
    return buf.getvalue()


def layer_tar():
    def add(tar):
        for d in ["bin", "etc", "tmp", "proc", "sys", "dev", "root"]:
            info = tarfile.TarInfo(d)
            info.type = tarfile.DIRTYPE
            info.mode = 0o1777 if d == "tmp" else 0o755
            info.mtime = MTIME
            tar.addfile(info)
        with open(BUSYBOX, "rb") as f:
            data = f.read()
        info = tarfile.TarInfo("bin/busybox")
        info.size = len(data)
        info.mode = 0o755
        info.mtime = MTIME
        tar.addfile(info, io.BytesIO(data))
        for applet in APPLETS:
            info = tarfile.TarInfo("bin/" + applet)
            info.type = tarfile.SYMTYPE
            info.linkname = "busybox"
            info.mtime = MTIME
            tar.addfile(info)
        passwd = b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"
        info = tarfile.TarInfo("etc/passwd")
        info.size = len(passwd)
        info.mode = 0o644
        info.mtime = MTIME
        tar.addfile(info, io.BytesIO(passwd))
    return tar_bytes(add)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    out, specs = sys.argv[1], json.loads(sys.argv[2])
    blobs = {}

    def blob(data, media_type):
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        blobs[digest] = data
        return {"mediaType": media_type, "digest": digest, "size": len(data)}

    layer = layer_tar()
    layer_desc = blob(layer, "application/vnd.oci.image.layer.v1.tar")
    manifests = []
    for spec in specs:
        config = {
            "architecture": "amd64",
            "os": "linux",
            "config": {
                "Env": ["PATH=/bin"],
                "Entrypoint": spec.get("entrypoint"),
                "Cmd": spec.get("cmd"),
                "WorkingDir": "/",
            },
            "rootfs": {"type": "layers", "diff_ids": [layer_desc["digest"]]},
            "history": [{"created_by": "make_oci_image.py"}],
        }
        config_desc = blob(json.dumps(config, sort_keys=True).encode(),
                           "application/vnd.oci.image.config.v1+json")
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": config_desc,
            "layers": [layer_desc],
        }
        desc = blob(json.dumps(manifest, sort_keys=True).encode(),
                    "application/vnd.oci.image.manifest.v1+json")
        desc["annotations"] = {
            "io.containerd.image.name": spec["name"],
            "org.opencontainers.image.ref.name": spec["name"].rsplit(":", 1)[-1],
        }
        desc["platform"] = {"architecture": "amd64", "os": "linux"}
        manifests.append(desc)
    index = {"schemaVersion": 2, "manifests": manifests}

    def add(tar):
        def file(name, data):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            info.mtime = MTIME
            tar.addfile(info, io.BytesIO(data))
        file("oci-layout", json.dumps({"imageLayoutVersion": "1.0.0"}).encode())
        file("index.json", json.dumps(index, sort_keys=True).encode())
        for digest, data in sorted(blobs.items()):
            file("blobs/sha256/" + digest.split(":", 1)[1], data)

    with open(out, "wb") as f:
        f.write(tar_bytes(add))


if __name__ == "__main__":
    main()
