#include "kubelet/server_auth.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <boost/json.hpp>

#include <map>
#include <mutex>

#include "common/base64.h"

namespace keelson::kubelet {
namespace {

namespace json = boost::json;
using std::chrono::system_clock;

struct PkeyDeleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using Pkey = std::shared_ptr<EVP_PKEY>;

// The RSA public key of a JSON Web Key; null when it is not one.
Pkey RsaKey(const json::object& jwk) {
  const auto* kty = jwk.if_contains("kty");
  const auto* n = jwk.if_contains("n");
  const auto* e = jwk.if_contains("e");
  if (!kty || *kty != "RSA" || !n || !e || !n->is_string() || !e->is_string()) return nullptr;
  auto nb = Base64UrlDecode(n->as_string());
  auto eb = Base64UrlDecode(e->as_string());
  if (!nb.ok() || !eb.ok()) return nullptr;
  BIGNUM* bn_n = BN_bin2bn(reinterpret_cast<const unsigned char*>(nb->data()),
                           static_cast<int>(nb->size()), nullptr);
  BIGNUM* bn_e = BN_bin2bn(reinterpret_cast<const unsigned char*>(eb->data()),
                           static_cast<int>(eb->size()), nullptr);
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM* params = nullptr;
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr);
  EVP_PKEY* key = nullptr;
  if (bn_n && bn_e && bld && ctx && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) &&
      OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) &&
      (params = OSSL_PARAM_BLD_to_param(bld)) != nullptr && EVP_PKEY_fromdata_init(ctx) == 1) {
    if (EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1) key = nullptr;
  }
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  EVP_PKEY_CTX_free(ctx);
  BN_free(bn_n);
  BN_free(bn_e);
  ERR_clear_error();
  return key ? Pkey(key, PkeyDeleter()) : nullptr;
}

bool VerifyRs256(EVP_PKEY* key, std::string_view input, std::string_view sig) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok =
      ctx && EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
      EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                       reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  ERR_clear_error();
  return ok;
}

class ApiServerTokenAuthenticator final : public RequestAuthenticator {
 public:
  ApiServerTokenAuthenticator(JwksFetcher fetch, std::shared_ptr<const Clock> clock)
      : fetch_(std::move(fetch)), clock_(clock ? std::move(clock) : RealClock()) {}

  Status Authenticate(std::string_view authorization, std::string_view method,
                      std::string_view target) override {
    constexpr std::string_view kBearer = "Bearer ";
    if (!authorization.starts_with(kBearer)) return Fail("no bearer token");
    std::string_view token = authorization.substr(kBearer.size());
    auto first = token.find('.');
    auto second = first == std::string_view::npos ? first : token.find('.', first + 1);
    if (second == std::string_view::npos || token.find('.', second + 1) != token.npos) {
      return Fail("malformed token");
    }
    auto header_text = Base64UrlDecode(token.substr(0, first));
    auto payload_text = Base64UrlDecode(token.substr(first + 1, second - first - 1));
    auto sig = Base64UrlDecode(token.substr(second + 1));
    if (!header_text.ok() || !payload_text.ok() || !sig.ok()) return Fail("malformed token");
    boost::system::error_code ec;
    json::value header = json::parse(*header_text, ec);
    if (ec || !header.is_object()) return Fail("malformed token header");
    const auto* alg = header.as_object().if_contains("alg");
    const auto* kid = header.as_object().if_contains("kid");
    if (!alg || *alg != "RS256" || !kid || !kid->is_string()) {
      return Fail("the token is not signed RS256 with a key id");
    }
    Pkey key = Key(std::string(kid->as_string()));
    if (!key) return Fail("the token is signed by a key the API server does not publish");
    if (!VerifyRs256(key.get(), token.substr(0, second), *sig)) {
      return Fail("the token's signature does not verify");
    }
    json::value payload = json::parse(*payload_text, ec);
    if (ec || !payload.is_object()) return Fail("malformed token claims");
    const json::object& claims = payload.as_object();
    const auto* sub = claims.if_contains("sub");
    if (!sub || *sub != kApiServerSubject) return Fail("the token is not the API server's");
    const auto* aud = claims.if_contains("aud");
    bool audience = false;
    if (aud && aud->is_array()) {
      for (const auto& a : aud->as_array()) audience = audience || a == kKubeletAudience;
    }
    if (!audience) return Fail("the token is not meant for the kubelet");
    const auto* exp = claims.if_contains("exp");
    const auto* jti = claims.if_contains("jti");
    const auto* request = claims.if_contains(kRequestClaim);
    if (!exp || !exp->is_int64() || !jti || !jti->is_string() || !request ||
        !request->is_string()) {
      return Fail("the token lacks exp, jti or the request");
    }
    auto expiry = system_clock::time_point(std::chrono::seconds(exp->as_int64()));
    auto now = clock_->Now();
    if (now >= expiry) return Fail("the token has expired");
    if (request->as_string() != std::string(method) + " " + std::string(target)) {
      return Fail("the token was issued for another request");
    }
    std::lock_guard l(mu_);
    std::erase_if(used_, [&](const auto& kv) { return kv.second <= now; });
    if (!used_.emplace(std::string(jti->as_string()), expiry).second) {
      return Fail("the token was used already");
    }
    return Status::Ok();
  }

 private:
  static Status Fail(std::string why) { return InvalidArgumentError(std::move(why)); }

  // The published key `kid`, refetching the set when it is not known (at most every 5 s).
  Pkey Key(const std::string& kid) {
    std::lock_guard l(mu_);
    if (auto it = keys_.find(kid); it != keys_.end()) return it->second;
    auto now = std::chrono::steady_clock::now();
    if (fetched_ && now - last_fetch_ < std::chrono::seconds(5)) return nullptr;
    last_fetch_ = now;
    fetched_ = true;
    auto text = fetch_();
    if (!text.ok()) return nullptr;
    boost::system::error_code ec;
    json::value set = json::parse(*text, ec);
    if (ec || !set.is_object()) return nullptr;
    const auto* list = set.as_object().if_contains("keys");
    if (!list || !list->is_array()) return nullptr;
    keys_.clear();
    for (const auto& k : list->as_array()) {
      if (!k.is_object()) continue;
      const auto* id = k.as_object().if_contains("kid");
      if (!id || !id->is_string()) continue;
      if (Pkey p = RsaKey(k.as_object())) keys_[std::string(id->as_string())] = p;
    }
    auto it = keys_.find(kid);
    return it == keys_.end() ? nullptr : it->second;
  }

  JwksFetcher fetch_;
  std::shared_ptr<const Clock> clock_;
  std::mutex mu_;
  std::map<std::string, Pkey> keys_;                      // guarded by mu_
  bool fetched_ = false;                                  // guarded by mu_
  std::chrono::steady_clock::time_point last_fetch_;      // guarded by mu_
  std::map<std::string, system_clock::time_point> used_;  // jti -> expiry; guarded by mu_
};

}  // namespace

std::unique_ptr<RequestAuthenticator> NewApiServerTokenAuthenticator(
    JwksFetcher fetch, std::shared_ptr<const Clock> clock) {
  return std::make_unique<ApiServerTokenAuthenticator>(std::move(fetch), std::move(clock));
}

}  // namespace keelson::kubelet
