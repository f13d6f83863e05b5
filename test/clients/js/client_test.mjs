// The official JavaScript Kubernetes client (@kubernetes/client-node, the version pinned in
// package.json) against a real `keelson server`: typed CRUD of namespaces, configmaps, secrets,
// services and deployments, the patch types, selectors, pagination, Watch, makeInformer (list
// and watch), KubernetesObjectApi on generic objects, and errors. Every assertion states what
// upstream Kubernetes answers.
//
// Usage: node client_test.mjs KEELSON_BINARY [CASE...]
// Prints one line per case ("ok NAME" or "FAIL NAME: why") and ends with
// "N passed, N failed"; exits 1 if any case failed.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let k8s;
try {
  k8s = await import('@kubernetes/client-node');
} catch (e) {
  // CI installs it (the clients_js_npm_ci fixture): a missing client is a failure.
  console.log(`FAIL: @kubernetes/client-node cannot be imported (${e.message}). Run \`npm ci\` in ` +
              `${path.dirname(fileURLToPath(import.meta.url))} (ctest's clients_js_npm_ci does).`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}

// ---------------------------------------------------------------------------------------------
// The server

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

class Server {
  constructor(binary) {
    this.binary = path.resolve(binary);
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keelson-jsclient-'));
    this.log = path.join(this.dir, 'server.log');
  }

  async start() {
    this.port = await freePort();
    // The shell keeps the server while its standard input (a pipe from this process) is open:
    // when this process ends, however it ends, the pipe closes and the server is stopped.
    const script = '"$0" server --data-dir "$1" --port "$2" --disable-agent >"$3" 2>&1 </dev/null & pid=$!; ' +
                   'read _ || true; kill $pid 2>/dev/null; wait $pid';
    this.proc = spawn('/bin/sh', ['-c', script, this.binary, path.join(this.dir, 'data'),
                                  String(this.port), this.log], { stdio: ['pipe', 'ignore', 'inherit'] });
    this.exited = new Promise((r) => this.proc.on('exit', r));
    const deadline = Date.now() + 30000;
    while (Date.now() < deadline) {
      const text = fs.existsSync(this.log) ? fs.readFileSync(this.log, 'utf8') : '';
      if (text.includes('kubeconfig written to')) return;
      if (this.proc.exitCode !== null) throw new Error(`keelson server exited:\n${text}`);
      await sleep(20);
    }
    throw new Error(`keelson server did not start in 30 s:\n${this.logTail()}`);
  }

  get kubeconfig() { return path.join(this.dir, 'data', 'kubeconfig.yaml'); }

  logTail() {
    try { return fs.readFileSync(this.log, 'utf8').slice(-3000); } catch { return ''; }
  }

  async stop() {
    if (this.proc && this.proc.exitCode === null) {
      this.proc.stdin.end();
      await Promise.race([this.exited, sleep(10000)]);
      if (this.proc.exitCode === null) this.proc.kill('SIGKILL');
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers

// A failed check is recorded and the case goes on, so that one run shows every difference a
// case finds; the case fails at its end. Exceptions end a case at once.
let mismatches = [];

function where() {
  const line = new Error().stack.split('\n').find((l) => l.includes('client_test.mjs') &&
      !/at (eq|check|apiError|record|where) /.test(l));
  const m = line && line.match(/:(\d+):\d+\)?$/);
  return m ? ` (line ${m[1]})` : '';
}

function check(cond, what) {
  if (!cond) mismatches.push(what + where());
  return !!cond;
}

// JSON text with the keys of every object sorted (class instances as plain objects).
function canonical(v) {
  return JSON.stringify(v, (k, x) => (x && typeof x === 'object' && !Array.isArray(x) && !(x instanceof Date)
    ? Object.fromEntries(Object.keys(x).sort().map((key) => [key, x[key]])) : x));
}

function eq(got, want, what) {
  const g = canonical(got);
  const w = canonical(want);
  if (g !== w) {
    mismatches.push(`${what}: got ${g}, want ${w}${where()}`);
    return false;
  }
  return true;
}

// `promise` must reject with ApiException `code` and a metav1.Status body with `reason` (and
// `message`, if given). Returns the Status.
async function apiError(promise, code, reason, message) {
  let err;
  try {
    await promise;
  } catch (e) {
    err = e;
  }
  if (!err) throw new Error(`expected ApiException ${code} ${reason}, the call succeeded`);
  if (!(err instanceof k8s.ApiException)) throw err;
  const body = typeof err.body === 'string' ? JSON.parse(err.body) : err.body;
  eq(err.code, code, `HTTP status (body ${JSON.stringify(body)})`);
  if (!body || typeof body !== 'object') throw new Error(`error body is not a JSON object: ${err.body}`);
  eq(body.kind, 'Status', 'error body kind');
  eq(body.apiVersion, 'v1', 'error body apiVersion');
  eq(body.status, 'Failure', 'error body status');
  eq(body.code, code, 'error body code');
  eq(body.reason, reason, `error body reason (${body.message})`);
  check((err.headers['content-type'] || '').startsWith('application/json'),
        `error Content-Type ${err.headers['content-type']}`);
  if (message !== undefined) eq(body.message, message, 'error message');
  return body;
}

// Waits until `cond()` is true.
async function until(cond, what, ms = 10000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (cond()) return;
    await sleep(20);
  }
  throw new Error(`timed out waiting for ${what}`);
}

const b64 = (s) => Buffer.from(s).toString('base64');

// Options that set the patch Content-Type, and record the Content-Type each request goes out
// with (after every other middleware).
function patchAs(ctx, contentType) {
  const opts = contentType ? k8s.setHeaderOptions('Content-Type', contentType) : {
    middleware: [], middlewareMergeStrategy: 'append' };
  const base = k8s.setHeaderMiddleware('X-Keelson-Test', 'clients');
  opts.middleware = opts.middleware.concat({
    pre: (req) => {
      ctx.sent.push(req.getHeaders()['Content-Type']);
      return base.pre(req);
    },
    post: base.post,
  });
  return opts;
}

class Ctx {
  constructor(server) {
    this.server = server;
    // client-node 1.x refuses a plain-HTTP server unless its cluster says
    // insecure-skip-tls-verify (load_kubeconfig checks the file as written); the other cases
    // use the file's cluster with that flag set.
    this.written = new k8s.KubeConfig();
    this.written.loadFromFile(server.kubeconfig);
    this.kc = new k8s.KubeConfig();
    this.kc.loadFromOptions({
      clusters: this.written.clusters.map((c) => ({ ...c, skipTLSVerify: true })),
      users: this.written.users,
      contexts: this.written.contexts,
      currentContext: this.written.currentContext,
    });
    this.core = this.kc.makeApiClient(k8s.CoreV1Api);
    this.apps = this.kc.makeApiClient(k8s.AppsV1Api);
    this.objects = k8s.KubernetesObjectApi.makeApiClient(this.kc);
    this.sent = [];
    this.n = 0;
  }

  async namespace() {
    const name = `js-${++this.n}`;
    await this.core.createNamespace({ body: { metadata: { name } } });
    return name;
  }
}

// ---------------------------------------------------------------------------------------------
// Cases

const CASES = [];
const kase = (name, fn) => CASES.push({ name, fn });

kase('load_kubeconfig', async (ctx) => {
  // The kubeconfig as the server wrote it, unchanged.
  eq(ctx.written.getCurrentCluster().server, `http://127.0.0.1:${ctx.server.port}`, 'server of the kubeconfig');
  const v = await ctx.written.makeApiClient(k8s.VersionApi).getCode();
  eq(v.major, '1', 'version major');
  const names = (await ctx.written.makeApiClient(k8s.CoreV1Api).listNamespace()).items.map((n) => n.metadata.name);
  for (const want of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
    check(names.includes(want), `namespace ${want} missing from ${names}`);
  }
});

async function namespaceCrud(ctx, name, withTypeMeta) {
  const body = { metadata: { name, labels: { team: 'a' } } };
  if (withTypeMeta) Object.assign(body, { apiVersion: 'v1', kind: 'Namespace' });
  const created = await ctx.core.createNamespace({ body });
  eq(created.kind, 'Namespace', 'kind');
  eq(created.apiVersion, 'v1', 'apiVersion');
  check(created.metadata.uid, 'no uid');
  check(created.metadata.creationTimestamp instanceof Date, 'creationTimestamp is not a Date');
  eq(created.status.phase, 'Active', 'status.phase');
  eq(created.spec.finalizers, ['kubernetes'], 'spec.finalizers');

  const got = await ctx.core.readNamespace({ name });
  eq(got.metadata.uid, created.metadata.uid, 'uid read back');
  got.metadata.labels.team = 'b';
  if (!withTypeMeta) { delete got.apiVersion; delete got.kind; }
  const replaced = await ctx.core.replaceNamespace({ name, body: got });
  eq(replaced.metadata.labels.team, 'b', 'label after replace');
  check(Number(replaced.metadata.resourceVersion) > Number(got.metadata.resourceVersion),
        'resourceVersion did not grow');

  const patched = await ctx.core.patchNamespace(
    { name, body: { metadata: { labels: { extra: 'x' } } } },
    patchAs(ctx, k8s.PatchStrategy.StrategicMergePatch));
  eq(ctx.sent.at(-1), 'application/strategic-merge-patch+json', 'Content-Type sent');
  eq([patched.metadata.labels.team, patched.metadata.labels.extra], ['b', 'x'], 'labels after the patch');

  const answer = await ctx.core.deleteNamespace({ name });
  // The answer is the namespace itself (the client reads it as a V1Status). Upstream marks it
  // for deletion (Terminating) and its namespace controller removes it once emptied; keelson,
  // until its namespace controller runs, removes it and its content at once
  // (docs/apiserver.md). Either way a namespace still there must be Terminating, and it must go.
  eq(answer.kind, 'Namespace', 'kind of the delete answer');
  if (answer.metadata && answer.metadata.deletionTimestamp) {
    eq(answer.status && answer.status.phase, 'Terminating', 'phase in the delete answer');
  }
  const deadline = Date.now() + 30000;
  for (;;) {
    try {
      const after = await ctx.core.readNamespace({ name });
      eq(after.status.phase, 'Terminating', 'phase of a deleted namespace still present');
    } catch (e) {
      eq(e.code, 404, 'read after delete');
      break;
    }
    if (Date.now() > deadline) {
      check(false, 'the deleted namespace is still there after 30 s');
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

kase('namespace_crud_without_apiversion_kind', (ctx) => namespaceCrud(ctx, 'js-ns-bare', false));
kase('namespace_crud_with_apiversion_kind', (ctx) => namespaceCrud(ctx, 'js-ns-typed', true));

kase('configmap_crud_and_patch_types', async (ctx) => {
  const namespace = await ctx.namespace();
  const created = await ctx.core.createNamespacedConfigMap(
    { namespace, body: { metadata: { name: 'cfg' }, data: { a: '1', b: '2' } } });
  eq(created.kind, 'ConfigMap', 'kind');
  eq(created.data, { a: '1', b: '2' }, 'data');
  const got = await ctx.core.readNamespacedConfigMap({ name: 'cfg', namespace });
  got.data.a = '10';
  const replaced = await ctx.core.replaceNamespacedConfigMap({ name: 'cfg', namespace, body: got });
  eq(replaced.data.a, '10', 'data after replace');

  // Without a Content-Type option the client sends a JSON patch.
  const jp = await ctx.core.patchNamespacedConfigMap(
    { name: 'cfg', namespace, body: [{ op: 'add', path: '/data/c', value: '3' }] }, patchAs(ctx));
  eq(ctx.sent.at(-1), 'application/json-patch+json', 'default patch Content-Type');
  eq(jp.data, { a: '10', b: '2', c: '3' }, 'data after the JSON patch');

  const smp = await ctx.core.patchNamespacedConfigMap(
    { name: 'cfg', namespace, body: { data: { d: '4' } } }, patchAs(ctx, k8s.PatchStrategy.StrategicMergePatch));
  eq(ctx.sent.at(-1), 'application/strategic-merge-patch+json', 'Content-Type sent');
  eq(smp.data, { a: '10', b: '2', c: '3', d: '4' }, 'data after the strategic merge patch');

  const mp = await ctx.core.patchNamespacedConfigMap(
    { name: 'cfg', namespace, body: { data: { a: null, e: '5' } } }, patchAs(ctx, k8s.PatchStrategy.MergePatch));
  eq(ctx.sent.at(-1), 'application/merge-patch+json', 'Content-Type sent');
  eq(mp.data, { b: '2', c: '3', d: '4', e: '5' }, 'data after the merge patch');

  // An object sent as a JSON patch: 400 upstream (the body must be a list of operations).
  await apiError(ctx.core.patchNamespacedConfigMap({ name: 'cfg', namespace, body: { data: { x: '1' } } }),
                 400, 'BadRequest');

  const list = await ctx.core.listNamespacedConfigMap({ namespace });
  eq(list.items.map((c) => c.metadata.name), ['cfg'], 'names listed');
  eq(list.kind, 'ConfigMapList', 'list kind');

  const answer = await ctx.core.deleteNamespacedConfigMap({ name: 'cfg', namespace });
  // Upstream's generic store answers a Status for configmaps.
  eq(answer.kind, 'Status', 'kind of the delete answer');
  eq(answer.status, 'Success', 'status of the delete answer');
  eq(answer.details && answer.details.name, 'cfg', 'details.name');
  eq(answer.details && answer.details.uid, created.metadata.uid, 'details.uid');
  await apiError(ctx.core.readNamespacedConfigMap({ name: 'cfg', namespace }), 404, 'NotFound',
                 'configmaps "cfg" not found');
});

kase('secret_crud', async (ctx) => {
  const namespace = await ctx.namespace();
  const created = await ctx.core.createNamespacedSecret(
    { namespace, body: { metadata: { name: 'creds' }, stringData: { user: 'admin' } } });
  eq(created.type, 'Opaque', 'default type');
  eq(created.data, { user: b64('admin') }, 'stringData stored as data');
  eq(created.stringData, undefined, 'stringData in the answer');
  const patched = await ctx.core.patchNamespacedSecret(
    { name: 'creds', namespace, body: { data: { pass: b64('x') } } }, patchAs(ctx, k8s.PatchStrategy.MergePatch));
  eq(patched.data, { user: b64('admin'), pass: b64('x') }, 'data after the patch');
  patched.type = 'kubernetes.io/tls';
  const st = await apiError(ctx.core.replaceNamespacedSecret({ name: 'creds', namespace, body: patched }),
                            422, 'Invalid');
  check((st.details.causes || []).some((c) => c.field === 'type'), `causes: ${JSON.stringify(st.details)}`);
  const answer = await ctx.core.deleteNamespacedSecret({ name: 'creds', namespace });
  eq(answer.kind, 'Status', 'kind of the delete answer');
  await apiError(ctx.core.readNamespacedSecret({ name: 'creds', namespace }), 404, 'NotFound');
});

function inServiceCidr(ip) {
  const p = String(ip).split('.').map(Number);
  return p.length === 4 && p[0] === 10 && p[1] === 43 && p.every((x) => Number.isInteger(x) && x >= 0 && x <= 255);
}

kase('service_cluster_ip_and_node_port', async (ctx) => {
  const namespace = await ctx.namespace();
  const svc = await ctx.core.createNamespacedService({ namespace, body: {
    metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] } } });
  check(inServiceCidr(svc.spec.clusterIP), `clusterIP ${svc.spec.clusterIP} not in 10.43.0.0/16`);
  eq(svc.spec.clusterIPs, [svc.spec.clusterIP], 'clusterIPs');
  eq(svc.spec.type, 'ClusterIP', 'type');
  eq(svc.spec.ports[0].protocol, 'TCP', 'protocol');
  eq(svc.spec.ports[0].targetPort, 8080, 'targetPort');

  const np = await ctx.core.createNamespacedService({ namespace, body: {
    metadata: { name: 'np' }, spec: { type: 'NodePort', ports: [{ port: 80 }] } } });
  const port = np.spec.ports[0].nodePort;
  check(Number.isInteger(port) && port >= 30000 && port <= 32767, `nodePort ${port} not in 30000-32767`);
  check(inServiceCidr(np.spec.clusterIP) && np.spec.clusterIP !== svc.spec.clusterIP,
        `clusterIP ${np.spec.clusterIP} (the other is ${svc.spec.clusterIP})`);
  const st = await apiError(ctx.core.createNamespacedService({ namespace, body: {
    metadata: { name: 'np2' }, spec: { type: 'NodePort', ports: [{ port: 80, nodePort: port }] } } }),
  422, 'Invalid');
  check(st.details.causes.some((c) => c.field === 'spec.ports[0].nodePort'), `causes: ${JSON.stringify(st.details)}`);

  // Services answer a delete with the Service.
  const answer = await ctx.core.deleteNamespacedService({ name: 'np', namespace });
  eq(answer.kind, 'Service', 'kind of the delete answer');
  const again = await ctx.core.createNamespacedService({ namespace, body: {
    metadata: { name: 'np2' }, spec: { type: 'NodePort', ports: [{ port: 80, nodePort: port }] } } });
  eq(again.spec.ports[0].nodePort, port, 'nodePort reused after delete');
});

const deployment = (name, image = 'nginx:1.25') => ({
  metadata: { name },
  spec: {
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'web', image }] } },
  },
});

