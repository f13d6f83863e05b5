#include "client/kubeconfig.h"

#include <boost/json.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "api/yaml.h"
#include "common/base64.h"

namespace keelson::client {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

std::string Str(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

bool Bool(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_bool() && v->as_bool();
}

const json::object* Obj(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_object() ? &v->as_object() : nullptr;
}

std::string Resolve(const std::string& path, const fs::path& dir) {
  if (path.empty() || dir.empty()) return path;
  fs::path p(path);
  if (p.is_absolute()) return path;
  return (dir / p).lexically_normal().string();
}

Result<std::string> Data(const json::object& o, std::string_view key) {
  std::string text = Str(o, key);
  if (text.empty()) return std::string();
  auto d = Base64Decode(text);
  if (!d.ok()) return InvalidArgumentError(std::string(key) + ": " + d.status().message());
  return std::move(*d);
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The named entries of a list ("clusters", "users", "contexts"): name -> inner object.
Result<std::vector<std::pair<std::string, const json::object*>>> Named(
    const json::object& root, std::string_view list, std::string_view inner) {
  std::vector<std::pair<std::string, const json::object*>> out;
  const auto* v = root.if_contains(list);
  if (!v || v->is_null()) return out;
  if (!v->is_array()) return InvalidArgumentError(std::string(list) + " is not a list");
  static const json::object kEmpty;
  for (const auto& e : v->as_array()) {
    if (!e.is_object()) return InvalidArgumentError(std::string(list) + " has a non-object entry");
    std::string name = Str(e.as_object(), "name");
    if (name.empty()) return InvalidArgumentError(std::string(list) + " has an entry without a name");
    const json::object* body = Obj(e.as_object(), inner);
    out.emplace_back(std::move(name), body ? body : &kEmpty);
  }
  return out;
}

std::vector<std::string> SplitList(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t colon = s.find(':', start);
    if (colon == std::string_view::npos) colon = s.size();
    if (colon > start) out.emplace_back(s.substr(start, colon - start));
    start = colon + 1;
  }
  return out;
}

}  // namespace

Result<Kubeconfig> Kubeconfig::Parse(std::string_view text, const fs::path& dir) {
  auto v = api::YamlToJson(text);
  if (!v.ok()) return InvalidArgumentError("kubeconfig: " + v.status().message());
  Kubeconfig c;
  if (v->is_null()) return c;  // an empty file
  if (!v->is_object()) return InvalidArgumentError("kubeconfig: not a mapping");
  const auto& root = v->as_object();
  c.current_context = Str(root, "current-context");

  auto clusters = Named(root, "clusters", "cluster");
  if (!clusters.ok()) return InvalidArgumentError("kubeconfig: " + clusters.status().message());
  for (const auto& [name, o] : *clusters) {
    KubeconfigCluster k;
    k.server = Str(*o, "server");
    k.certificate_authority = Resolve(Str(*o, "certificate-authority"), dir);
    auto ca = Data(*o, "certificate-authority-data");
    if (!ca.ok()) return InvalidArgumentError("kubeconfig cluster " + name + ": " + ca.status().message());
    k.certificate_authority_data = std::move(*ca);
    k.tls_server_name = Str(*o, "tls-server-name");
    k.insecure_skip_tls_verify = Bool(*o, "insecure-skip-tls-verify");
    c.clusters.emplace(name, std::move(k));
  }

  auto users = Named(root, "users", "user");
  if (!users.ok()) return InvalidArgumentError("kubeconfig: " + users.status().message());
  for (const auto& [name, o] : *users) {
    KubeconfigUser u;
    u.token = Str(*o, "token");
    u.token_file = Resolve(Str(*o, "tokenFile"), dir);
    u.client_certificate = Resolve(Str(*o, "client-certificate"), dir);
    u.client_key = Resolve(Str(*o, "client-key"), dir);
    auto cert = Data(*o, "client-certificate-data");
    auto key = Data(*o, "client-key-data");
    if (!cert.ok()) return InvalidArgumentError("kubeconfig user " + name + ": " + cert.status().message());
    if (!key.ok()) return InvalidArgumentError("kubeconfig user " + name + ": " + key.status().message());
    u.client_certificate_data = std::move(*cert);
    u.client_key_data = std::move(*key);
    u.exec = Obj(*o, "exec") != nullptr;
    u.auth_provider = Obj(*o, "auth-provider") != nullptr;
    c.users.emplace(name, std::move(u));
  }

  auto contexts = Named(root, "contexts", "context");
  if (!contexts.ok()) return InvalidArgumentError("kubeconfig: " + contexts.status().message());
  for (const auto& [name, o] : *contexts) {
    KubeconfigContext x;
    x.cluster = Str(*o, "cluster");
    x.user = Str(*o, "user");
    x.namespace_name = Str(*o, "namespace");
    c.contexts.emplace(name, std::move(x));
  }
  return c;
}

Result<Kubeconfig> Kubeconfig::Load(const fs::path& path) {
  auto text = ReadFile(path.string());
  if (!text.ok()) return text.status();
  auto c = Parse(*text, fs::absolute(path).parent_path());
  if (!c.ok()) return InvalidArgumentError(path.string() + ": " + c.status().message());
  return c;
}

void Kubeconfig::MergeFrom(const Kubeconfig& later) {
  for (const auto& [k, v] : later.clusters) clusters.emplace(k, v);
  for (const auto& [k, v] : later.users) users.emplace(k, v);
  for (const auto& [k, v] : later.contexts) contexts.emplace(k, v);
  if (current_context.empty()) current_context = later.current_context;
}

Result<ClientConfig> ToClientConfig(const Kubeconfig& config, std::string_view context) {
  std::string name(context.empty() ? std::string_view(config.current_context) : context);
  if (name.empty()) {
    return InvalidArgumentError("no context chosen: the kubeconfig has no current-context");
  }
  auto ctx = config.contexts.find(name);
  if (ctx == config.contexts.end()) {
    return InvalidArgumentError("context \"" + name + "\" does not exist");
  }
  auto cluster = config.clusters.find(ctx->second.cluster);
  if (cluster == config.clusters.end()) {
    return InvalidArgumentError("cluster \"" + ctx->second.cluster + "\" of context \"" + name +
                                "\" does not exist");
  }
  const KubeconfigCluster& k = cluster->second;
  if (k.server.empty()) {
    return InvalidArgumentError("cluster \"" + cluster->first + "\" has no server");
  }
  ClientConfig out;
  out.context = name;
  // Upstream's client defaults for a component that talks to a server elsewhere.
  out.rest.qps = 5;
  out.rest.burst = 10;
  if (!ctx->second.namespace_name.empty()) out.namespace_name = ctx->second.namespace_name;
  RestConfig& r = out.rest;
  r.server = k.server;
  r.tls_server_name = k.tls_server_name;
  r.insecure_skip_tls_verify = k.insecure_skip_tls_verify;
  r.ca_data = k.certificate_authority_data;
  if (r.ca_data.empty() && !k.certificate_authority.empty()) {
    auto ca = ReadFile(k.certificate_authority);
    if (!ca.ok()) return InvalidArgumentError("certificate-authority: " + ca.status().message());
    r.ca_data = std::move(*ca);
    r.ca_file = k.certificate_authority;
  }
  // A context without a user, or naming one that is not there, means no credentials.
  if (auto user = config.users.find(ctx->second.user); user != config.users.end()) {
    const KubeconfigUser& u = user->second;
    if (u.exec || u.auth_provider) {
      bool other = !u.token.empty() || !u.token_file.empty() ||
                   !u.client_certificate_data.empty() || !u.client_certificate.empty();
      if (!other) {
        return Status(StatusCode::kUnimplemented,
                      "user \"" + user->first + "\": " +
                          (u.exec ? "exec" : "auth-provider") +
                          " credential plugins are not supported");
      }
    }
    r.bearer_token = u.token;
    if (r.bearer_token.empty()) r.bearer_token_file = u.token_file;
    r.client_certificate_data = u.client_certificate_data;
    if (r.client_certificate_data.empty() && !u.client_certificate.empty()) {
      auto cert = ReadFile(u.client_certificate);
      if (!cert.ok()) return InvalidArgumentError("client-certificate: " + cert.status().message());
      r.client_certificate_data = std::move(*cert);
    }
    r.client_key_data = u.client_key_data;
    if (r.client_key_data.empty() && !u.client_key.empty()) {
      auto key = ReadFile(u.client_key);
      if (!key.ok()) return InvalidArgumentError("client-key: " + key.status().message());
      r.client_key_data = std::move(*key);
    }
  }
  return out;
}

Result<ClientConfig> LoadKubeconfig(const KubeconfigLoadOptions& options) {
  Kubeconfig merged;
  if (!options.explicit_path.empty()) {
    auto c = Kubeconfig::Load(options.explicit_path);
    if (!c.ok()) return c.status();
    merged = std::move(*c);
  } else {
    std::string env;
    if (options.kubeconfig_env) {
      env = *options.kubeconfig_env;
    } else if (const char* e = std::getenv("KUBECONFIG")) {
      env = e;
    }
    std::vector<std::string> files = SplitList(env);
    if (files.empty()) {
      std::string home = options.home;
      if (home.empty()) {
        if (const char* h = std::getenv("HOME")) home = h;
      }
      if (!home.empty()) files.push_back((fs::path(home) / ".kube" / "config").string());
    }
    bool found = false;
    for (const auto& f : files) {
      auto c = Kubeconfig::Load(f);
      if (!c.ok()) {
        if (c.status().code() == StatusCode::kNotFound) continue;
        return c.status();
      }
      found = true;
      merged.MergeFrom(*c);
    }
    if (!found) {
      return NotFoundError("no kubeconfig found (KUBECONFIG=\"" + env +
                           "\", nor ~/.kube/config)");
    }
  }
  return ToClientConfig(merged, options.context);
}

Result<ClientConfig> InClusterConfig(const InClusterOptions& options) {
  std::string host, port;
  if (options.host) {
    host = *options.host;
  } else if (const char* h = std::getenv("KUBERNETES_SERVICE_HOST")) {
    host = h;
  }
  if (options.port) {
    port = *options.port;
  } else if (const char* p = std::getenv("KUBERNETES_SERVICE_PORT")) {
    port = p;
  }
  if (host.empty() || port.empty()) {
    return FailedPreconditionError(
        "unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST and "
        "KUBERNETES_SERVICE_PORT must be defined");
  }
  auto token = ReadFile(options.token_file);
  if (!token.ok()) return token.status();
  ClientConfig out;
  out.rest.qps = 5;
  out.rest.burst = 10;
  // IPv6 addresses go in brackets, as net.JoinHostPort writes them.
  bool v6 = host.find(':') != std::string::npos;
  out.rest.server = "https://" + (v6 ? "[" + host + "]" : host) + ":" + port;
  out.rest.bearer_token_file = options.token_file;
  if (auto ca = ReadFile(options.ca_file); ca.ok()) {
    out.rest.ca_data = std::move(*ca);
    out.rest.ca_file = options.ca_file;
  }
  if (auto ns = ReadFile(options.namespace_file); ns.ok()) {
    std::string n = std::move(*ns);
    while (!n.empty() && std::isspace(static_cast<unsigned char>(n.back()))) n.pop_back();
    if (!n.empty()) out.namespace_name = n;
  }
  return out;
}

}  // namespace keelson::client
