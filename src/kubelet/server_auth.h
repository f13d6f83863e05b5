// Who may call the kubelet's server: the API server only. It proves it with a bearer token it
// signs (RS256, with the key that signs service account tokens) for this one request:
//
//   sub  system:kube-apiserver          aud  ["kubelet"]
//   exp  a minute after issue           jti  unique
//   kubelet.keelson.io/request  "<METHOD> <path and query>" of the request it is sent with
//
// The kubelet verifies the signature against the API server's published keys
// (/openid/v1/jwks, fetched through the kubelet's API client and refetched when a token names
// an unknown key), and that the claims hold: the subject (service account tokens, signed by
// the same key, have another), the audience, the expiry, the request (a token seen on the
// wire opens nothing else), and that the jti was not used before (each token opens one
// request). docs/kubelet.md has the reasoning.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/status.h"

namespace keelson::kubelet {

inline constexpr const char* kKubeletAudience = "kubelet";
inline constexpr const char* kApiServerSubject = "system:kube-apiserver";
inline constexpr const char* kRequestClaim = "kubelet.keelson.io/request";

class RequestAuthenticator {
 public:
  virtual ~RequestAuthenticator() = default;
  // Ok when `authorization` (the header's value) carries a token valid for the request
  // `method` `target`; InvalidArgument (with the reason) otherwise.
  virtual Status Authenticate(std::string_view authorization, std::string_view method,
                              std::string_view target) = 0;
};

// Fetches the JSON Web Key Set ({"keys":[...]}) of the API server.
using JwksFetcher = std::function<Result<std::string>()>;

std::unique_ptr<RequestAuthenticator> NewApiServerTokenAuthenticator(
    JwksFetcher fetch, std::shared_ptr<const Clock> clock = nullptr);

}  // namespace keelson::kubelet
