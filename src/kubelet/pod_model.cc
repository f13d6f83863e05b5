#include "kubelet/pod_model.h"

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <map>
#include <set>

#include "api/quantity.h"
#include "common/base64.h"
#include "api/json_fields.h"

namespace keelson::kubelet {
namespace {

namespace json = boost::json;
using api::fields::Arr;
using api::fields::Bool;
using api::fields::Int;
using api::fields::Obj;
using api::fields::Str;

const json::object& Spec(const api::Object& pod) {
  static const json::object kEmpty;
  const auto* s = Obj(pod, "spec");
  return s != nullptr ? *s : kEmpty;
}

}  // namespace

std::map<std::string, std::string> ObjectData(const api::Object& obj, bool secret) {
  std::map<std::string, std::string> out;
  if (const auto* data = Obj(obj, "data")) {
    for (const auto& [k, v] : *data) {
      if (!v.is_string()) continue;
      if (secret) {
        auto decoded = Base64Decode(v.as_string());
        if (decoded.ok()) out[std::string(k)] = *decoded;
      } else {
        out[std::string(k)] = std::string(v.as_string());
      }
    }
  }
  if (const auto* data = secret ? Obj(obj, "stringData") : Obj(obj, "binaryData")) {
    for (const auto& [k, v] : *data) {
      if (!v.is_string()) continue;
      if (secret) {
        out[std::string(k)] = std::string(v.as_string());
      } else if (auto decoded = Base64Decode(v.as_string()); decoded.ok()) {
        out[std::string(k)] = *decoded;
      }
    }
  }
  return out;
}

Result<std::string> DownwardFieldValue(const api::Object& pod, const std::string& path,
                                       const std::string& pod_ip, const NodeFacts& node) {
  auto bracket = [&](std::string_view prefix) -> std::optional<std::string> {
    if (path.rfind(prefix, 0) != 0 || path.size() < prefix.size() + 4) return std::nullopt;
    std::string inner = path.substr(prefix.size());
    if (inner.front() != '[' || inner.back() != ']') return std::nullopt;
    inner = inner.substr(1, inner.size() - 2);
    if (inner.size() >= 2 && (inner.front() == '\'' || inner.front() == '"')) {
      inner = inner.substr(1, inner.size() - 2);
    }
    return inner;
  };
  if (auto key = bracket("metadata.labels")) {
    auto labels = api::GetLabels(pod);
    auto it = labels.find(*key);
    return it == labels.end() ? std::string() : it->second;
  }
  if (auto key = bracket("metadata.annotations")) {
    auto annotations = api::GetAnnotations(pod);
    auto it = annotations.find(*key);
    return it == annotations.end() ? std::string() : it->second;
  }
  auto all = [](const std::map<std::string, std::string, std::less<>>& m) {
    std::string out;
    for (const auto& [k, v] : m) {
      std::string quoted;
      for (char c : v) {
        if (c == '\n') {
          quoted += "\\n";
          continue;
        }
        if (c == '"' || c == '\\') quoted += '\\';
        quoted += c;
      }
      out += k + "=\"" + quoted + "\"\n";
    }
    return out;
  };
  if (path == "metadata.labels") return all(api::GetLabels(pod));
  if (path == "metadata.annotations") return all(api::GetAnnotations(pod));
  if (path == "metadata.name") return std::string(api::GetName(pod));
  if (path == "metadata.namespace") return std::string(api::GetNamespace(pod));
  if (path == "metadata.uid") return std::string(api::GetUid(pod));
  if (path == "spec.nodeName") return node.node_name;
  if (path == "spec.serviceAccountName") return Str(&Spec(pod), "serviceAccountName");
  if (path == "status.hostIP" || path == "status.hostIPs") return node.host_ip;
  if (path == "status.podIP" || path == "status.podIPs") return pod_ip;
  return InvalidArgumentError("unsupported fieldRef " + path);
}

// limits.cpu etc., divided by the divisor, rounded up.
Result<std::string> DownwardResourceValue(const json::object& container, const json::object& ref,
                                          const NodeFacts& node) {
  std::string resource = Str(&ref, "resource");
  std::string divisor = Str(&ref, "divisor");
  const json::object* resources = Obj(container, "resources");
  const json::object* limits = resources ? Obj(*resources, "limits") : nullptr;
  const json::object* requests = resources ? Obj(*resources, "requests") : nullptr;
  auto dot = resource.find('.');
  if (dot == std::string::npos) return InvalidArgumentError("resourceFieldRef " + resource);
  std::string kind = resource.substr(0, dot), name = resource.substr(dot + 1);
  std::string value = Str(kind == "limits" ? limits : requests, name);
  bool cpu = name == "cpu";
  if (value.empty()) {
    if (kind == "limits") {
      // Without a limit, the node's allocatable is the limit.
      value = cpu ? std::to_string(node.allocatable_milli_cpu) + "m"
                  : std::to_string(node.allocatable_memory);
    } else if (kind == "requests" && limits != nullptr && !Str(limits, name).empty()) {
      value = Str(limits, name);
    } else {
      value = "0";
    }
  }
  auto nanos = api::QuantityNanos(value);
  auto div = api::QuantityNanos(divisor.empty() ? "1" : divisor);
  if (!nanos || !div || *div <= 0) return InvalidArgumentError("resourceFieldRef " + resource);
  __int128 q = (*nanos + *div - 1) / *div;
  if (cpu && q == 0 && *nanos > 0) q = 1;
  return std::to_string(static_cast<int64_t>(q));
}

namespace {

std::vector<std::string> Strings(const json::array* a) {
  std::vector<std::string> out;
  if (a == nullptr) return out;
  for (const auto& v : *a) {
    if (v.is_string()) out.emplace_back(v.as_string());
  }
  return out;
}

}  // namespace

std::optional<int64_t> MilliCpu(const std::string& quantity) {
  if (quantity.empty()) return std::nullopt;
  auto nanos = api::QuantityNanos(quantity);
  if (!nanos) return std::nullopt;
  return static_cast<int64_t>((*nanos + 999999) / 1000000);
}

std::optional<int64_t> Bytes(const std::string& quantity) {
  if (quantity.empty()) return std::nullopt;
  auto nanos = api::QuantityNanos(quantity);
  if (!nanos) return std::nullopt;
  return static_cast<int64_t>((*nanos + 999999999) / 1000000000);
}

std::string ImageRegistry(const std::string& image) {
  auto slash = image.find('/');
  if (slash == std::string::npos) return "docker.io";
  std::string first = image.substr(0, slash);
  if (first.find('.') == std::string::npos && first.find(':') == std::string::npos &&
      first != "localhost") {
    return "docker.io";
  }
  return first;
}

std::optional<v1::AuthConfig> PullAuth(const std::string& image,
                                       const std::vector<api::Object>& secrets) {
  const std::string want = ImageRegistry(image);
  // "https://index.docker.io/v1/" → "index.docker.io"; docker.io and index.docker.io are one.
  auto host_of = [](std::string key) {
    if (auto p = key.find("://"); p != std::string::npos) key = key.substr(p + 3);
    key = key.substr(0, key.find('/'));
    if (key == "index.docker.io" || key == "registry-1.docker.io") key = "docker.io";
    return key;
  };
  for (const auto& secret : secrets) {
    auto data = ObjectData(secret, true);
    const json::object* auths = nullptr;
    json::value doc;
    if (auto it = data.find(".dockerconfigjson"); it != data.end()) {
      boost::system::error_code ec;
      doc = json::parse(it->second, ec);
      if (ec || !doc.is_object()) continue;
      auths = Obj(doc.as_object(), "auths");
    } else if (auto it = data.find(".dockercfg"); it != data.end()) {
      boost::system::error_code ec;
      doc = json::parse(it->second, ec);
      if (ec || !doc.is_object()) continue;
      auths = &doc.as_object();
    }
    if (auths == nullptr) continue;
    for (const auto& [key, entry] : *auths) {
      if (!entry.is_object() || host_of(std::string(key)) != want) continue;
      const json::object& e = entry.as_object();
      // No server_address, as upstream's keyring leaves it: containerd parses it as a URL and
      // drops the credentials when its host differs from the registry it contacts, so a
      // "host:port" key, or "https://index.docker.io/v1/" for docker.io's
      // registry-1.docker.io, would send none.
      v1::AuthConfig a;
      a.set_username(Str(&e, "username"));
      a.set_password(Str(&e, "password"));
      a.set_auth(Str(&e, "auth"));
      a.set_identity_token(Str(&e, "identitytoken"));
      a.set_registry_token(Str(&e, "registrytoken"));
      if (a.username().empty() && !a.auth().empty()) {
        // auth is base64 of "user:password".
        if (auto decoded = Base64Decode(a.auth()); decoded.ok()) {
          auto colon = decoded->find(':');
          if (colon != std::string::npos) {
            a.set_username(decoded->substr(0, colon));
            a.set_password(decoded->substr(colon + 1));
          }
        }
      }
      return a;
    }
  }
  return std::nullopt;
}

std::vector<size_t> RankForEviction(const std::vector<EvictionCandidate>& pods) {
  std::vector<size_t> order(pods.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const auto& x = pods[a];
    const auto& y = pods[b];
    bool xo = x.usage > x.request, yo = y.usage > y.request;
    if (xo != yo) return xo;
    if (x.priority != y.priority) return x.priority < y.priority;
    return x.usage - x.request > y.usage - y.request;
  });
  return order;
}

