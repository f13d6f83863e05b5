// Service account tokens: JSON Web Tokens (RFC 7519) in the compact JWS form (RFC 7515),
// signed RS256 with the server's service account key, as the TokenRequest API
// (POST .../serviceaccounts/NAME/token) issues them. The key id is the one upstream derives
// (base64url of the SHA-256 of the DER public key), so verifiers find the key by `kid`.
#pragma once

#include <boost/json/object.hpp>

#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace keelson::apiserver {

class TokenSigner {
 public:
  // Loads the PEM RSA private key in `key_file`, or, when the file does not exist, creates a
  // 2048-bit key and writes it there (mode 0600, directories created). A file that holds no
  // RSA private key is an error, never overwritten.
  static Result<std::shared_ptr<TokenSigner>> LoadOrCreate(const std::string& key_file);
  // A fresh key that lives as long as the signer (tokens die with it).
  static Result<std::shared_ptr<TokenSigner>> Ephemeral();

  ~TokenSigner();
  TokenSigner(const TokenSigner&) = delete;
  TokenSigner& operator=(const TokenSigner&) = delete;

  // header.payload.signature, each base64url without padding.
  Result<std::string> Sign(const boost::json::object& claims) const;
  // The claims of a token this key signed; InvalidArgument for anything else (malformed,
  // another algorithm or key, a bad signature). Expiry is the caller's to check.
  Result<boost::json::object> Verify(std::string_view token) const;

  const std::string& key_id() const { return key_id_; }
  // The public key as a JSON Web Key (RFC 7517), as /openid/v1/jwks lists it.
  boost::json::object PublicJwk() const;

 private:
  struct Key;
  explicit TokenSigner(std::unique_ptr<Key> key);

  std::unique_ptr<Key> key_;
  std::string key_id_;
};

}  // namespace keelson::apiserver
