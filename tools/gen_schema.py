#!/usr/bin/env python3
"""Writes src/api/schema.inc: the type declarations of every kind keelson serves and of every
type they reach (field names and JSON types, list semantics and merge keys, required fields,
protobuf field numbers), joined from two sets of upstream wire facts in ../shared/reference:
the OpenAPI v2 document and the protobuf wire facts of the API types.

Defaults and validation rules are declared by hand beside the types (src/api/defaults.cc,
src/api/validation.cc); this file only carries facts.

Run by hand when the served kinds change (the build never reads ../shared/reference):
    tools/gen_schema.py > src/api/schema.inc
"""
import glob
import json
import os

REF = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'shared', 'reference')

# The kinds keelson serves (and their lists), plus the kinds of the subresources and review
# APIs that kubectl posts, and the meta kinds every API server speaks.
CORE = ['Namespace', 'Pod', 'Node', 'Service', 'Endpoints', 'ConfigMap', 'Secret',
        'ServiceAccount', 'Event', 'ReplicationController', 'LimitRange', 'ResourceQuota',
        'PersistentVolume', 'PersistentVolumeClaim']
ROOTS = (['io.k8s.api.core.v1.' + k for k in CORE] +
         ['io.k8s.api.core.v1.' + k + 'List' for k in CORE] +
         ['io.k8s.api.core.v1.Binding'] +
         ['io.k8s.api.apps.v1.' + k + s
          for k in ['Deployment', 'ReplicaSet', 'DaemonSet', 'StatefulSet', 'ControllerRevision']
          for s in ['', 'List']] +
         ['io.k8s.api.batch.v1.' + k + s for k in ['Job', 'CronJob'] for s in ['', 'List']] +
         ['io.k8s.api.coordination.v1.Lease', 'io.k8s.api.coordination.v1.LeaseList',
          'io.k8s.api.discovery.v1.EndpointSlice', 'io.k8s.api.discovery.v1.EndpointSliceList',
          'io.k8s.api.events.v1.Event', 'io.k8s.api.events.v1.EventList',
          'io.k8s.api.policy.v1.PodDisruptionBudget', 'io.k8s.api.policy.v1.PodDisruptionBudgetList',
          'io.k8s.api.policy.v1.Eviction',
          'io.k8s.api.scheduling.v1.PriorityClass', 'io.k8s.api.scheduling.v1.PriorityClassList',
          'io.k8s.api.autoscaling.v1.Scale',
          'io.k8s.api.authentication.v1.TokenRequest',
          'io.k8s.api.authentication.v1.SelfSubjectReview',
          'io.k8s.api.authorization.v1.SelfSubjectAccessReview'] +
         ['io.k8s.api.rbac.v1.' + k + s
          for k in ['Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding']
          for s in ['', 'List']] +
         ['io.k8s.apimachinery.pkg.apis.meta.v1.' + k
          for k in ['Status', 'WatchEvent', 'DeleteOptions', 'APIResourceList']])

openapi = json.load(open(os.path.join(REF, 'kubernetes-openapi-v2.json')))['definitions']

proto = {}
for path in glob.glob(os.path.join(REF, 'proto', 'k8s.io', '**', 'generated.wire.json'),
                      recursive=True):
    d = json.load(open(path))
    pkg = d['package']
    names = set(d['messages'])

    def qualify(t, pkg=pkg, names=names):
        if t in ('string', 'bytes', 'bool', 'int32', 'int64', 'double', 'float'):
            return t
        if t.startswith('k8s.io.'):
            return t
        if t in names:
            return pkg + '.' + t
        return t
    for name, fields in d['messages'].items():
        out = []
        for f in fields:
            t = f['type']
            if t.startswith('map<'):
                k, v = t[4:-1].split(',')
                t = 'map<%s,%s>' % (qualify(k.strip()), qualify(v.strip()))
            else:
                t = qualify(t)
            out.append((f['name'], f['number'], t, f.get('label') or ''))
        proto[pkg + '.' + name] = out


def proto_name(defname):
    return 'k8s.io.' + defname[len('io.k8s.'):] if defname.startswith('io.k8s.') else ''


