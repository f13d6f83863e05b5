// `keelson server` and `keelson apiserver`: the Kubernetes API server on the embedded store
// (or on etcd), with a kubeconfig written for kubectl. `server` will add the scheduler and
// controllers; today both run the API server.
#include <malloc.h>
#include <signal.h>
#include <sys/resource.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>

#include "apiserver/apiserver.h"
#include "apiserver/http_server.h"
#include "apiserver/inflight.h"
#include "apiserver/token.h"
#include "cmd/commands.h"
#include "store/etcd/etcd_store.h"
#include "store/mvcc/embedded_store.h"

namespace keelson::cmd {
namespace {

constexpr const char* kUsage = R"(Usage: keelson %s [flags]

Runs the Kubernetes API server over plain HTTP on the embedded store (or on etcd).

Flags:
  --data-dir DIR             where state lives (default /var/lib/keelson); the embedded store
                             is in DIR/store
  --bind-address ADDR        address to listen on (default 127.0.0.1)
  --port N                   port to listen on; 0 picks a free one (default 6443)
  --write-kubeconfig FILE    where to write a kubeconfig for kubectl
                             (default DIR/kubeconfig.yaml)
  --datastore-endpoint URLS  use etcd at these comma-separated URLs instead of the embedded store
  --service-account-signing-key-file FILE
                             PEM RSA key that signs service account tokens; created when
                             missing (default DIR/server/service-account.key). Servers that
                             share a datastore need the same key.
  --service-account-issuer URL
                             the tokens' issuer and default audience
                             (default https://kubernetes.default.svc.cluster.local)
  --max-request-bytes N      the largest request body accepted; larger ones are answered
                             413 (default 3145728, 3 MiB)
  --max-requests-inflight N  read-only requests served at once, watches and other long-running
                             requests left out; more are answered 429 (default 400, 0: no limit)
  --max-mutating-requests-inflight N
                             mutating requests served at once (default 200, 0: no limit)
  -h, --help                 show this help
)";

struct Flags {
  std::string data_dir = "/var/lib/keelson";
  std::string bind_address = "127.0.0.1";
  int port = 6443;
  std::string kubeconfig;
  std::string datastore_endpoint;
  std::string sa_key_file;
  std::string sa_issuer = "https://kubernetes.default.svc.cluster.local";
  long long max_request_bytes = 3 << 20;
  int max_requests_inflight = 400;
  int max_mutating_requests_inflight = 200;
};

// A non-negative integer of at most `max`, or nullopt.
std::optional<long long> ParseCount(const std::string& value, long long max) {
  try {
    size_t used = 0;
    long long n = std::stoll(value, &used);
    if (used != value.size() || n < 0 || n > max) return std::nullopt;
    return n;
  } catch (...) {
    return std::nullopt;
  }
}

int Fail(const std::string& msg) {
  std::fprintf(stderr, "keelson: %s\n", msg.c_str());
  return 1;
}

Status WriteKubeconfig(const std::string& path, const std::string& server) {
  std::error_code ec;
  auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << "apiVersion: v1\n"
           "kind: Config\n"
           "clusters:\n"
           "- name: keelson\n"
           "  cluster:\n"
           "    server: " << server << "\n"
           // Plain HTTP until TLS arrives: @kubernetes/client-node refuses an http:// server
           // unless TLS verification is off (kubectl and client-go ignore it for http).
           "    insecure-skip-tls-verify: true\n"
           "contexts:\n"
           "- name: keelson\n"
           "  context:\n"
           "    cluster: keelson\n"
           "    user: keelson\n"
           "current-context: keelson\n"
           "users:\n"
           "- name: keelson\n"
           "  user: {}\n";
    if (!out) return InternalError("write " + tmp);
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) return InternalError("rename " + tmp + ": " + ec.message());
  return Status::Ok();
}

}  // namespace