kase('deployment_crud', async (ctx) => {
  const namespace = await ctx.namespace();
  const created = await ctx.apps.createNamespacedDeployment({ namespace, body: deployment('web') });
  eq([created.apiVersion, created.kind], ['apps/v1', 'Deployment'], 'apiVersion and kind');
  eq(created.metadata.generation, 1, 'generation');
  eq([created.spec.replicas, created.spec.revisionHistoryLimit, created.spec.progressDeadlineSeconds],
     [1, 10, 600], 'defaults');
  eq(created.spec.strategy, { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
     'strategy');
  // Read, change, replace; again on a 409, as client-go's RetryOnConflict does: the server's
  // Deployment controller writes the status meanwhile.
  let replaced;
  for (let attempt = 0; ; attempt++) {
    const got = await ctx.apps.readNamespacedDeployment({ name: 'web', namespace });
    got.spec.template.spec.containers[0].image = 'nginx:1.26';
    try {
      replaced = await ctx.apps.replaceNamespacedDeployment({ name: 'web', namespace, body: got });
      break;
    } catch (e) {
      if (!(e instanceof k8s.ApiException) || e.code !== 409 || attempt >= 4) throw e;
    }
  }
  eq(replaced.metadata.generation, 2, 'generation after a spec change');

  const smp = await ctx.apps.patchNamespacedDeployment({ name: 'web', namespace, body: {
    spec: { template: { spec: { containers: [{ name: 'sidecar', image: 'busybox:1.36' }] } } } } },
  patchAs(ctx, k8s.PatchStrategy.StrategicMergePatch));
  eq(smp.spec.template.spec.containers.map((c) => c.name).sort(), ['sidecar', 'web'],
     'containers after the strategic merge patch');
  const mp = await ctx.apps.patchNamespacedDeployment({ name: 'web', namespace, body: {
    spec: { template: { spec: { containers: [{ name: 'only', image: 'busybox:1.36' }] } } } } },
  patchAs(ctx, k8s.PatchStrategy.MergePatch));
  eq(mp.spec.template.spec.containers.map((c) => c.name), ['only'], 'containers after the merge patch');

  await ctx.apps.patchNamespacedDeploymentScale({ name: 'web', namespace, body: { spec: { replicas: 4 } } },
    patchAs(ctx, k8s.PatchStrategy.MergePatch));
  const scale = await ctx.apps.readNamespacedDeploymentScale({ name: 'web', namespace });
  eq([scale.kind, scale.spec.replicas], ['Scale', 4], 'scale after patching it');

  const bad = deployment('bad');
  bad.spec.template.metadata.labels = { app: 'other' };
  const st = await apiError(ctx.apps.createNamespacedDeployment({ namespace, body: bad }), 422, 'Invalid');
  eq([st.details.group, st.details.kind], ['apps', 'Deployment'], 'details of a 422');

  const answer = await ctx.apps.deleteNamespacedDeployment({ name: 'web', namespace });
  eq(answer.kind, 'Status', 'kind of the delete answer');
  eq(answer.details && answer.details.kind, 'deployments', 'details.kind');
  await apiError(ctx.apps.readNamespacedDeployment({ name: 'web', namespace }), 404, 'NotFound',
                 'deployments.apps "web" not found');
});

kase('list_selectors_and_pagination', async (ctx) => {
  const namespace = await ctx.namespace();
  const labels = { a: { app: 'web', tier: 'fe' }, b: { app: 'web', tier: 'be' }, c: { app: 'db' }, d: undefined };
  for (const [name, l] of Object.entries(labels)) {
    await ctx.core.createNamespacedConfigMap({ namespace, body: { metadata: { name, labels: l } } });
  }
  const names = async (q) => (await ctx.core.listNamespacedConfigMap({ namespace, ...q })).items.map((c) => c.metadata.name);
  eq(await names({ labelSelector: 'app=web' }), ['a', 'b'], 'app=web');
  eq(await names({ labelSelector: 'app in (web,db),tier!=be' }), ['a', 'c'], 'app in (web,db),tier!=be');
  eq(await names({ labelSelector: '!app' }), ['d'], '!app');
  eq(await names({ fieldSelector: 'metadata.name=c' }), ['c'], 'metadata.name=c');
  eq(await names({ labelSelector: 'app', fieldSelector: 'metadata.name!=a' }), ['b', 'c'], 'label and field');

  const first = await ctx.core.listNamespacedConfigMap({ namespace, limit: 3 });
  eq(first.items.map((c) => c.metadata.name), ['a', 'b', 'c'], 'first page');
  check(first.metadata._continue, 'no continue token');
  eq(first.metadata.remainingItemCount, 1, 'remainingItemCount of the first page');
  const second = await ctx.core.listNamespacedConfigMap({ namespace, limit: 3, _continue: first.metadata._continue });
  eq(second.items.map((c) => c.metadata.name), ['d'], 'second page');
  check(!second.metadata._continue, `continue token on the last page: ${second.metadata._continue}`);
  await apiError(ctx.core.listNamespacedConfigMap({ namespace, fieldSelector: 'data.x=1' }), 400, 'BadRequest');
});

kase('watch_from_resource_version', async (ctx) => {
  const namespace = await ctx.namespace();
  const rv = (await ctx.core.listNamespacedConfigMap({ namespace })).metadata.resourceVersion;
  await ctx.core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'w' }, data: { v: '1' } } });
  await ctx.core.patchNamespacedConfigMap({ name: 'w', namespace, body: { data: { v: '2' } } },
    patchAs(ctx, k8s.PatchStrategy.MergePatch));
  await ctx.core.deleteNamespacedConfigMap({ name: 'w', namespace });
  const events = [];
  let doneErr;
  let done = false;
  const controller = await new k8s.Watch(ctx.kc).watch(`/api/v1/namespaces/${namespace}/configmaps`,
    { resourceVersion: rv, allowWatchBookmarks: true, timeoutSeconds: 10 },
    (type, obj) => events.push([type, obj.metadata && obj.metadata.name, obj.data && obj.data.v,
                                obj.metadata && obj.metadata.resourceVersion]),
    (err) => { done = true; doneErr = err; });
  let errBeforeAbort;
  try {
    await until(() => events.some((e) => e[0] === 'DELETED') || done, 'the DELETED event');
  } finally {
    errBeforeAbort = doneErr;
    controller.abort();
  }
  check(!errBeforeAbort, `watch ended early with ${errBeforeAbort}`);
  const changes = events.filter((e) => e[0] !== 'BOOKMARK');
  eq(changes.map((e) => e.slice(0, 3)), [['ADDED', 'w', '1'], ['MODIFIED', 'w', '2'], ['DELETED', 'w', '2']], 'events');
  const rvs = changes.map((e) => Number(e[3]));
  check(rvs.length === 3 && rvs[0] > Number(rv) && rvs[0] < rvs[1] && rvs[1] < rvs[2], `resourceVersions ${rvs}`);
});

