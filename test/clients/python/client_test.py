#!/usr/bin/python3
# The official Python Kubernetes client (Debian's python3-kubernetes) against a real
# `keelson server`: typed CRUD of namespaces, configmaps, secrets, services and deployments,
# the three patch types, selectors, pagination, watch, errors and create_from_yaml. Every
# assertion states what upstream Kubernetes answers.
#
# Usage: client_test.py KEELSON_BINARY [CASE...]
# Prints one line per case ("ok NAME" or "FAIL NAME: why") and ends with
# "N passed, N failed"; exits 1 if any case failed.
import base64
import ctypes
import ipaddress
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

try:
    import yaml
    import urllib3
    from kubernetes import client, config, dynamic, utils, watch
    from kubernetes.client.rest import ApiException
except ImportError as e:  # CI installs it: a missing client is a failure, not a skip.
    print("FAIL: the Python Kubernetes client cannot be imported (%s). Install Debian's "
          "python3-kubernetes (./scripts/install-deps.sh) and run this with /usr/bin/python3 "
          "(now %s)." % (e, sys.executable))
    print("0 passed, 1 failed")
    sys.exit(1)


# ---------------------------------------------------------------------------------------------
# The server


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent():
    # The server gets SIGTERM if this process dies (ctest's timeout kills it with SIGKILL).
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Server:
    def __init__(self, binary):
        self.binary = binary
        self.dir = tempfile.mkdtemp(prefix="keelson-pyclient-")
        self.proc = None

    def start(self):
        self.port = free_port()
        self.out_path = os.path.join(self.dir, "server.log")
        out = open(self.out_path, "w")
        self.proc = subprocess.Popen(
            [self.binary, "server", "--data-dir", os.path.join(self.dir, "data"), "--port",
             str(self.port), "--disable-agent"],
            stdout=out, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        deadline = time.time() + 30
        while time.time() < deadline:
            with open(self.out_path) as f:
                text = f.read()
            if "kubeconfig written to" in text:
                return
            if self.proc.poll() is not None:
                raise RuntimeError("keelson server exited (%s):\n%s" % (self.proc.returncode, text))
            time.sleep(0.02)
        raise RuntimeError("keelson server did not start in 30 s")

    @property
    def kubeconfig(self):
        return os.path.join(self.dir, "data", "kubeconfig.yaml")

    def log_tail(self):
        try:
            with open(self.out_path) as f:
                return f.read()[-3000:]
        except OSError:
            return ""

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# Helpers


class Recorder:
    """Keeps every request the client sends (method, URL, Content-Type, body)."""

    def __init__(self, api_client):
        self.requests = []
        pm = api_client.rest_client.pool_manager
        orig = pm.request

        def request(method, url, *args, **kwargs):
            headers = kwargs.get("headers") or {}
            self.requests.append({"method": method, "url": url,
                                  "content_type": headers.get("Content-Type"),
                                  "body": kwargs.get("body")})
            return orig(method, url, *args, **kwargs)

        pm.request = request

    def last(self, method):
        for r in reversed(self.requests):
            if r["method"] == method:
                return r
        raise AssertionError("no %s request was sent" % method)


# A failed check is recorded with its line and the case goes on, so that one run shows every
# difference a case finds; the case fails at its end. Exceptions end a case at once.
_mismatches = []


def _record(what):
    frames = [f for f in traceback.extract_stack()[:-1]
              if f.filename == __file__ and f.name not in ("eq", "check", "api_error", "raw", "_record")]
    _mismatches.append("%s (line %d)" % (what, frames[-1].lineno if frames else 0))


def check(cond, what):
    if not cond:
        _record(what)
    return bool(cond)


def eq(got, want, what):
    if got != want:
        _record("%s: got %r, want %r" % (what, got, want))
        return False
    return True


def api_error(fn, status, reason, message=None):
    """Calls fn, which must raise ApiException with `status` and a metav1.Status body whose
    reason is `reason` (and message `message`, if given). Returns the Status body."""
    try:
        fn()
    except ApiException as e:
        body = json.loads(e.body) if e.body else None
        eq(e.status, status, "HTTP status (body %s)" % e.body)
        if not isinstance(body, dict):
            raise AssertionError("error body is not a JSON object: %r" % e.body)
        eq(body.get("kind"), "Status", "error body kind")
        eq(body.get("apiVersion"), "v1", "error body apiVersion")
        eq(body.get("status"), "Failure", "error body status")
        eq(body.get("code"), status, "error body code")
        eq(body.get("reason"), reason, "error body reason (%s)" % body.get("message"))
        ct = (e.headers or {}).get("Content-Type", "")
        check(ct.startswith("application/json"), "error Content-Type %r" % ct)
        if message is not None:
            eq(body.get("message"), message, "error message")
        return body
    raise AssertionError("expected ApiException %d %s, the call succeeded" % (status, reason))


def raw(fn, *args, **kwargs):
    """The decoded JSON body of a call made with _preload_content=False."""
    resp = fn(*args, _preload_content=False, **kwargs)
    return resp.status, json.loads(resp.data)


def b64(s):
    return base64.b64encode(s.encode()).decode()


M = client.V1ObjectMeta


class Ctx:
    def __init__(self, server):
        self.server = server
        self.api = config.new_client_from_config(config_file=server.kubeconfig)
        self.rec = Recorder(self.api)
        self.core = client.CoreV1Api(self.api)
        self.apps = client.AppsV1Api(self.api)
        self._n = 0

    def namespace(self, prefix="t"):
        self._n += 1
        name = "%s-%d" % (prefix, self._n)
        self.core.create_namespace(client.V1Namespace(metadata=M(name=name)))
        return name


# ---------------------------------------------------------------------------------------------
# Cases

CASES = []


def case(fn):
    CASES.append(fn)
    return fn


@case
def load_kube_config(ctx):
    # The documented entry point: load_kube_config(config_file=...) sets the default client.
    config.load_kube_config(config_file=ctx.server.kubeconfig)
    v = client.VersionApi().get_code()
    eq(v.major, "1", "version major")
    check(v.git_version.startswith("v1."), "git_version %r" % v.git_version)
    names = [n.metadata.name for n in client.CoreV1Api().list_namespace().items]
    for want in ("default", "kube-system", "kube-public", "kube-node-lease"):
        check(want in names, "namespace %s missing from %s" % (want, names))


def namespace_crud(ctx, name, with_type_meta):
    kw = {"api_version": "v1", "kind": "Namespace"} if with_type_meta else {}
    body = client.V1Namespace(metadata=M(name=name, labels={"team": "a"}), **kw)
    created = ctx.core.create_namespace(body)
    sent = json.loads(ctx.rec.last("POST")["body"])
    eq("apiVersion" in sent or "kind" in sent, with_type_meta, "apiVersion/kind in the body sent")
    eq(created.kind, "Namespace", "kind of the answer")
    eq(created.api_version, "v1", "apiVersion of the answer")
    eq(created.metadata.name, name, "name")
    check(created.metadata.uid, "no uid")
    check(created.metadata.resource_version, "no resourceVersion")
    check(created.metadata.creation_timestamp is not None, "no creationTimestamp")
    eq(created.status.phase, "Active", "status.phase")
    eq(created.spec.finalizers, ["kubernetes"], "spec.finalizers")
    eq(created.metadata.labels.get("kubernetes.io/metadata.name"), name,
       "the kubernetes.io/metadata.name label")

    got = ctx.core.read_namespace(name)
    eq(got.metadata.uid, created.metadata.uid, "uid read back")
    eq(got.metadata.labels.get("team"), "a", "label read back")

    got.metadata.labels["team"] = "b"
    if not with_type_meta:
        got.api_version = None
        got.kind = None
    replaced = ctx.core.replace_namespace(name, got)
    eq(replaced.metadata.labels.get("team"), "b", "label after replace")
    check(int(replaced.metadata.resource_version) > int(got.metadata.resource_version),
          "resourceVersion did not grow on replace")

    patched = ctx.core.patch_namespace(name, {"metadata": {"labels": {"extra": "x"}}})
    eq(ctx.rec.last("PATCH")["content_type"], "application/strategic-merge-patch+json",
       "Content-Type the client sends for a dict patch")
    eq(patched.metadata.labels.get("team"), "b", "label kept by the patch")
    eq(patched.metadata.labels.get("extra"), "x", "label added by the patch")

    code, answer = raw(ctx.core.delete_namespace, name)
    eq(code, 200, "delete status")
    # The answer is the namespace itself. Upstream marks it for deletion (Terminating) and its
    # namespace controller removes it once emptied; keelson, until its namespace controller
    # runs, removes it and its content at once (docs/apiserver.md). Either way a namespace that
    # is still there after the delete must be Terminating, and it must go.
    eq(answer.get("kind"), "Namespace", "kind of the delete answer")
    eq(answer.get("metadata", {}).get("name"), name, "name in the delete answer")
    if answer["metadata"].get("deletionTimestamp"):
        eq(answer.get("status", {}).get("phase"), "Terminating", "phase in the delete answer")
    deadline = time.time() + 30
    while True:
        try:
            after = ctx.core.read_namespace(name)
        except ApiException as e:
            eq(e.status, 404, "read after delete")
            break
        eq(after.status.phase, "Terminating", "phase of a deleted namespace still present")
        if time.time() > deadline:
            check(False, "the deleted namespace is still there after 30 s")
            break
        time.sleep(0.2)


@case
def namespace_crud_without_apiversion_kind(ctx):
    namespace_crud(ctx, "ns-bare", with_type_meta=False)


@case
def namespace_crud_with_apiversion_kind(ctx):
    namespace_crud(ctx, "ns-typed", with_type_meta=True)


@case
def configmap_crud_and_patch_types(ctx):
    ns = ctx.namespace()
    created = ctx.core.create_namespaced_config_map(
        ns, client.V1ConfigMap(metadata=M(name="cfg"), data={"a": "1", "b": "2"}))
    check("kind" not in json.loads(ctx.rec.last("POST")["body"]), "kind sent")
    eq(created.kind, "ConfigMap", "kind")
    eq(created.metadata.namespace, ns, "namespace")
    eq(created.data, {"a": "1", "b": "2"}, "data")
    typed = ctx.core.create_namespaced_config_map(
        ns, client.V1ConfigMap(api_version="v1", kind="ConfigMap", metadata=M(name="cfg2")))
    eq(typed.metadata.name, "cfg2", "name of the configmap created with apiVersion/kind")

    got = ctx.core.read_namespaced_config_map("cfg", ns)
    eq(got.data, {"a": "1", "b": "2"}, "data read back")
    names = [c.metadata.name for c in ctx.core.list_namespaced_config_map(ns).items]
    eq(names, ["cfg", "cfg2"], "names listed")

    got.data["a"] = "10"
    replaced = ctx.core.replace_namespaced_config_map("cfg", ns, got)
    eq(replaced.data["a"], "10", "data after replace")
    check(int(replaced.metadata.resource_version) > int(got.metadata.resource_version),
          "resourceVersion did not grow")

    # A dict is sent as a strategic merge patch.
    smp = ctx.core.patch_namespaced_config_map("cfg", ns, {"data": {"c": "3"}})
    eq(ctx.rec.last("PATCH")["content_type"], "application/strategic-merge-patch+json",
       "Content-Type of a dict patch")
    eq(smp.data, {"a": "10", "b": "2", "c": "3"}, "data after the strategic merge patch")

    # A list is sent as a JSON patch.
    jp = ctx.core.patch_namespaced_config_map(
        "cfg", ns, [{"op": "remove", "path": "/data/b"},
                    {"op": "add", "path": "/data/d", "value": "4"}])
    eq(ctx.rec.last("PATCH")["content_type"], "application/json-patch+json",
       "Content-Type of a list patch")
    eq(jp.data, {"a": "10", "c": "3", "d": "4"}, "data after the JSON patch")
    api_error(lambda: ctx.core.patch_namespaced_config_map(
        "cfg", ns, [{"op": "test", "path": "/data/a", "value": "nope"}]), 422, "Invalid")

    # A merge patch through the dynamic client: null removes a key.
    dyn = dynamic.DynamicClient(ctx.api)
    cms = dyn.resources.get(api_version="v1", kind="ConfigMap")
    mp = cms.patch(name="cfg", namespace=ns, body={"data": {"a": None, "e": "5"}},
                   content_type="application/merge-patch+json")
    eq(ctx.rec.last("PATCH")["content_type"], "application/merge-patch+json",
       "Content-Type of the dynamic client's merge patch")
    eq(dict(mp.data), {"c": "3", "d": "4", "e": "5"}, "data after the merge patch")

    code, answer = raw(ctx.core.delete_namespaced_config_map, "cfg", ns)
    eq(code, 200, "delete status")
    # Upstream's generic store answers a Status for kinds that do not return the deleted
    # object (configmaps among them).
    eq(answer.get("kind"), "Status", "kind of the delete answer")
    eq(answer.get("status"), "Success", "status of the delete answer")
    eq(answer.get("details", {}).get("name"), "cfg", "details.name")
    eq(answer.get("details", {}).get("kind"), "configmaps", "details.kind")
    eq(answer.get("details", {}).get("uid"), created.metadata.uid, "details.uid")
    api_error(lambda: ctx.core.read_namespaced_config_map("cfg", ns), 404, "NotFound")


@case
def secret_crud(ctx):
    ns = ctx.namespace()
    created = ctx.core.create_namespaced_secret(
        ns, client.V1Secret(metadata=M(name="creds"), string_data={"user": "admin"}))
    eq(created.type, "Opaque", "default type")
    eq(created.data, {"user": b64("admin")}, "stringData stored as data")
    eq(created.string_data, None, "stringData in the answer")
    got = ctx.core.read_namespaced_secret("creds", ns)
    eq(got.data, {"user": b64("admin")}, "data read back")

    got.data["pass"] = b64("s3cret")
    replaced = ctx.core.replace_namespaced_secret("creds", ns, got)
    eq(replaced.data, {"user": b64("admin"), "pass": b64("s3cret")}, "data after replace")

    patched = ctx.core.patch_namespaced_secret("creds", ns, {"stringData": {"user": "root"}})
    eq(patched.data["user"], b64("root"), "stringData of a patch stored as data")

    # The type is immutable: 422 naming the field.
    patched.type = "kubernetes.io/basic-auth"
    st = api_error(lambda: ctx.core.replace_namespaced_secret("creds", ns, patched), 422, "Invalid")
    fields = [c.get("field") for c in st.get("details", {}).get("causes", [])]
    check("type" in fields, "causes name no field 'type': %s" % st)

    code, answer = raw(ctx.core.delete_namespaced_secret, "creds", ns)
    eq(code, 200, "delete status")
    eq(answer.get("kind"), "Status", "kind of the delete answer")
    eq(answer.get("details", {}).get("kind"), "secrets", "details.kind")
    api_error(lambda: ctx.core.read_namespaced_secret("creds", ns), 404, "NotFound")


SERVICE_CIDR = ipaddress.ip_network("10.43.0.0/16")


@case
def service_cluster_ip(ctx):
    ns = ctx.namespace()
    svc = client.V1Service(
        metadata=M(name="web"),
        spec=client.V1ServiceSpec(selector={"app": "web"},
                                  ports=[client.V1ServicePort(port=80, target_port=8080)]))
    created = ctx.core.create_namespaced_service(ns, svc)
    ip = created.spec.cluster_ip
    check(ip and ipaddress.ip_address(ip) in SERVICE_CIDR, "clusterIP %r not in %s" % (ip, SERVICE_CIDR))
    eq(created.spec.cluster_i_ps, [ip], "clusterIPs")
    eq(created.spec.type, "ClusterIP", "type")
    eq(created.spec.session_affinity, "None", "sessionAffinity")
    eq(created.spec.ip_families, ["IPv4"], "ipFamilies")
    eq(created.spec.ip_family_policy, "SingleStack", "ipFamilyPolicy")
    eq(created.spec.internal_traffic_policy, "Cluster", "internalTrafficPolicy")
    eq(created.spec.ports[0].protocol, "TCP", "port protocol")
    eq(created.spec.ports[0].target_port, 8080, "targetPort")
    eq(created.spec.ports[0].node_port, None, "nodePort of a ClusterIP service")

    other = ctx.core.create_namespaced_service(ns, client.V1Service(
        metadata=M(name="other"), spec=client.V1ServiceSpec(ports=[client.V1ServicePort(port=80)])))
    check(other.spec.cluster_ip != ip, "two services share %s" % ip)
    eq(other.spec.ports[0].target_port, 80, "targetPort defaults to port")

    # Strategic merge on ports (merge key port): 80 keeps its targetPort, 443 is added.
    patched = ctx.core.patch_namespaced_service("web", ns, {"spec": {"ports": [
        {"port": 80, "name": "http"}, {"port": 443, "name": "https", "targetPort": 8443}]}})
    ports = sorted((p.port, p.name, p.target_port) for p in patched.spec.ports)
    eq(ports, [(80, "http", 8080), (443, "https", 8443)], "ports after the strategic merge patch")
    eq(patched.spec.cluster_ip, ip, "clusterIP kept by the patch")

    # The clusterIP is immutable.
    st = api_error(lambda: ctx.core.patch_namespaced_service(
        "web", ns, {"spec": {"clusterIP": "10.43.99.99", "clusterIPs": ["10.43.99.99"]}}), 422, "Invalid")
    check(any(c.get("field") == "spec.clusterIPs[0]" or c.get("field") == "spec.clusterIP"
              for c in st["details"].get("causes", [])), "causes: %s" % st)

    # Services answer a delete with the deleted Service.
    code, answer = raw(ctx.core.delete_namespaced_service, "web", ns)
    eq(code, 200, "delete status")
    eq(answer.get("kind"), "Service", "kind of the delete answer")
    eq(answer.get("spec", {}).get("clusterIP"), ip, "clusterIP in the delete answer")
    api_error(lambda: ctx.core.read_namespaced_service("web", ns), 404, "NotFound")


@case
def service_node_port(ctx):
    ns = ctx.namespace()
    created = ctx.core.create_namespaced_service(ns, client.V1Service(
        metadata=M(name="np"),
        spec=client.V1ServiceSpec(type="NodePort", selector={"app": "np"},
                                  ports=[client.V1ServicePort(port=80)])))
    port = created.spec.ports[0].node_port
    check(isinstance(port, int) and 30000 <= port <= 32767, "nodePort %r not in 30000-32767" % port)
    check(ipaddress.ip_address(created.spec.cluster_ip) in SERVICE_CIDR, "clusterIP %r" % created.spec.cluster_ip)
    eq(created.spec.external_traffic_policy, "Cluster", "externalTrafficPolicy")

    # The same node port again: 422, the port is taken.
    taken = client.V1Service(metadata=M(name="np2"), spec=client.V1ServiceSpec(
        type="NodePort", ports=[client.V1ServicePort(port=80, node_port=port)]))
    st = api_error(lambda: ctx.core.create_namespaced_service(ns, taken), 422, "Invalid")
    causes = st["details"].get("causes", [])
    check(any(c.get("field") == "spec.ports[0].nodePort" and "already allocated" in c.get("message", "")
              for c in causes), "causes: %s" % causes)
    # Out of range: 422.
    out = client.V1Service(metadata=M(name="np3"), spec=client.V1ServiceSpec(
        type="NodePort", ports=[client.V1ServicePort(port=80, node_port=80)]))
    api_error(lambda: ctx.core.create_namespaced_service(ns, out), 422, "Invalid")

    # Deleting the first frees its port for the second.
    ctx.core.delete_namespaced_service("np", ns)
    again = ctx.core.create_namespaced_service(ns, taken)
    eq(again.spec.ports[0].node_port, port, "nodePort reused after delete")

    # Back to ClusterIP drops the node port.
    back = ctx.core.patch_namespaced_service("np2", ns, {"spec": {"type": "ClusterIP",
                                                                  "ports": [{"port": 80, "nodePort": None}]}})
    eq(back.spec.type, "ClusterIP", "type after patch")
    eq(back.spec.ports[0].node_port, None, "nodePort after becoming ClusterIP")


def deployment(name, image="nginx:1.25", labels=None):
    labels = labels or {"app": name}
    return client.V1Deployment(
        metadata=M(name=name),
        spec=client.V1DeploymentSpec(
            selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=M(labels=labels),
                spec=client.V1PodSpec(containers=[client.V1Container(name="web", image=image)]))))