std::string NanosToTime(int64_t nanos) {
  if (nanos <= 0) return "";
  return api::FormatTime(std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::nanoseconds(nanos))));
}

std::string PodHostname(const api::Object& pod) {
  std::string hostname = Str(&Spec(pod), "hostname");
  if (hostname.empty()) hostname = std::string(api::GetName(pod));
  if (hostname.size() > 63) {
    hostname.resize(63);
    while (!hostname.empty() && (hostname.back() == '-' || hostname.back() == '.')) {
      hostname.pop_back();
    }
  }
  return hostname;
}

std::string ManagedHostsFile(const api::Object& pod, const std::vector<std::string>& pod_ips,
                             const NodeFacts& node, std::string_view node_hosts) {
  const json::object& spec = Spec(pod);
  std::string out;
  if (Bool(&spec, "hostNetwork")) {
    out = "# Kubernetes-managed hosts file (host network).\n";
    out += node_hosts;
  } else {
    out =
        "# Kubernetes-managed hosts file.\n"
        "127.0.0.1\tlocalhost\n"
        "::1\tlocalhost ip6-localhost ip6-loopback\n"
        "fe00::0\tip6-localnet\n"
        "fe00::0\tip6-mcastprefix\n"
        "fe00::1\tip6-allnodes\n"
        "fe00::2\tip6-allrouters\n";
    const std::string hostname = PodHostname(pod);
    const std::string subdomain = Str(&spec, "subdomain");
    for (const auto& ip : pod_ips) {
      out += ip + "\t";
      if (!subdomain.empty()) {
        out += hostname + "." + subdomain + "." + std::string(api::GetNamespace(pod)) + ".svc." +
               node.cluster_domain + "\t";
      }
      out += hostname + "\n";
    }
  }
  if (const auto* aliases = Arr(spec, "hostAliases"); aliases && !aliases->empty()) {
    out += "\n# Entries added by HostAliases.\n";
    for (const auto& a : *aliases) {
      if (!a.is_object()) continue;
      out += Str(&a.as_object(), "ip");
      const auto names = Strings(Arr(a.as_object(), "hostnames"));
      if (names.empty()) out += "\t";
      for (const auto& n : names) out += "\t" + n;
      out += "\n";
    }
  }
  return out;
}