kase('informer_list_and_watch', async (ctx) => {
  const namespace = await ctx.namespace();
  await ctx.core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'pre', labels: { app: 'x' } } } });
  await ctx.core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'other', labels: { app: 'y' } } } });
  const informer = k8s.makeInformer(ctx.kc, `/api/v1/namespaces/${namespace}/configmaps`,
    () => ctx.core.listNamespacedConfigMap({ namespace, labelSelector: 'app=x' }), 'app=x');
  const seen = [];
  const errors = [];
  informer.on('add', (o) => seen.push(['add', o.metadata.name, (o.data || {}).v]));
  informer.on('update', (o) => seen.push(['update', o.metadata.name, (o.data || {}).v]));
  informer.on('delete', (o) => seen.push(['delete', o.metadata.name, (o.data || {}).v]));
  informer.on('error', (e) => errors.push(String(e && e.message || e)));
  await informer.start();
  try {
    await until(() => seen.length >= 1, 'the listed object');
    eq(seen, [['add', 'pre', undefined]], 'events from the list');
    eq(informer.list().map((o) => o.metadata.name), ['pre'], 'cache after the list');
    await ctx.core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'live', labels: { app: 'x' } }, data: { v: '1' } } });
    await ctx.core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'skip', labels: { app: 'y' } } } });
    await ctx.core.patchNamespacedConfigMap({ name: 'live', namespace, body: { data: { v: '2' } } },
      patchAs(ctx, k8s.PatchStrategy.MergePatch));
    await ctx.core.deleteNamespacedConfigMap({ name: 'pre', namespace });
    await until(() => seen.some((e) => e[0] === 'delete'), 'the delete event');
    eq(seen, [['add', 'pre', undefined], ['add', 'live', '1'], ['update', 'live', '2'], ['delete', 'pre', undefined]],
       'informer events');
    eq(informer.list().map((o) => o.metadata.name), ['live'], 'cache after the changes');
    eq(informer.get('live', namespace).data, { v: '2' }, 'cached object');
    eq(errors, [], 'informer errors');
  } finally {
    await informer.stop();
  }
});