@case
def deployment_crud(ctx):
    ns = ctx.namespace()
    created = ctx.apps.create_namespaced_deployment(ns, deployment("web"))
    eq(created.kind, "Deployment", "kind")
    eq(created.api_version, "apps/v1", "apiVersion")
    eq(created.metadata.generation, 1, "generation")
    s = created.spec
    eq(s.replicas, 1, "replicas default")
    eq(s.revision_history_limit, 10, "revisionHistoryLimit default")
    eq(s.progress_deadline_seconds, 600, "progressDeadlineSeconds default")
    eq(s.strategy.type, "RollingUpdate", "strategy default")
    eq((s.strategy.rolling_update.max_surge, s.strategy.rolling_update.max_unavailable),
       ("25%", "25%"), "rollingUpdate defaults")
    eq(s.template.spec.restart_policy, "Always", "restartPolicy default")
    eq(s.template.spec.dns_policy, "ClusterFirst", "dnsPolicy default")
    c = s.template.spec.containers[0]
    eq(c.image_pull_policy, "IfNotPresent", "imagePullPolicy default")
    eq(c.termination_message_path, "/dev/termination-log", "terminationMessagePath default")

    # Read, change, replace; again on a 409, as client-go's RetryOnConflict does: the
    # server's Deployment controller writes the status meanwhile.
    for attempt in range(5):
        got = ctx.apps.read_namespaced_deployment("web", ns)
        got.spec.template.spec.containers[0].image = "nginx:1.26"
        try:
            replaced = ctx.apps.replace_namespaced_deployment("web", ns, got)
            break
        except ApiException as e:
            if e.status != 409 or attempt == 4:
                raise
    eq(replaced.metadata.generation, 2, "generation after a spec change")
    eq(replaced.spec.template.spec.containers[0].image, "nginx:1.26", "image after replace")

    # Strategic merge: containers merge by name.
    smp = ctx.apps.patch_namespaced_deployment("web", ns, {"spec": {"template": {"spec": {
        "containers": [{"name": "sidecar", "image": "busybox:1.36"}]}}}})
    eq(sorted(c.name for c in smp.spec.template.spec.containers), ["sidecar", "web"],
       "containers after the strategic merge patch")
    # $patch: delete removes one by its key.
    smp = ctx.apps.patch_namespaced_deployment("web", ns, {"spec": {"template": {"spec": {
        "containers": [{"name": "sidecar", "$patch": "delete"}]}}}})
    eq([c.name for c in smp.spec.template.spec.containers], ["web"], "containers after $patch: delete")

    # Merge patch: the list is replaced whole.
    dyn = dynamic.DynamicClient(ctx.api)
    deps = dyn.resources.get(api_version="apps/v1", kind="Deployment")
    mp = deps.patch(name="web", namespace=ns, content_type="application/merge-patch+json",
                    body={"spec": {"template": {"spec": {"containers": [
                        {"name": "only", "image": "busybox:1.36"}]}}}})
    eq([c["name"] for c in mp.spec.template.spec.containers], ["only"], "containers after the merge patch")

    # The scale subresource.
    scale = ctx.apps.read_namespaced_deployment_scale("web", ns)
    eq(scale.kind, "Scale", "scale kind")
    eq(scale.spec.replicas, 1, "scale replicas")
    ctx.apps.patch_namespaced_deployment_scale("web", ns, {"spec": {"replicas": 3}})
    eq(ctx.apps.read_namespaced_deployment("web", ns).spec.replicas, 3, "replicas after scaling")

    # Status cannot be written through the main resource (the Deployment controller writes
    # the real count, never 7).
    st = ctx.apps.patch_namespaced_deployment("web", ns, {"status": {"replicas": 7}})
    check(st.status is None or st.status.replicas != 7, "status written through the main resource")

    # A selector that does not match the template's labels: 422.
    bad = deployment("bad")
    bad.spec.template.metadata.labels = {"app": "other"}
    body = api_error(lambda: ctx.apps.create_namespaced_deployment(ns, bad), 422, "Invalid")
    eq(body["details"].get("kind"), "Deployment", "details.kind of a 422")
    eq(body["details"].get("group"), "apps", "details.group of a 422")
    check(any(c.get("field") == "spec.template.metadata.labels" for c in body["details"]["causes"]),
          "causes: %s" % body["details"]["causes"])

    code, answer = raw(ctx.apps.delete_namespaced_deployment, "web", ns)
    eq(code, 200, "delete status")
    eq(answer.get("kind"), "Status", "kind of the delete answer")
    eq(answer.get("details", {}).get("group"), "apps", "details.group")
    eq(answer.get("details", {}).get("kind"), "deployments", "details.kind")
    api_error(lambda: ctx.apps.read_namespaced_deployment("web", ns), 404, "NotFound")