bool MountsOwnEtcHosts(const json::object& container) {
  if (const auto* mounts = Arr(container, "volumeMounts")) {
    for (const auto& m : *mounts) {
      if (m.is_object() && Str(&m.as_object(), "mountPath") == "/etc/hosts") return true;
    }
  }
  return false;
}

Result<std::string> ExpandSubPathExpr(const std::string& expr, const EnvList& env) {
  std::set<std::string> missing;
  for (size_t i = 0; i + 1 < expr.size(); ++i) {
    if (expr[i] != '$') continue;
    if (expr[i + 1] == '$') {
      ++i;
      continue;
    }
    if (expr[i + 1] != '(') continue;
    auto close = expr.find(')', i + 2);
    if (close == std::string::npos) break;
    std::string name = expr.substr(i + 2, close - i - 2);
    auto it =
        std::find_if(env.rbegin(), env.rend(), [&](const auto& kv) { return kv.first == name; });
    if (it == env.rend() || it->second.empty()) missing.insert(name);
    i = close;
  }
  if (!missing.empty()) {
    std::string names;
    for (const auto& n : missing) names += (names.empty() ? "" : ", ") + n;
    return InvalidArgumentError("missing value for " + names);
  }
  return ExpandVars(expr, env);
}

std::string ExpandVars(const std::string& text, const EnvList& env) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '$' || i + 1 >= text.size()) {
      out += text[i];
      continue;
    }
    if (text[i + 1] == '$') {  // $$ → $
      out += '$';
      ++i;
      continue;
    }
    if (text[i + 1] == '(') {
      auto close = text.find(')', i + 2);
      if (close != std::string::npos) {
        std::string name = text.substr(i + 2, close - i - 2);
        auto it = std::find_if(env.rbegin(), env.rend(),
                               [&](const auto& kv) { return kv.first == name; });
        if (it != env.rend()) {
          out += it->second;
          i = close;
          continue;
        }
        out += text.substr(i, close - i + 1);  // undefined: left as written
        i = close;
        continue;
      }
    }
    out += '$';
  }
  return out;
}