kase('kubernetes_object_api', async (ctx) => {
  const namespace = await ctx.namespace();
  const ref = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'gen', namespace } };
  const created = await ctx.objects.create({ ...ref, data: { a: '1' } });
  eq([created.kind, created.metadata.name, created.data], ['ConfigMap', 'gen', { a: '1' }], 'created');
  const read = await ctx.objects.read(ref);
  eq(read.metadata.uid, created.metadata.uid, 'uid read back');
  const list = await ctx.objects.list('v1', 'ConfigMap', namespace);
  eq(list.items.map((o) => o.metadata.name), ['gen'], 'list');
  read.data = { c: '3' };
  const replaced = await ctx.objects.replace(read);
  eq(replaced.data, { c: '3' }, 'data after replace with the read resourceVersion');
  await apiError(ctx.objects.replace(read), 409, 'Conflict');
  await apiError(ctx.objects.create({ ...ref, data: { a: '1' } }), 409, 'AlreadyExists');
  const status = await ctx.objects.delete(ref);
  eq(status.kind, 'Status', 'kind of the delete answer');
  await apiError(ctx.objects.read(ref), 404, 'NotFound');

  // A Deployment: patch defaults to a strategic merge patch (containers merge by name), a
  // merge patch replaces the list.
  const dep = { apiVersion: 'apps/v1', kind: 'Deployment', ...deployment('gen') };
  dep.metadata.namespace = namespace;
  await ctx.objects.create(dep);
  const depRef = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'gen', namespace } };
  const smp = await ctx.objects.patch({ ...depRef, spec: { template: { spec: {
    containers: [{ name: 'sidecar', image: 'busybox:1.36' }] } } } });
  eq(smp.spec.template.spec.containers.map((c) => c.name).sort(), ['sidecar', 'web'],
     'containers after KubernetesObjectApi.patch (strategic merge)');
  const mp = await ctx.objects.patch({ ...depRef, spec: { template: { spec: {
    containers: [{ name: 'only', image: 'busybox:1.36' }] } } } },
  undefined, undefined, undefined, undefined, k8s.PatchStrategy.MergePatch);
  eq(mp.spec.template.spec.containers.map((c) => c.name), ['only'], 'containers after a merge patch');
  await ctx.objects.delete(depRef);

  // Server-side apply, a conflicting apply by another manager, and a forced one.
  const applied = await ctx.objects.patch(dep, undefined, undefined, 'js-test', true, k8s.PatchStrategy.ServerSideApply);
  eq([applied.kind, applied.metadata.generation], ['Deployment', 1], 'applied');
  check((applied.metadata.managedFields || []).some((m) => m.manager === 'js-test' && m.operation === 'Apply'),
        `managedFields ${canonical(applied.metadata.managedFields)}`);
  const other = JSON.parse(JSON.stringify(dep));
  other.spec.template.spec.containers[0].image = 'nginx:1.27';
  await apiError(ctx.objects.patch(other, undefined, undefined, 'someone-else', undefined,
                                   k8s.PatchStrategy.ServerSideApply), 409, 'Conflict');
  const forced = await ctx.objects.patch(other, undefined, undefined, 'someone-else', true,
                                         k8s.PatchStrategy.ServerSideApply);
  eq(forced.spec.template.spec.containers[0].image, 'nginx:1.27', 'image after a forced apply');
});