@case
def list_label_and_field_selectors(ctx):
    ns = ctx.namespace()
    for name, labels in (("a", {"app": "web", "tier": "fe"}), ("b", {"app": "web", "tier": "be"}),
                         ("c", {"app": "db"}), ("d", None)):
        ctx.core.create_namespaced_config_map(ns, client.V1ConfigMap(metadata=M(name=name, labels=labels)))

    def names(**kw):
        return [c.metadata.name for c in ctx.core.list_namespaced_config_map(ns, **kw).items]

    eq(names(), ["a", "b", "c", "d"], "all")
    eq(names(label_selector="app=web"), ["a", "b"], "app=web")
    eq(names(label_selector="app in (web,db)"), ["a", "b", "c"], "app in (web,db)")
    eq(names(label_selector="app notin (web)"), ["c", "d"], "app notin (web)")
    eq(names(label_selector="!app"), ["d"], "!app")
    eq(names(label_selector="app,tier!=fe"), ["b", "c"], "app,tier!=fe")
    eq(names(label_selector="app=nothing"), [], "app=nothing")
    eq(names(field_selector="metadata.name=c"), ["c"], "metadata.name=c")
    eq(names(field_selector="metadata.name!=c"), ["a", "b", "d"], "metadata.name!=c")
    eq(names(label_selector="app=web", field_selector="metadata.name!=a"), ["b"], "label and field")
    everywhere = ctx.core.list_config_map_for_all_namespaces(
        field_selector="metadata.namespace=%s" % ns, label_selector="app")
    eq(sorted((c.metadata.namespace, c.metadata.name) for c in everywhere.items),
       [(ns, "a"), (ns, "b"), (ns, "c")], "all namespaces with metadata.namespace")

    ctx.core.create_namespaced_secret(ns, client.V1Secret(metadata=M(name="basic"), type="kubernetes.io/basic-auth",
                                                          string_data={"username": "u"}))
    ctx.core.create_namespaced_secret(ns, client.V1Secret(metadata=M(name="plain")))
    eq([s.metadata.name for s in ctx.core.list_namespaced_secret(ns, field_selector="type=Opaque").items],
       ["plain"], "secrets type=Opaque")

    api_error(lambda: ctx.core.list_namespaced_config_map(ns, field_selector="data.x=1"), 400, "BadRequest",
              '"data.x" is not a known field selector: only "metadata.name", "metadata.namespace"')
    api_error(lambda: ctx.core.list_namespaced_config_map(ns, label_selector="app in web"), 400, "BadRequest")