namespace {

std::string EnvName(std::string_view name) {
  std::string out;
  for (char c : name) {
    out += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

}  // namespace

EnvList ServiceEnv(const std::vector<const api::Object*>& services) {
  EnvList env;
  for (const api::Object* svc : services) {
    const auto* spec = Obj(*svc, "spec");
    std::string ip = Str(spec, "clusterIP");
    if (ip.empty() || ip == "None") continue;
    const std::string name = EnvName(api::GetName(*svc));
    const auto* ports = spec != nullptr ? Arr(*spec, "ports") : nullptr;
    env.emplace_back(name + "_SERVICE_HOST", ip);
    if (ports == nullptr || ports->empty() || !(*ports)[0].is_object()) continue;
    env.emplace_back(name + "_SERVICE_PORT",
                     std::to_string(Int(&(*ports)[0].as_object(), "port").value_or(0)));
    for (const auto& p : *ports) {
      if (!p.is_object()) continue;
      std::string port_name = Str(p.as_object(), "name");
      if (port_name.empty()) continue;
      env.emplace_back(name + "_SERVICE_PORT_" + EnvName(port_name),
                       std::to_string(Int(&p.as_object(), "port").value_or(0)));
    }
    bool first = true;
    for (const auto& p : *ports) {
      if (!p.is_object()) continue;
      std::string proto = Str(p.as_object(), "protocol");
      if (proto.empty()) proto = "TCP";
      std::string lower;
      for (char c : proto) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string port = std::to_string(Int(&p.as_object(), "port").value_or(0));
      std::string url = lower + "://" + ip + ":" + port;
      if (first) env.emplace_back(name + "_PORT", url);
      first = false;
      std::string prefix = name + "_PORT_" + port + "_" + proto;
      env.emplace_back(prefix, url);
      env.emplace_back(prefix + "_PROTO", lower);
      env.emplace_back(prefix + "_PORT", port);
      env.emplace_back(prefix + "_ADDR", ip);
    }
  }
  return env;
}

Result<EnvList> ResolveEnv(const api::Object& pod, const json::object& container,
                           const std::string& pod_ip, const NodeFacts& node, ObjectSource* source) {
  EnvList env;
  const std::string ns(api::GetNamespace(pod));
  // The Services' variables come first, so the container's own override them and $(VAR) can
  // name them. As upstream: the pod's namespace's Services unless enableServiceLinks is false,
  // and always the `kubernetes` Service of `default` (unless the namespace has its own).
  {
    const auto* spec = Obj(pod, "spec");
    const auto* links_v = spec != nullptr ? spec->if_contains("enableServiceLinks") : nullptr;
    const bool links = links_v == nullptr || !links_v->is_bool() || links_v->as_bool();
    std::vector<api::Object> own, def;
    if (links) {
      auto r = source->Services(ns);
      if (!r.ok()) return r.status();
      own = std::move(*r);
    }
    if (ns != "default" || !links) {
      auto r = source->Services("default");
      if (!r.ok()) return r.status();
      def = std::move(*r);
    }
    std::map<std::string, const api::Object*> chosen;
    for (const auto& s : own) chosen[std::string(api::GetName(s))] = &s;
    for (const auto& s : def) {
      if (api::GetName(s) == "kubernetes" && !chosen.contains("kubernetes")) chosen["kubernetes"] = &s;
    }
    std::vector<const api::Object*> list;
    for (const auto& [n, s] : chosen) list.push_back(s);
    env = ServiceEnv(list);
  }
  auto set = [&](std::string name, std::string value) {
    for (auto& kv : env) {
      if (kv.first == name) {
        kv.second = std::move(value);
        return;
      }
    }
    env.emplace_back(std::move(name), std::move(value));
  };
  if (const auto* from = Arr(container, "envFrom")) {
    for (const auto& f : *from) {
      if (!f.is_object()) continue;
      const auto& fo = f.as_object();
      std::string prefix = Str(&fo, "prefix");
      bool secret = Obj(fo, "secretRef") != nullptr;
      const json::object* ref = secret ? Obj(fo, "secretRef") : Obj(fo, "configMapRef");
      if (ref == nullptr) continue;
      std::string name = Str(ref, "name");
      auto obj = secret ? source->Secret(ns, name) : source->ConfigMap(ns, name);
      if (!obj.ok()) {
        if (obj.status().code() == StatusCode::kNotFound && Bool(ref, "optional")) continue;
        if (obj.status().code() == StatusCode::kNotFound) {
          return NotFoundError((secret ? "secret \"" : "configmap \"") + name + "\" not found");
        }
        return obj.status();
      }
      for (auto& [k, v] : ObjectData(*obj, secret)) set(prefix + k, v);
    }
  }
  if (const auto* list = Arr(container, "env")) {
    for (const auto& e : *list) {
      if (!e.is_object()) continue;
      const auto& eo = e.as_object();
      std::string name = Str(&eo, "name");
      const json::object* from = Obj(eo, "valueFrom");
      if (from == nullptr) {
        set(name, ExpandVars(Str(&eo, "value"), env));
        continue;
      }
      if (const auto* f = Obj(*from, "fieldRef")) {
        auto v = DownwardFieldValue(pod, Str(f, "fieldPath"), pod_ip, node);
        if (!v.ok()) return v.status();
        set(name, *v);
      } else if (const auto* r = Obj(*from, "resourceFieldRef")) {
        auto v = DownwardResourceValue(container, *r, node);
        if (!v.ok()) return v.status();
        set(name, *v);
      } else if (const auto* c = Obj(*from, "configMapKeyRef")) {
        std::string cm = Str(c, "name"), key = Str(c, "key");
        auto obj = source->ConfigMap(ns, cm);
        if (!obj.ok()) {
          if (obj.status().code() != StatusCode::kNotFound) return obj.status();
          if (Bool(c, "optional")) continue;
          return NotFoundError("configmap \"" + cm + "\" not found");
        }
        auto data = ObjectData(*obj, false);
        auto it = data.find(key);
        if (it == data.end()) {
          if (Bool(c, "optional")) continue;
          return NotFoundError("couldn't find key " + key + " in ConfigMap " + ns + "/" + cm);
        }
        set(name, it->second);
      } else if (const auto* s = Obj(*from, "secretKeyRef")) {
        std::string sn = Str(s, "name"), key = Str(s, "key");
        auto obj = source->Secret(ns, sn);
        if (!obj.ok()) {
          if (obj.status().code() != StatusCode::kNotFound) return obj.status();
          if (Bool(s, "optional")) continue;
          return NotFoundError("secret \"" + sn + "\" not found");
        }
        auto data = ObjectData(*obj, true);
        auto it = data.find(key);
        if (it == data.end()) {
          if (Bool(s, "optional")) continue;
          return NotFoundError("couldn't find key " + key + " in Secret " + ns + "/" + sn);
        }
        set(name, it->second);
      }
    }
  }
  return env;
}

v1::PodSandboxConfig SandboxConfig(const api::Object& pod, const NodeFacts& node,
                                   uint32_t attempt) {
  const json::object& spec = Spec(pod);
  const std::string name(api::GetName(pod)), ns(api::GetNamespace(pod)), uid(api::GetUid(pod));
  const bool host_network = Bool(&spec, "hostNetwork");
  v1::PodSandboxConfig c;
  auto* md = c.mutable_metadata();
  md->set_name(name);
  md->set_namespace_(ns);
  md->set_uid(uid);
  md->set_attempt(attempt);
  c.set_hostname(host_network ? "" : PodHostname(pod));  // host network: the node's own
  c.set_log_directory(node.pods_log_dir + "/" + ns + "_" + name + "_" + uid);

  // DNS: the cluster's resolvers for ClusterFirst (when the node knows them),
  // else the node's.
  std::string policy = Str(&spec, "dnsPolicy");
  if (policy.empty()) policy = "ClusterFirst";
  auto* dns = c.mutable_dns_config();
  bool cluster = !node.cluster_dns.empty() && ((policy == "ClusterFirst" && !host_network) ||
                                               policy == "ClusterFirstWithHostNet");
  if (policy != "None") {
    if (cluster) {
      for (const auto& s : node.cluster_dns) dns->add_servers(s);
      dns->add_searches(ns + ".svc." + node.cluster_domain);
      dns->add_searches("svc." + node.cluster_domain);
      dns->add_searches(node.cluster_domain);
      for (const auto& s : node.dns_searches) dns->add_searches(s);
      dns->add_options("ndots:5");
    } else {
      for (const auto& s : node.dns_servers) dns->add_servers(s);
      for (const auto& s : node.dns_searches) dns->add_searches(s);
      for (const auto& o : node.dns_options) dns->add_options(o);
    }
  }
  if (const auto* cfg = Obj(spec, "dnsConfig")) {
    // Merged as upstream does: nameservers and searches appended (a search already there is
    // not repeated), an option replacing the one of the same name ("ndots:2" over "ndots:5").
    for (const auto& s : Strings(Arr(*cfg, "nameservers"))) dns->add_servers(s);
    for (const auto& s : Strings(Arr(*cfg, "searches"))) {
      if (std::find(dns->searches().begin(), dns->searches().end(), s) == dns->searches().end()) {
        dns->add_searches(s);
      }
    }
    if (const auto* opts = Arr(*cfg, "options")) {
      for (const auto& o : *opts) {
        if (!o.is_object()) continue;
        std::string n = Str(&o.as_object(), "name"), v = Str(&o.as_object(), "value");
        if (n.empty()) continue;
        auto* list = dns->mutable_options();
        for (int i = list->size() - 1; i >= 0; --i) {
          const std::string& cur = list->Get(i);
          if (cur == n || cur.rfind(n + ":", 0) == 0) list->DeleteSubrange(i, 1);
        }
        dns->add_options(v.empty() ? n : n + ":" + v);
      }
    }
  }

  // hostPorts of every container.
  for (const char* list : {"initContainers", "containers"}) {
    const auto* cs = Arr(spec, list);
    if (cs == nullptr) continue;
    for (const auto& ct : *cs) {
      if (!ct.is_object()) continue;
      const auto* ports = Arr(ct.as_object(), "ports");
      if (ports == nullptr) continue;
      for (const auto& p : *ports) {
        if (!p.is_object()) continue;
        auto host_port = Int(&p.as_object(), "hostPort");
        if (!host_port || *host_port == 0) continue;
        auto* pm = c.add_port_mappings();
        std::string proto = Str(&p.as_object(), "protocol");
        pm->set_protocol(proto == "UDP" ? v1::UDP : proto == "SCTP" ? v1::SCTP : v1::TCP);
        pm->set_container_port(
            static_cast<int32_t>(Int(&p.as_object(), "containerPort").value_or(0)));
        pm->set_host_port(static_cast<int32_t>(*host_port));
        pm->set_host_ip(Str(&p.as_object(), "hostIP"));
      }
    }
  }

  auto& labels = *c.mutable_labels();
  for (const auto& [k, v] : api::GetLabels(pod)) labels[k] = v;
  labels[kPodNameLabel] = name;
  labels[kPodNamespaceLabel] = ns;
  labels[kPodUidLabel] = uid;
  auto& annotations = *c.mutable_annotations();
  for (const auto& [k, v] : api::GetAnnotations(pod)) annotations[k] = v;

  auto* linux = c.mutable_linux();
  auto* sc = linux->mutable_security_context();
  auto* nso = sc->mutable_namespace_options();
  nso->set_network(host_network ? v1::NODE : v1::POD);
  nso->set_pid(Bool(&spec, "shareProcessNamespace") ? v1::POD
               : Bool(&spec, "hostPID")             ? v1::NODE
                                                    : v1::CONTAINER);
  nso->set_ipc(Bool(&spec, "hostIPC") ? v1::NODE : v1::POD);
  if (const auto* psc = Obj(spec, "securityContext")) {
    if (auto u = Int(psc, "runAsUser")) sc->mutable_run_as_user()->set_value(*u);
    if (auto g = Int(psc, "runAsGroup")) sc->mutable_run_as_group()->set_value(*g);
    if (const auto* groups = Arr(*psc, "supplementalGroups")) {
      for (const auto& g : *groups) {
        if (g.is_int64()) sc->add_supplemental_groups(g.as_int64());
      }
    }
  }
  return c;
}

Result<v1::ContainerConfig> ContainerConfig(const api::Object& pod, const json::object& container,
                                            uint32_t restart_count, const std::string& pod_ip,
                                            const NodeFacts& node, ObjectSource* source) {
  auto env = ResolveEnv(pod, container, pod_ip, node, source);
  if (!env.ok()) return env.status();
  const std::string name = Str(&container, "name");
  v1::ContainerConfig c;
  c.mutable_metadata()->set_name(name);
  c.mutable_metadata()->set_attempt(restart_count);
  c.mutable_image()->set_image(Str(&container, "image"));
  for (const auto& s : Strings(Arr(container, "command"))) c.add_command(ExpandVars(s, *env));
  for (const auto& s : Strings(Arr(container, "args"))) c.add_args(ExpandVars(s, *env));
  c.set_working_dir(Str(&container, "workingDir"));
  for (const auto& [k, v] : *env) {
    auto* kv = c.add_envs();
    kv->set_key(k);
    kv->set_value(v);
  }
  c.set_log_path(name + "/" + std::to_string(restart_count) + ".log");
  c.set_stdin(Bool(&container, "stdin"));
  c.set_stdin_once(Bool(&container, "stdinOnce"));
  c.set_tty(Bool(&container, "tty"));

  auto& labels = *c.mutable_labels();
  labels[kPodNameLabel] = std::string(api::GetName(pod));
  labels[kPodNamespaceLabel] = std::string(api::GetNamespace(pod));
  labels[kPodUidLabel] = std::string(api::GetUid(pod));
  labels[kContainerNameLabel] = name;
  auto& annotations = *c.mutable_annotations();
  annotations[kRestartCountAnnotation] = std::to_string(restart_count);
  annotations[kTerminationGraceAnnotation] =
      std::to_string(Int(&Spec(pod), "terminationGracePeriodSeconds").value_or(30));

  auto* linux = c.mutable_linux();
  auto* res = linux->mutable_resources();
  const json::object* resources = Obj(container, "resources");
  const json::object* limits = resources ? Obj(*resources, "limits") : nullptr;
  const json::object* requests = resources ? Obj(*resources, "requests") : nullptr;
  // CPU: shares from the request (2 without one, as upstream), a CFS quota from
  // the limit.
  std::optional<int64_t> cpu_request = MilliCpu(Str(requests, "cpu"));
  std::optional<int64_t> cpu_limit = MilliCpu(Str(limits, "cpu"));
  if (!cpu_request && cpu_limit) cpu_request = cpu_limit;
  res->set_cpu_shares(cpu_request ? std::max<int64_t>(2, *cpu_request * 1024 / 1000) : 2);
  if (cpu_limit) {
    res->set_cpu_period(100000);
    res->set_cpu_quota(std::max<int64_t>(1000, *cpu_limit * 100000 / 1000));
  }
  if (auto mem = Bytes(Str(limits, "memory"))) res->set_memory_limit_in_bytes(*mem);
  // OOM score: Guaranteed pods are the last to be killed, best-effort the
  // first.
  res->set_oom_score_adj(!requests && !limits                    ? 1000
                         : limits && Str(limits, "memory") != "" ? -997
                                                                 : 500);

  auto* sc = linux->mutable_security_context();
  const json::object* psc = Obj(Spec(pod), "securityContext");
  const json::object* csc = Obj(container, "securityContext");
  auto pick = [&](std::string_view key) -> std::optional<int64_t> {
    if (auto v = Int(csc, key)) return v;
    return Int(psc, key);
  };
  if (auto u = pick("runAsUser")) sc->mutable_run_as_user()->set_value(*u);
  if (auto g = pick("runAsGroup")) sc->mutable_run_as_group()->set_value(*g);
  if (psc != nullptr) {
    if (const auto* groups = Arr(*psc, "supplementalGroups")) {
      for (const auto& g : *groups) {
        if (g.is_int64()) sc->add_supplemental_groups(g.as_int64());
      }
    }
  }
  sc->set_privileged(Bool(csc, "privileged"));
  sc->set_readonly_rootfs(Bool(csc, "readOnlyRootFilesystem"));
  if (csc != nullptr) {
    if (const auto* ape = csc->if_contains("allowPrivilegeEscalation");
        ape != nullptr && ape->is_bool()) {
      sc->set_no_new_privs(!ape->as_bool());
    }
    if (const auto* caps = Obj(*csc, "capabilities")) {
      for (const auto& s : Strings(Arr(*caps, "add"))) {
        sc->mutable_capabilities()->add_add_capabilities(s);
      }
      for (const auto& s : Strings(Arr(*caps, "drop"))) {
        sc->mutable_capabilities()->add_drop_capabilities(s);
      }
    }
  }
  auto* nso = sc->mutable_namespace_options();
  const json::object& spec = Spec(pod);
  nso->set_network(Bool(&spec, "hostNetwork") ? v1::NODE : v1::POD);
  nso->set_pid(Bool(&spec, "shareProcessNamespace") ? v1::POD
               : Bool(&spec, "hostPID")             ? v1::NODE
                                                    : v1::CONTAINER);
  nso->set_ipc(Bool(&spec, "hostIPC") ? v1::NODE : v1::POD);
  return c;
}

bool ShouldRestart(const api::Object& pod, const json::object& container, bool is_init,
                   int32_t exit_code) {
  if (is_init && Str(&container, "restartPolicy") == "Always") return true;  // a sidecar
  std::string policy = Str(&Spec(pod), "restartPolicy");
  if (policy.empty()) policy = "Always";
  if (is_init) return policy != "Never" && exit_code != 0;  // init containers run to success
  if (policy == "Always") return true;
  if (policy == "OnFailure") return exit_code != 0;
  return false;
}

namespace {

json::object StateOf(const RuntimeContainer& c) {
  if (c.state == v1::CONTAINER_RUNNING) {
    return {{"running", json::object{{"startedAt", NanosToTime(c.started_at)}}}};
  }
  if (c.state == v1::CONTAINER_EXITED) {
    std::string reason = c.reason;
    if (reason.empty()) reason = c.exit_code == 0 ? "Completed" : "Error";
    json::object t{{"exitCode", c.exit_code},
                   {"reason", reason},
                   {"startedAt", c.started_at > 0 ? json::value(NanosToTime(c.started_at))
                                                  : json::value(nullptr)},
                   {"finishedAt", c.finished_at > 0 ? json::value(NanosToTime(c.finished_at))
                                                    : json::value(nullptr)},
                   {"containerID", "containerd://" + c.id}};
    if (!c.message.empty()) t["message"] = c.message;
    return {{"terminated", std::move(t)}};
  }
  return {{"waiting", json::object{{"reason", "ContainerCreating"}}}};
}

struct Counts {
  int waiting = 0, running = 0, stopped = 0, succeeded = 0;
};

}  // namespace

json::object ComputeStatus(const api::Object& pod, const PodRuntimeView& view,
                           const NodeFacts& node, const std::string& now) {
  const json::object& spec = Spec(pod);
  const json::object* old = Obj(pod, "status");
  auto status_of = [&](const json::object& container, bool init, bool* done, Counts* counts) {
    const std::string name = Str(&container, "name");
    const std::string image = Str(&container, "image");
    json::object s{{"name", name},      {"image", image}, {"imageID", ""},
                   {"restartCount", 0}, {"ready", false}, {"started", false}};
    auto it = view.containers.find(name);
    const RuntimeContainer* latest =
        it != view.containers.end() && !it->second.empty() ? &it->second.front() : nullptr;
    const RuntimeContainer* previous =
        it != view.containers.end() && it->second.size() > 1 ? &it->second[1] : nullptr;
    auto w = view.waiting.find(name);
    const bool sidecar = init && Str(&container, "restartPolicy") == "Always";
    if (latest != nullptr) {
      s["restartCount"] = static_cast<int64_t>(latest->attempt);
      s["containerID"] = "containerd://" + latest->id;
      if (!latest->image_ref.empty()) s["imageID"] = latest->image_ref;
      if (!latest->image.empty() && latest->image.rfind("sha256:", 0) != 0) {
        s["image"] = latest->image;
      }
    }
    bool running = latest != nullptr && latest->state == v1::CONTAINER_RUNNING;
    if (w != view.waiting.end() && !running) {
      json::object waiting{{"reason", w->second.reason}};
      if (!w->second.message.empty()) waiting["message"] = w->second.message;
      s["state"] = json::object{{"waiting", std::move(waiting)}};
      if (latest != nullptr && latest->state == v1::CONTAINER_EXITED) {
        s["lastState"] = StateOf(*latest);
      }
    } else if (latest != nullptr) {
      s["state"] = StateOf(*latest);
      if (previous != nullptr && previous->state == v1::CONTAINER_EXITED) {
        s["lastState"] = StateOf(*previous);
      }
    } else {
      s["state"] = json::object{
          {"waiting", json::object{{"reason", init ? "PodInitializing" : "ContainerCreating"}}}};
      if (!init && !view.sandbox_ready) {
        s["state"].as_object()["waiting"].as_object()["reason"] = "ContainerCreating";
      }
    }
    if (!s.contains("lastState")) s["lastState"] = json::object();
    if (running) {
      auto st = view.started.find(name);
      bool started = st == view.started.end() || st->second;
      s["started"] = started;
      auto rd = view.ready.find(name);
      bool ready = started && (rd == view.ready.end() || rd->second);
      s["ready"] = ready;
    }
    // Counting as upstream's getPhase does.
    const auto& state = s["state"].as_object();
    if (state.contains("running")) {
      ++counts->running;
    } else if (state.contains("terminated")) {
      ++counts->stopped;
      if (state.at("terminated").as_object().at("exitCode").as_int64() == 0) ++counts->succeeded;
    } else if (s["lastState"].as_object().contains("terminated")) {
      ++counts->stopped;
    } else {
      ++counts->waiting;
    }
    if (done != nullptr) {
      *done = sidecar ? running && s["started"].as_bool()
                      : latest != nullptr && latest->state == v1::CONTAINER_EXITED &&
                            latest->exit_code == 0;
    }
    return s;
  };

  json::array init_statuses;
  bool initialized = true;
  bool init_failed = false;
  Counts init_counts;
  if (const auto* list = Arr(spec, "initContainers")) {
    for (const auto& c : *list) {
      if (!c.is_object()) continue;
      bool done = false;
      json::object s = status_of(c.as_object(), true, &done, &init_counts);
      initialized = initialized && done;
      const auto& state = s["state"].as_object();
      if (state.contains("terminated") &&
          state.at("terminated").as_object().at("exitCode").as_int64() != 0 &&
          !ShouldRestart(pod, c.as_object(), true, 1)) {
        init_failed = true;
      }
      init_statuses.push_back(std::move(s));
    }
  }
  json::array statuses;
  Counts counts;
  bool all_ready = true;
  if (const auto* list = Arr(spec, "containers")) {
    for (const auto& c : *list) {
      if (!c.is_object()) continue;
      json::object s = status_of(c.as_object(), false, nullptr, &counts);
      if (!initialized && !s["state"].as_object().contains("running") &&
          !s["lastState"].as_object().contains("terminated")) {
        s["state"] = json::object{{"waiting", json::object{{"reason", "PodInitializing"}}}};
      }
      all_ready = all_ready && s["ready"].as_bool();
      statuses.push_back(std::move(s));
    }
  }
  // Sidecars count for readiness too.
  if (const auto* list = Arr(spec, "initContainers")) {
    size_t i = 0;
    for (const auto& c : *list) {
      if (c.is_object() && Str(&c.as_object(), "restartPolicy") == "Always" &&
          i < init_statuses.size()) {
        all_ready = all_ready && init_statuses[i].as_object()["ready"].as_bool();
      }
      ++i;
    }
  }

  std::string policy = Str(&spec, "restartPolicy");
  if (policy.empty()) policy = "Always";
  std::string phase;
  if (init_failed) {
    phase = "Failed";
  } else if (!initialized) {
    phase = "Pending";
  } else if (counts.waiting > 0) {
    phase = "Pending";
  } else if (counts.running > 0) {
    phase = "Running";
  } else if (counts.stopped > 0) {
    if (policy == "Always") {
      phase = "Running";
    } else if (counts.stopped == counts.succeeded) {
      phase = "Succeeded";
    } else if (policy == "Never") {
      phase = "Failed";
    } else {
      phase = "Running";
    }
  } else {
    phase = "Pending";
  }
  // A terminal phase never goes back.
  std::string old_phase = Str(old, "phase");
  if (old_phase == "Succeeded" || old_phase == "Failed") phase = old_phase;

  // Conditions keep their transition time while their status holds.
  auto condition = [&](const char* type, bool value, const char* reason) {
    json::object c{{"type", type},
                   {"status", value ? "True" : "False"},
                   {"lastProbeTime", nullptr},
                   {"lastTransitionTime", now}};
    if (reason != nullptr && !value) c["reason"] = reason;
    if (const auto* conds = old ? Arr(*old, "conditions") : nullptr) {
      for (const auto& oc : *conds) {
        if (!oc.is_object() || Str(&oc.as_object(), "type") != type) continue;
        if (Str(&oc.as_object(), "status") == (value ? "True" : "False")) {
          c["lastTransitionTime"] = oc.as_object().at("lastTransitionTime");
        }
      }
    }
    return c;
  };
  bool terminal = phase == "Succeeded" || phase == "Failed";
  bool containers_ready = all_ready && !terminal && counts.running > 0;
  json::array conditions{
      condition("PodReadyToStartContainers", view.sandbox_ready, nullptr),
      condition("Initialized", initialized || terminal, "ContainersNotInitialized"),
      condition("Ready", containers_ready, terminal ? "PodCompleted" : "ContainersNotReady"),
      condition("ContainersReady", containers_ready,
                terminal ? "PodCompleted" : "ContainersNotReady")};
  if (const auto* conds = old ? Arr(*old, "conditions") : nullptr) {
    for (const auto& oc : *conds) {  // PodScheduled and others the kubelet does not own
      std::string type = oc.is_object() ? Str(&oc.as_object(), "type") : "";
      if (type != "PodReadyToStartContainers" && type != "Initialized" && type != "Ready" &&
          type != "ContainersReady") {
        conditions.push_back(oc);
      }
    }
  }
  json::object status{{"phase", phase},
                      {"conditions", std::move(conditions)},
                      {"hostIP", node.host_ip},
                      {"hostIPs", json::array{json::object{{"ip", node.host_ip}}}},
                      {"containerStatuses", std::move(statuses)}};
  std::string start = Str(old, "startTime");
  status["startTime"] = start.empty() ? now : start;
  if (!init_statuses.empty()) status["initContainerStatuses"] = std::move(init_statuses);
  std::string pod_ip = view.pod_ip.empty() ? Str(old, "podIP") : view.pod_ip;
  if (!pod_ip.empty()) {
    status["podIP"] = pod_ip;
    json::array ips;
    if (view.pod_ips.empty()) {
      ips.push_back(json::object{{"ip", pod_ip}});
    } else {
      for (const auto& ip : view.pod_ips) ips.push_back(json::object{{"ip", ip}});
    }
    status["podIPs"] = std::move(ips);
  }
  if (!Str(old, "qosClass").empty()) status["qosClass"] = Str(old, "qosClass");
  return status;
}

}  // namespace keelson::kubelet