int RunServerCommand(int argc, char** argv) {
  const char* name = argv[0];
  Flags f;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    bool has_value = false;
    if (auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_value = true;
    }
    auto take = [&]() -> bool {
      if (has_value) return true;
      if (i + 1 >= argc) return false;
      value = argv[++i];
      return true;
    };
    if (arg == "-h" || arg == "--help") {
      std::printf(kUsage, name);
      return 0;
    } else if (arg == "--data-dir") {
      if (!take() || value.empty()) return Fail("--data-dir needs a value");
      f.data_dir = value;
    } else if (arg == "--bind-address") {
      if (!take() || value.empty()) return Fail("--bind-address needs a value");
      f.bind_address = value;
    } else if (arg == "--port") {
      if (!take()) return Fail("--port needs a value");
      try {
        size_t used = 0;
        f.port = std::stoi(value, &used);
        if (used != value.size() || f.port < 0 || f.port > 65535) throw 0;
      } catch (...) {
        return Fail("--port needs a port number (0-65535), got '" + value + "'");
      }
    } else if (arg == "--write-kubeconfig") {
      if (!take() || value.empty()) return Fail("--write-kubeconfig needs a file");
      f.kubeconfig = value;
    } else if (arg == "--datastore-endpoint") {
      if (!take() || value.empty()) return Fail("--datastore-endpoint needs URLs");
      f.datastore_endpoint = value;
    } else if (arg == "--service-account-signing-key-file") {
      if (!take() || value.empty()) return Fail(arg + " needs a file");
      f.sa_key_file = value;
    } else if (arg == "--service-account-issuer") {
      if (!take() || value.empty()) return Fail(arg + " needs a URL");
      f.sa_issuer = value;
    } else if (arg == "--max-request-bytes") {
      auto n = take() ? ParseCount(value, 1LL << 40) : std::nullopt;
      if (!n || *n == 0) return Fail(arg + " needs a positive number of bytes");
      f.max_request_bytes = *n;
    } else if (arg == "--max-requests-inflight" || arg == "--max-mutating-requests-inflight") {
      auto n = take() ? ParseCount(value, 1 << 30) : std::nullopt;
      if (!n) return Fail(arg + " needs a number (0: no limit)");
      (arg == "--max-requests-inflight" ? f.max_requests_inflight
                                        : f.max_mutating_requests_inflight) = static_cast<int>(*n);
    } else {
      return Fail("unknown flag '" + arg + "' (see --help)");
    }
  }
  if (f.kubeconfig.empty()) f.kubeconfig = f.data_dir + "/kubeconfig.yaml";
  if (f.sa_key_file.empty()) f.sa_key_file = f.data_dir + "/server/service-account.key";

  // Large transient buffers (chunks of big LIST answers, store pages read while a watch
  // cache loads) go straight back to the system when freed, instead of staying in malloc's
  // arenas next to the long-lived cached objects: a fixed threshold keeps glibc from raising
  // it after the first such free.
  mallopt(M_MMAP_THRESHOLD, 128 * 1024);
  // Every client connection is a descriptor: allow as many as the system lets this process
  // have, so that a crowd of idle connections does not lock everyone else out.
  if (rlimit nofile{}; getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    setrlimit(RLIMIT_NOFILE, &nofile);
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::unique_ptr<store::Store> st;
  if (f.datastore_endpoint.empty()) {
    store::EmbeddedOptions eo;
    eo.data_dir = f.data_dir + "/store";
    // The API server's watch caches are the store's only watchers, one per resource, and
    // they keep up: the store's own window of recent events can stay small (a cache that
    // falls behind it reads the history from disk).
    eo.watch_cache_bytes = 2 << 20;
    auto s = store::OpenEmbeddedStore(eo);
    if (!s.ok()) return Fail(s.status().message());
    st = std::move(*s);
  } else {
    store::EtcdOptions eo;
    std::string_view rest = f.datastore_endpoint;
    while (!rest.empty()) {
      auto comma = rest.find(',');
      eo.endpoints.emplace_back(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
    auto s = store::OpenEtcdStore(eo);
    if (!s.ok()) return Fail(s.status().message());
    st = std::move(*s);
  }

  auto signer = apiserver::TokenSigner::LoadOrCreate(f.sa_key_file);
  if (!signer.ok()) return Fail(signer.status().message());
  apiserver::ApiServerOptions ao;
  ao.token_signer = std::move(*signer);
  ao.service_account_issuer = f.sa_issuer;
  auto api = apiserver::ApiServer::Create(st.get(), std::move(ao));
  if (!api.ok()) return Fail(api.status().message());
  if (Status b = (*api)->Bootstrap(); !b.ok()) return Fail("bootstrap: " + b.message());
  apiserver::HttpServerOptions ho;
  ho.bind_address = f.bind_address;
  ho.port = f.port;
  ho.body_limit = static_cast<size_t>(f.max_request_bytes);
  apiserver::InflightLimiter limiter(
      api->get(), {.max_requests = f.max_requests_inflight,
                   .max_mutating_requests = f.max_mutating_requests_inflight});
  auto http = apiserver::HttpServer::Start(ho, &limiter);
  if (!http.ok()) return Fail(http.status().message());
  std::string url = "http://" + f.bind_address + ":" + std::to_string((*http)->port());
  std::string advertise = f.bind_address == "0.0.0.0" ? "127.0.0.1" : f.bind_address;
  if (Status p = (*api)->PublishEndpoint(advertise, (*http)->port()); !p.ok()) {
    return Fail("publishing the kubernetes service endpoints: " + p.message());
  }
  if (Status k = WriteKubeconfig(f.kubeconfig, url); !k.ok()) return Fail(k.message());
  std::printf("keelson %s: serving the Kubernetes API on %s\n", name, url.c_str());
  std::printf("keelson %s: kubeconfig written to %s\n", name, f.kubeconfig.c_str());
  std::fflush(stdout);

  int sig = 0;
  while (sigwait(&signals, &sig) != 0) {
  }
  (*api)->Shutdown();
  (*http)->Stop();
  return 0;
}

}  // namespace keelson::cmd