@case
def list_pagination(ctx):
    ns = ctx.namespace()
    for i in range(5):
        ctx.core.create_namespaced_config_map(ns, client.V1ConfigMap(metadata=M(name="cm-%d" % i)))
    first = ctx.core.list_namespaced_config_map(ns, limit=2)
    eq([c.metadata.name for c in first.items], ["cm-0", "cm-1"], "first page")
    check(first.metadata._continue, "no continue token on the first page")
    eq(first.metadata.remaining_item_count, 3, "remainingItemCount of the first page")
    # A change after the first page is not seen by the later pages: they read at its revision.
    ctx.core.create_namespaced_config_map(ns, client.V1ConfigMap(metadata=M(name="cm-9")))
    second = ctx.core.list_namespaced_config_map(ns, limit=2, _continue=first.metadata._continue)
    eq([c.metadata.name for c in second.items], ["cm-2", "cm-3"], "second page")
    eq(second.metadata.resource_version, first.metadata.resource_version, "resourceVersion of page 2")
    eq(second.metadata.remaining_item_count, 1, "remainingItemCount of the second page")
    third = ctx.core.list_namespaced_config_map(ns, limit=2, _continue=second.metadata._continue)
    eq([c.metadata.name for c in third.items], ["cm-4"], "third page")
    check(not third.metadata._continue, "continue token on the last page: %r" % third.metadata._continue)
    eq(third.metadata.remaining_item_count, None, "remainingItemCount of the last page")
    # Everything in one page.
    eq(len(ctx.core.list_namespaced_config_map(ns, limit=10).items), 6, "all with a large limit")
    api_error(lambda: ctx.core.list_namespaced_config_map(ns, limit=2, _continue="garbage"), 400, "BadRequest")