kase('errors_are_status', async (ctx) => {
  const namespace = await ctx.namespace();
  const st = await apiError(ctx.core.readNamespacedConfigMap({ name: 'missing', namespace }), 404, 'NotFound',
                            'configmaps "missing" not found');
  eq(st.details, { name: 'missing', kind: 'configmaps' }, 'details of a 404');
  await apiError(ctx.core.createNamespacedConfigMap({ namespace: 'nope', body: { metadata: { name: 'x' } } }),
                 404, 'NotFound', 'namespaces "nope" not found');
  await ctx.core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'dup' } } });
  await apiError(ctx.core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'dup' } } }),
                 409, 'AlreadyExists', 'configmaps "dup" already exists');
  const stale = await ctx.core.readNamespacedConfigMap({ name: 'dup', namespace });
  await ctx.core.replaceNamespacedConfigMap({ name: 'dup', namespace, body: { ...stale, data: { k: '1' } } });
  await apiError(ctx.core.replaceNamespacedConfigMap({ name: 'dup', namespace, body: { ...stale, data: { k: '2' } } }),
                 409, 'Conflict', 'Operation cannot be fulfilled on configmaps "dup": the object has been modified; ' +
                 'please apply your changes to the latest version and try again');
  const inv = await apiError(ctx.core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'Bad_Name' } } }),
                             422, 'Invalid');
  eq((inv.details.causes || []).map((c) => [c.reason, c.field]), [['FieldValueInvalid', 'metadata.name']], 'causes');
});