def ref_of(s):
    r = s.get('$ref', '')
    return r[len('#/definitions/'):] if r else ''


def shape(s):
    """(shape, elem, format) of a property schema."""
    if ref_of(s):
        return 'ref', ref_of(s), ''
    t = s.get('type', '')
    if t == 'array':
        e = s.get('items', {})
        es, ee, ef = shape(e)
        return 'array', (ee if es == 'ref' else es), ef
    if t == 'object':
        ap = s.get('additionalProperties')
        if isinstance(ap, dict):
            es, ee, ef = shape(ap)
            if es == 'array':  # map of string lists (e.g. extra in user info)
                return 'map', 'array:' + ee, ef
            return 'map', (ee if es == 'ref' else es), ef
        return 'object', '', ''
    return t, '', s.get('format', '')


def c(s):
    return '"' + s.replace('\\', '\\\\').replace('"', '\\"') + '"'


reach = []
seen = set()
stack = list(reversed(ROOTS))
while stack:
    n = stack.pop()
    if n in seen:
        continue
    seen.add(n)
    if n not in openapi:
        raise SystemExit('no definition ' + n)
    reach.append(n)
    for p in openapi[n].get('properties', {}).values():
        sh, el, _ = shape(p)
        el = el[len('array:'):] if el.startswith('array:') else el
        if el and el in openapi and el not in seen:
            stack.append(el)

print('// Generated by tools/gen_schema.py from the upstream wire facts; do not edit.')
print('// KEELSON_TYPE(name, json type, format, protobuf message, group/version/kind;..., map type)')
print('// KEELSON_FIELD(type, field, shape, element, format, number of the embedding protobuf')
print('//               field (0: none), protobuf number, protobuf type, protobuf label, required,')
print('//               list type, list map keys, patch strategy, patch merge key)')
for n in sorted(reach):
    d = openapi[n]
    gvks = ';'.join('%s/%s/%s' % (g['group'], g['version'], g['kind'])
                    for g in d.get('x-kubernetes-group-version-kind', []))
    pn = proto_name(n) if proto_name(n) in proto else ''
    print('KEELSON_TYPE(%s, %s, %s, %s, %s, %s)' % (
        c(n), c(d.get('type', '')), c(d.get('format', '')), c(pn), c(gvks),
        c(d.get('x-kubernetes-map-type', ''))))
for n in sorted(reach):
    d = openapi[n]
    pfields = proto.get(proto_name(n), [])
    by_name = {f[0]: f for f in pfields}
    by_lower = {f[0].lower(): f for f in pfields}
    props = d.get('properties', {})
    # Go structs embedded in a type (EphemeralContainerCommon, LocalObjectReference, ...) are
    # one message field on the wire and inline in JSON: their fields are found one level down.
    inline = {}
    for f in pfields:
        if f[0] not in props and f[0].lower() not in {p.lower() for p in props} \
                and f[2] in proto and f[3] != 'repeated':
            for g in proto[f[2]]:
                inline.setdefault(g[0], (f[1], g))
    required = set(d.get('required', []))
    for fname in sorted(d.get('properties', {})):
        p = d['properties'][fname]
        sh, el, fmt = shape(p)
        pf = by_name.get(fname) or by_lower.get(fname.lower())
        outer = 0
        if not pf and fname in inline:
            outer, pf = inline[fname]
        number, ptype, plabel = (pf[1], pf[2], pf[3]) if pf else (0, '', '')
        print('KEELSON_FIELD(%s, %s, %s, %s, %s, %d, %d, %s, %s, %s, %s, %s, %s, %s)' % (
            c(n), c(fname), c(sh), c(el), c(fmt), outer, number, c(ptype), c(plabel),
            'true' if fname in required else 'false',
            c(p.get('x-kubernetes-list-type', '')),
            c(','.join(p.get('x-kubernetes-list-map-keys', []))),
            c(p.get('x-kubernetes-patch-strategy', '')),
            c(p.get('x-kubernetes-patch-merge-key', ''))))