@case
def watch_from_resource_version(ctx):
    ns = ctx.namespace()
    ctx.core.create_namespaced_config_map(ns, client.V1ConfigMap(metadata=M(name="before")))
    rv = ctx.core.list_namespaced_config_map(ns).metadata.resource_version
    ctx.core.create_namespaced_config_map(ns, client.V1ConfigMap(metadata=M(name="w", labels={"x": "1"}),
                                                                 data={"v": "1"}))
    ctx.core.patch_namespaced_config_map("w", ns, {"data": {"v": "2"}})
    ctx.core.delete_namespaced_config_map("w", ns)

    w = watch.Watch()
    events = []
    for ev in w.stream(ctx.core.list_namespaced_config_map, ns, resource_version=rv, timeout_seconds=10):
        events.append(ev)
        if ev["type"] == "DELETED":
            w.stop()
    got = [(e["type"], e["object"].metadata.name, (e["object"].data or {}).get("v")) for e in events]
    eq(got, [("ADDED", "w", "1"), ("MODIFIED", "w", "2"), ("DELETED", "w", "2")], "events")
    check(all(isinstance(e["object"], client.V1ConfigMap) for e in events), "objects are not V1ConfigMap")
    rvs = [int(e["object"].metadata.resource_version) for e in events]
    check(rvs == sorted(rvs) and len(set(rvs)) == 3 and rvs[0] > int(rv),
          "resourceVersions of the events %s (watch from %s)" % (rvs, rv))

    # A watch open before the changes, with a label selector, sees only what matches.
    w2 = watch.Watch()
    seen = []
    start = ctx.core.list_namespaced_config_map(ns).metadata.resource_version

    def reader():
        for ev in w2.stream(ctx.core.list_namespaced_config_map, ns, label_selector="x=2",
                            resource_version=start, timeout_seconds=10):
            seen.append((ev["type"], ev["object"].metadata.name))
            if ev["type"] == "DELETED":
                w2.stop()

    t = threading.Thread(target=reader)
    t.start()
    time.sleep(0.3)
    ctx.core.create_namespaced_config_map(ns, client.V1ConfigMap(metadata=M(name="skip", labels={"x": "1"})))
    ctx.core.create_namespaced_config_map(ns, client.V1ConfigMap(metadata=M(name="hit", labels={"x": "2"})))
    ctx.core.patch_namespaced_config_map("hit", ns, {"data": {"k": "v"}})
    ctx.core.delete_namespaced_config_map("hit", ns)
    t.join(15)
    check(not t.is_alive(), "the watch did not end")
    eq(seen, [("ADDED", "hit"), ("MODIFIED", "hit"), ("DELETED", "hit")], "events with label selector x=2")