// ---------------------------------------------------------------------------------------------

async function main() {
  const [binary, ...only] = process.argv.slice(2);
  if (!binary) {
    console.log('usage: node client_test.mjs KEELSON_BINARY [CASE...]');
    return 2;
  }
  try {
    fs.accessSync(binary, fs.constants.X_OK);
  } catch {
    console.log(`FAIL: ${binary} is not an executable keelson binary`);
    console.log('0 passed, 1 failed');
    return 1;
  }
  const server = new Server(binary);
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.on(sig, async () => { await server.stop(); process.exit(1); });
  }
  let passed = 0;
  let failed = 0;
  try {
    await server.start();
    const ctx = new Ctx(server);
    const version = JSON.parse(fs.readFileSync(new URL('./node_modules/@kubernetes/client-node/package.json',
                                                       import.meta.url))).version;
    console.log(`@kubernetes/client-node ${version} on node ${process.version} against keelson on port ${server.port}`);
    for (const { name, fn } of CASES) {
      if (only.length && !only.includes(name)) continue;
      mismatches = [];
      try {
        await Promise.race([fn(ctx), sleep(60000).then(() => { throw new Error('timed out after 60 s'); })]);
      } catch (e) {
        const msg = e instanceof k8s.ApiException ? `ApiException ${e.code}: ${JSON.stringify(e.body)}` : String(e && e.stack || e);
        mismatches.push(msg.split('\n').slice(0, 3).join(' | '));
      }
      if (mismatches.length) {
        failed++;
        console.log(`FAIL ${name}: ${mismatches.join('; ')}`);
      } else {
        passed++;
        console.log(`ok   ${name}`);
      }
    }
    if (failed) console.log(`--- server log (tail) ---\n${server.logTail()}`);
  } catch (e) {
    failed++;
    console.log(`FAIL setup: ${e && e.stack || e}`);
  } finally {
    await server.stop();
  }
  console.log(`${passed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}

process.exitCode = await main();
// Informers and keep-alive sockets may hold the event loop: end now.
process.exit(process.exitCode);
