// Where a component finds the API server and its credentials: a kubeconfig (kubectl's
// files, with upstream's rules for KUBECONFIG lists and contexts) or the in-cluster
// configuration of a pod (the service account's token and CA, KUBERNETES_SERVICE_HOST/PORT).
// Both give a RestConfig (client/config.h) plus the namespace the context names, with
// upstream's client-side rate limit for a remote server (5 qps, burst 10).
//
// Upstream's loading rules, kept:
//   - an explicit path (--kubeconfig) is the only file read, and must exist;
//   - otherwise KUBECONFIG, a ':'-separated list: files that do not exist are skipped, and
//     for clusters, users and contexts the first file that defines a name wins, as does the
//     first current-context;
//   - otherwise ~/.kube/config when it exists;
//   - relative file paths in a file (certificate-authority, client-certificate, client-key,
//     tokenFile) are relative to that file's directory;
//   - *-data fields are base64 and win over the file fields.
// Not supported: exec and auth-provider credential plugins (Unimplemented when the chosen
// user relies on one), client-side proxies, basic auth.
//
// Pure functions of their inputs and the files they read; thread-safe.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "client/config.h"
#include "common/status.h"

namespace keelson::client {

struct KubeconfigCluster {
  std::string server;
  std::string certificate_authority;       // a file (absolute once loaded)
  std::string certificate_authority_data;  // PEM (decoded)
  std::string tls_server_name;
  bool insecure_skip_tls_verify = false;
};

struct KubeconfigUser {
  std::string token;
  std::string token_file;
  std::string client_certificate;       // a file
  std::string client_certificate_data;  // PEM
  std::string client_key;               // a file
  std::string client_key_data;          // PEM
  bool exec = false;           // an exec credential plugin is configured
  bool auth_provider = false;  // an auth-provider plugin is configured
};

struct KubeconfigContext {
  std::string cluster;
  std::string user;
  std::string namespace_name;
};

// A kubeconfig file's content (or several merged).
struct Kubeconfig {
  std::map<std::string, KubeconfigCluster> clusters;
  std::map<std::string, KubeconfigUser> users;
  std::map<std::string, KubeconfigContext> contexts;
  std::string current_context;

  // Parses a kubeconfig (YAML or JSON). Relative paths are resolved against `dir`.
  // InvalidArgument for text that is not a kubeconfig or base64 data that does not decode.
  static Result<Kubeconfig> Parse(std::string_view text, const std::filesystem::path& dir = {});
  // Reads and parses a file. NotFound when it does not exist.
  static Result<Kubeconfig> Load(const std::filesystem::path& path);

  // Adds what `later` defines and this does not (names already here win; so does this
  // current-context when set).
  void MergeFrom(const Kubeconfig& later);
};

// What a component needs to talk to the API server.
struct ClientConfig {
  RestConfig rest;
  // The context's namespace, "default" when it names none (in-cluster: the pod's).
  std::string namespace_name = "default";
  std::string context;  // the context used ("" in-cluster)
};

// The client config of `context` ("" for current-context). InvalidArgument when there is no
// such context (or none is chosen), its cluster or user is missing (a missing user means no
// credentials, as upstream), the cluster has no server, or a file it names cannot be read;
// Unimplemented for exec and auth-provider users.
Result<ClientConfig> ToClientConfig(const Kubeconfig& config, std::string_view context = "");

struct KubeconfigLoadOptions {
  std::string explicit_path;  // --kubeconfig
  // The KUBECONFIG list; taken from the environment when nullopt.
  std::optional<std::string> kubeconfig_env;
  // Where ~ is; $HOME when empty.
  std::string home;
  std::string context;  // --context
};

// Loads by upstream's rules (above) and picks the context. NotFound when no file is found.
Result<ClientConfig> LoadKubeconfig(const KubeconfigLoadOptions& options = {});

struct InClusterOptions {
  std::string token_file = "/var/run/secrets/kubernetes.io/serviceaccount/token";
  std::string ca_file = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";
  std::string namespace_file = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";
  // KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT; from the environment when nullopt.
  std::optional<std::string> host;
  std::optional<std::string> port;
};

// The configuration of a process in a pod: https://HOST:PORT, the token file (re-read at
// each request, so a rotated token is used) and the CA. FailedPrecondition with upstream's
// text when HOST or PORT is unset (not in a cluster); NotFound when the token cannot be
// read.
Result<ClientConfig> InClusterConfig(const InClusterOptions& options = {});

}  // namespace keelson::client