@case
def watch_bookmarks(ctx):
    # allow_watch_bookmarks=True: upstream's watch cache sends a BOOKMARK 2 s before the watch's
    # timeout (and about every minute), at the latest resourceVersion.
    ns = ctx.namespace()
    ctx.core.create_namespaced_config_map(ns, client.V1ConfigMap(metadata=M(name="cm")))
    rv = ctx.core.list_namespaced_config_map(ns).metadata.resource_version
    types = []
    bookmark_rvs = []
    for ev in watch.Watch().stream(ctx.core.list_namespaced_config_map, ns, resource_version=rv,
                                   allow_watch_bookmarks=True, timeout_seconds=4):
        types.append(ev["type"])
        if ev["type"] == "BOOKMARK":
            bookmark_rvs.append(int(ev["raw_object"]["metadata"]["resourceVersion"]))
    check("BOOKMARK" in types, "no BOOKMARK event in a 4 s watch with allowWatchBookmarks=True: %s" % types)
    check(all(b >= int(rv) for b in bookmark_rvs), "bookmark resourceVersions %s before %s" % (bookmark_rvs, rv))
    eq([t for t in types if t != "BOOKMARK"], [], "events other than bookmarks")


@case
def server_side_apply(ctx):
    # The dynamic client's server_side_apply (application/apply-patch+yaml, force=True as
    # Python writes it).
    ns = ctx.namespace()
    dyn = dynamic.DynamicClient(ctx.api)
    cms = dyn.resources.get(api_version="v1", kind="ConfigMap")
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "applied", "namespace": ns},
            "data": {"owner": "a"}}
    first = dyn.server_side_apply(cms, body=json.dumps(body), name="applied", namespace=ns, field_manager="mgr-a")
    eq(ctx.rec.last("PATCH")["content_type"], "application/apply-patch+yaml", "Content-Type of an apply")
    eq(dict(first.data), {"owner": "a"}, "data after the first apply")
    managers = [(m["manager"], m["operation"]) for m in first.metadata.managedFields]
    eq(managers, [("mgr-a", "Apply")], "managedFields after the first apply")
    body["data"]["owner"] = "b"
    try:
        dyn.server_side_apply(cms, body=json.dumps(body), name="applied", namespace=ns, field_manager="mgr-b")
        check(False, "a conflicting apply succeeded")
    except ApiException as e:
        eq(e.status, 409, "status of a conflicting apply")
        st = json.loads(e.body)
        eq(st.get("reason"), "Conflict", "reason of a conflicting apply")
        check('conflict with "mgr-a"' in st.get("message", ""), "message: %s" % st.get("message"))
    forced = dyn.server_side_apply(cms, body=json.dumps(body), name="applied", namespace=ns, field_manager="mgr-b",
                                   force_conflicts=True)
    check("force=True" in ctx.rec.last("PATCH")["url"], "force sent as %s" % ctx.rec.last("PATCH")["url"])
    eq(dict(forced.data), {"owner": "b"}, "data after the forced apply")


