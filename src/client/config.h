// RestConfig: where a client sends its requests and how (upstream's rest.Config). Filled by
// hand, from a kubeconfig or in-cluster (client/kubeconfig.h).
//
// Credentials: a bearer token is sent today (Authorization: Bearer ...). The TLS material
// (CA, client certificate and key, server name, insecure-skip-verify) is loaded and carried
// here so that the TLS and authentication work only has to use it; until then the HTTP
// transport refuses https:// servers (Unimplemented) rather than pretend.
//
// A value type; copy it freely.
#pragma once

#include <chrono>
#include <string>

namespace keelson::client {

// How objects travel: JSON both ways, or the Kubernetes protobuf encoding for answers,
// watch events and create/update bodies (patches stay JSON, as upstream's; servers answer
// errors in JSON either way).
enum class ContentType { kJson, kProtobuf };

// Retries of one request after a 429, a 503 or 504, any 5xx that carries Retry-After, or a
// connection failure (every verb when the request could not be sent; GET, HEAD, PUT and
// DELETE also when the connection broke after it was). The wait is the answer's Retry-After
// when it gives one, else `initial_backoff` doubling per retry up to `max_backoff`, with up
// to half of it again as random jitter.
struct RetryPolicy {
  int max_retries = 10;
  std::chrono::milliseconds initial_backoff{200};
  std::chrono::milliseconds max_backoff{10000};
};

struct RestConfig {
  // "http://host:port" (https:// once TLS lands).
  std::string server;

  // Sent as "Authorization: Bearer <token>" when set; otherwise read from bearer_token_file
  // (the in-cluster service account token) when that is set, again every minute, so that a
  // rotated token is picked up.
  std::string bearer_token;
  std::string bearer_token_file;

  // TLS material, PEM; loaded, not used yet (see above).
  std::string ca_data;
  std::string ca_file;  // where ca_data came from, for messages
  std::string client_certificate_data;
  std::string client_key_data;
  std::string tls_server_name;
  bool insecure_skip_tls_verify = false;

  // The API server names a writer's field manager after it (the part before the first '/'),
  // as upstream's; components set their own ("kube-scheduler", "kubelet", ...).
  std::string user_agent = "keelson";
  ContentType content_type = ContentType::kJson;

  // Client-side rate limit (a token bucket over every request of the client, retries
  // included). Zero or less: no limit, the default, which is what components that share a
  // process with the API server use. Configs loaded from a kubeconfig or in-cluster get
  // upstream's client defaults, 5 qps and a burst of 10.
  double qps = 0;
  int burst = 10;

  RetryPolicy retry;

  // The longest one request may take to be answered (a watch: to start); zero for no limit.
  // Watches end by their timeoutSeconds.
  std::chrono::milliseconds timeout{0};
};

}  // namespace keelson::client