@case
def delete_collection(ctx):
    ns = ctx.namespace()
    for name, app in (("a", "x"), ("b", "x"), ("c", "y")):
        ctx.core.create_namespaced_config_map(ns, client.V1ConfigMap(metadata=M(name=name, labels={"app": app})))
    code, answer = raw(ctx.core.delete_collection_namespaced_config_map, ns, label_selector="app=x")
    eq(code, 200, "status of deletecollection")
    # Upstream answers the list of what it deleted.
    eq(answer.get("kind"), "ConfigMapList", "kind of the deletecollection answer")
    eq(sorted(i["metadata"]["name"] for i in answer.get("items", [])), ["a", "b"], "items deleted")
    eq([c.metadata.name for c in ctx.core.list_namespaced_config_map(ns).items], ["c"], "what is left")


@case
def errors_are_status(ctx):
    ns = ctx.namespace()
    st = api_error(lambda: ctx.core.read_namespaced_config_map("missing", ns), 404, "NotFound",
                   'configmaps "missing" not found')
    eq(st.get("details"), {"name": "missing", "kind": "configmaps"}, "details of a 404")
    api_error(lambda: ctx.apps.read_namespaced_deployment("missing", ns), 404, "NotFound",
              'deployments.apps "missing" not found')
    api_error(lambda: ctx.core.create_namespaced_config_map(
        "no-such-ns", client.V1ConfigMap(metadata=M(name="x"))), 404, "NotFound",
        'namespaces "no-such-ns" not found')
    api_error(lambda: ctx.core.delete_namespaced_config_map("missing", ns), 404, "NotFound")

    ctx.core.create_namespaced_config_map(ns, client.V1ConfigMap(metadata=M(name="dup")))
    st = api_error(lambda: ctx.core.create_namespaced_config_map(ns, client.V1ConfigMap(metadata=M(name="dup"))),
                   409, "AlreadyExists", 'configmaps "dup" already exists')
    eq(st.get("details"), {"name": "dup", "kind": "configmaps"}, "details of AlreadyExists")

    cur = ctx.core.read_namespaced_config_map("dup", ns)
    stale = ctx.core.read_namespaced_config_map("dup", ns)
    cur.data = {"k": "1"}
    ctx.core.replace_namespaced_config_map("dup", ns, cur)
    stale.data = {"k": "2"}
    st = api_error(lambda: ctx.core.replace_namespaced_config_map("dup", ns, stale), 409, "Conflict",
                   'Operation cannot be fulfilled on configmaps "dup": the object has been modified; '
                   'please apply your changes to the latest version and try again')
    eq(st["details"].get("name"), "dup", "details.name of a Conflict")
    eq(ctx.core.read_namespaced_config_map("dup", ns).data, {"k": "1"}, "data after the refused update")
    # A delete with a stale resourceVersion precondition: 409 too.
    api_error(lambda: ctx.core.delete_namespaced_config_map(
        "dup", ns, body=client.V1DeleteOptions(preconditions=client.V1Preconditions(
            resource_version=stale.metadata.resource_version))), 409, "Conflict")

    st = api_error(lambda: ctx.core.create_namespaced_config_map(ns, client.V1ConfigMap(metadata=M(name="Bad_Name"))),
                   422, "Invalid")
    eq(st["details"].get("name"), "Bad_Name", "details.name of a 422")
    eq(st["details"].get("kind"), "ConfigMap", "details.kind of a 422")
    causes = st["details"].get("causes", [])
    eq([(c.get("reason"), c.get("field")) for c in causes], [("FieldValueInvalid", "metadata.name")],
       "causes of a 422")
    check(st["message"].startswith('ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": '
                                   'a lowercase RFC 1123 subdomain must consist of'), "message: %s" % st["message"])
    # Two invalid fields: two causes.
    st = api_error(lambda: ctx.core.create_namespaced_config_map(
        ns, client.V1ConfigMap(metadata=M(name="ok", labels={"bad key!": "v"}), data={"bad key!": "v"})),
        422, "Invalid")
    eq(sorted(c.get("field") for c in st["details"]["causes"]), ["data[bad key!]", "metadata.labels"],
       "fields of two causes")


@case
def more_errors_and_options(ctx):
    ns = ctx.namespace()
    api_error(lambda: ctx.core.read_namespaced_config_map("x", "no-such-ns"), 404, "NotFound",
              'configmaps "x" not found')
    st = api_error(lambda: ctx.core.create_namespace(client.V1Namespace(metadata=M(name="Bad"))), 422, "Invalid")
    check(st["message"].startswith('Namespace "Bad" is invalid: metadata.name: Invalid value: "Bad": '
                                   'a lowercase RFC 1123 label must consist of'), "message: %s" % st["message"])
    api_error(lambda: ctx.core.delete_namespace("default"), 403, "Forbidden",
              'namespaces "default" is forbidden: this namespace may not be deleted')
    # PUT of a configmap that does not exist: 404 (configmaps are not created on update).
    api_error(lambda: ctx.core.replace_namespaced_config_map(
        "missing", ns, client.V1ConfigMap(metadata=M(name="missing"))), 404, "NotFound")
    api_error(lambda: ctx.core.replace_namespaced_config_map(
        "other", ns, client.V1ConfigMap(metadata=M(name="x"))), 400, "BadRequest",
        "the name of the object (x) does not match the name on the URL (other)")
    api_error(lambda: ctx.apps.read_namespaced_deployment_scale("nope", ns), 404, "NotFound",
              'deployments.apps "nope" not found')
    # generateName, and a dry run that stores nothing.
    made = ctx.core.create_namespaced_config_map(ns, client.V1ConfigMap(metadata=M(generate_name="gen-")))
    check(made.metadata.name.startswith("gen-") and len(made.metadata.name) == 9, "name %r" % made.metadata.name)
    dry = ctx.core.create_namespaced_config_map(ns, client.V1ConfigMap(metadata=M(name="dry")), dry_run="All")
    eq(dry.metadata.name, "dry", "name of a dry-run create")
    api_error(lambda: ctx.core.read_namespaced_config_map("dry", ns), 404, "NotFound")
    # Status of a deployment through its subresource.
    ctx.apps.create_namespaced_deployment(ns, deployment("st"))
    ctx.apps.patch_namespaced_deployment_status("st", ns, {"status": {"replicas": 2, "observedGeneration": 1}})
    got = ctx.apps.read_namespaced_deployment_status("st", ns)
    eq((got.status.replicas, got.status.observed_generation), (2, 1), "status written through /status")


MULTI_DOC = """\
apiVersion: v1
kind: Namespace
metadata:
  name: from-yaml
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: from-yaml
data:
  color: blue
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: from-yaml
spec:
  selector:
    app: web
  ports:
  - port: 80
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: from-yaml
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: nginx:1.25
"""

LIST_DOC = """\
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: listed
  data:
    k: v
- apiVersion: v1
  kind: Secret
  metadata:
    name: listed
  stringData:
    token: abc
- apiVersion: apps/v1
  kind: Deployment
  metadata:
    name: listed
  spec:
    selector:
      matchLabels: {app: listed}
    template:
      metadata:
        labels: {app: listed}
      spec:
        containers:
        - name: c
          image: busybox:1.36
"""


@case
def create_from_yaml_multi_document(ctx):
    path = os.path.join(ctx.server.dir, "multi.yaml")
    with open(path, "w") as f:
        f.write(MULTI_DOC)
    created = utils.create_from_yaml(ctx.api, path)
    kinds = [o.kind for group in created for o in group]
    eq(kinds, ["Namespace", "ConfigMap", "Service", "Deployment"], "kinds created")
    eq(ctx.core.read_namespaced_config_map("settings", "from-yaml").data, {"color": "blue"}, "configmap data")
    svc = ctx.core.read_namespaced_service("web", "from-yaml")
    check(ipaddress.ip_address(svc.spec.cluster_ip) in SERVICE_CIDR, "clusterIP %r" % svc.spec.cluster_ip)
    eq(ctx.apps.read_namespaced_deployment("web", "from-yaml").spec.replicas, 2, "deployment replicas")
    # Again: every object fails with 409 AlreadyExists.
    try:
        utils.create_from_yaml(ctx.api, path)
        raise AssertionError("creating the same objects again succeeded")
    except utils.FailToCreateError as e:
        eq([x.status for x in e.api_exceptions], [409] * 4, "statuses of the second create")
        eq([json.loads(x.body)["reason"] for x in e.api_exceptions], ["AlreadyExists"] * 4, "reasons")


@case
def create_from_yaml_list(ctx):
    ns = ctx.namespace()
    path = os.path.join(ctx.server.dir, "list.yaml")
    with open(path, "w") as f:
        f.write(LIST_DOC)
    created = utils.create_from_yaml(ctx.api, path, namespace=ns)
    eq([o.kind for group in created for o in group], ["ConfigMap", "Secret", "Deployment"], "kinds created")
    eq(ctx.core.read_namespaced_config_map("listed", ns).data, {"k": "v"}, "configmap data")
    eq(ctx.core.read_namespaced_secret("listed", ns).data, {"token": b64("abc")}, "secret data")
    eq(ctx.apps.read_namespaced_deployment("listed", ns).metadata.namespace, ns, "deployment namespace")
    # A typed list (ConfigMapList) takes its items' kind from the list's.
    utils.create_from_dict(ctx.api, {"apiVersion": "v1", "kind": "ConfigMapList", "items": [
        {"metadata": {"name": "typed-1"}}, {"metadata": {"name": "typed-2"}}]}, namespace=ns)
    names = [c.metadata.name for c in ctx.core.list_namespaced_config_map(ns).items]
    eq(names, ["listed", "typed-1", "typed-2"], "configmaps after the typed list")


# ---------------------------------------------------------------------------------------------


def main():
    if len(sys.argv) < 2:
        print("usage: %s KEELSON_BINARY [CASE...]" % sys.argv[0])
        return 2
    binary = sys.argv[1]
    only = set(sys.argv[2:])
    if not os.access(binary, os.X_OK):
        print("FAIL: %s is not an executable keelson binary" % binary)
        print("0 passed, 1 failed")
        return 1
    server = Server(binary)

    def on_signal(signum, frame):
        server.stop()
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    passed = failed = 0
    try:
        server.start()
        ctx = Ctx(server)
        print("python kubernetes client %s against keelson on port %d" % (
            __import__("kubernetes").__version__, server.port))
        for fn in CASES:
            if only and fn.__name__ not in only:
                continue
            del _mismatches[:]
            try:
                fn(ctx)
            except Exception as e:
                frames = [f for f in traceback.extract_tb(e.__traceback__)
                          if f.filename == __file__ and f.name not in ("eq", "check", "api_error", "raw")]
                where = frames[-1] if frames else traceback.extract_tb(e.__traceback__)[-1]
                detail = str(e) if isinstance(e, AssertionError) else "%s: %s" % (type(e).__name__, e)
                _mismatches.append("%s (line %d)" % (detail.replace("\n", " | "), where.lineno))
            if _mismatches:
                failed += 1
                print("FAIL %s: %s" % (fn.__name__, "; ".join(_mismatches)), flush=True)
            else:
                passed += 1
                print("ok   %s" % fn.__name__, flush=True)
        if failed:
            print("--- server log (tail) ---\n" + server.log_tail())
    except Exception as e:
        failed += 1
        print("FAIL setup: %s" % e)
    finally:
        server.stop()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
