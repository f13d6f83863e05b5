#include "apiserver/token.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/base64.h"

namespace keelson::apiserver {

namespace json = boost::json;

namespace {

std::string OpenSslError(std::string_view what) {
  unsigned long e = ERR_get_error();  // NOLINT(runtime/int): OpenSSL's type
  char buf[256] = "unknown error";
  if (e != 0) ERR_error_string_n(e, buf, sizeof(buf));
  ERR_clear_error();
  return std::string(what) + ": " + buf;
}

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct BnDeleter {
  void operator()(BIGNUM* b) const { BN_free(b); }
};

std::string BigNum(EVP_PKEY* pkey, const char* param) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, param, &raw) != 1) return "";
  std::unique_ptr<BIGNUM, BnDeleter> bn(raw);
  std::string out(static_cast<size_t>(BN_num_bytes(bn.get())), '\0');
  BN_bn2bin(bn.get(), reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

}  // namespace

struct TokenSigner::Key {
  EVP_PKEY* pkey = nullptr;
  ~Key() { EVP_PKEY_free(pkey); }
};

TokenSigner::TokenSigner(std::unique_ptr<Key> key) : key_(std::move(key)) {
  // The key id: base64url(SHA-256(DER SubjectPublicKeyInfo)).
  unsigned char* der = nullptr;
  int len = i2d_PUBKEY(key_->pkey, &der);
  if (len > 0) {
    std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
    SHA256(der, static_cast<size_t>(len), digest.data());
    key_id_ = Base64UrlEncode(
        std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
  }
  OPENSSL_free(der);
}

TokenSigner::~TokenSigner() = default;

Result<std::shared_ptr<TokenSigner>> TokenSigner::Ephemeral() {
  EVP_PKEY* pkey = EVP_RSA_gen(2048);
  if (pkey == nullptr) return InternalError(OpenSslError("generate a service account key"));
  auto key = std::make_unique<Key>();
  key->pkey = pkey;
  return std::shared_ptr<TokenSigner>(new TokenSigner(std::move(key)));
}

Result<std::shared_ptr<TokenSigner>> TokenSigner::LoadOrCreate(const std::string& key_file) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(key_file, ec)) {
    auto fresh = Ephemeral();
    if (!fresh.ok()) return fresh.status();
    std::unique_ptr<BIO, BioDeleter> mem(BIO_new(BIO_s_mem()));
    if (!mem || PEM_write_bio_PrivateKey(mem.get(), (*fresh)->key_->pkey, nullptr, nullptr, 0,
                                         nullptr, nullptr) != 1) {
      return InternalError(OpenSslError("encode the service account key"));
    }
    char* data = nullptr;
    long n = BIO_get_mem_data(mem.get(), &data);  // NOLINT(runtime/int): OpenSSL's type
    auto parent = fs::path(key_file).parent_path();
    if (!parent.empty()) fs::create_directories(parent, ec);
    std::string tmp = key_file + ".tmp";
    std::FILE* f = std::fopen(tmp.c_str(), "w");
    if (f == nullptr) {
      return InternalError("cannot write the service account key " + tmp + ": " +
                           std::strerror(errno));
    }
    ::fchmod(fileno(f), 0600);
    bool ok = std::fwrite(data, 1, static_cast<size_t>(n), f) == static_cast<size_t>(n);
    ok = std::fflush(f) == 0 && ::fsync(fileno(f)) == 0 && ok;
    ok = std::fclose(f) == 0 && ok;
    if (!ok) return InternalError("cannot write the service account key " + tmp);
    fs::rename(tmp, key_file, ec);
    if (ec) return InternalError("cannot write the service account key " + key_file + ": " +
                                 ec.message());
    return fresh;
  }
  std::ifstream in(key_file);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) return FailedPreconditionError("cannot read the service account key " + key_file);
  std::string pem = text.str();
  std::unique_ptr<BIO, BioDeleter> mem(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  EVP_PKEY* pkey = PEM_read_bio_PrivateKey(mem.get(), nullptr, nullptr, nullptr);
  if (pkey == nullptr) {
    ERR_clear_error();
    return FailedPreconditionError("the service account key " + key_file +
                                   " holds no PEM private key");
  }
  auto key = std::make_unique<Key>();
  key->pkey = pkey;
  if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA) {
    return FailedPreconditionError("the service account key " + key_file +
                                   " is not an RSA key (tokens are signed RS256)");
  }
  return std::shared_ptr<TokenSigner>(new TokenSigner(std::move(key)));
}

Result<std::string> TokenSigner::Sign(const json::object& claims) const {
  json::object header{{"alg", "RS256"}, {"kid", key_id_}};
  std::string input = Base64UrlEncode(json::serialize(header)) + "." +
                      Base64UrlEncode(json::serialize(claims));
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  size_t len = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_->pkey) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
    return InternalError(OpenSslError("sign a token"));
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
    return InternalError(OpenSslError("sign a token"));
  }
  sig.resize(len);
  return input + "." + Base64UrlEncode(sig);
}

Result<json::object> TokenSigner::Verify(std::string_view token) const {
  auto first = token.find('.');
  auto second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) {
    return InvalidArgumentError("a token has three dot-separated parts");
  }
  auto header_text = Base64UrlDecode(token.substr(0, first));
  auto payload_text = Base64UrlDecode(token.substr(first + 1, second - first - 1));
  auto sig = Base64UrlDecode(token.substr(second + 1));
  if (!header_text.ok() || !payload_text.ok() || !sig.ok()) {
    return InvalidArgumentError("a token's parts are base64url");
  }
  boost::system::error_code ec;
  json::value header = json::parse(*header_text, ec);
  if (ec || !header.is_object()) return InvalidArgumentError("the token header is not JSON");
  const auto* alg = header.as_object().if_contains("alg");
  if (alg == nullptr || *alg != "RS256") {
    return InvalidArgumentError("the token is not signed RS256");
  }
  if (const auto* kid = header.as_object().if_contains("kid"); kid && *kid != key_id_.c_str()) {
    return InvalidArgumentError("the token was signed by another key");
  }
  std::string_view input = token.substr(0, second);
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  if (!ctx ||
      EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_->pkey) != 1 ||
      EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig->data()),
                       sig->size(), reinterpret_cast<const unsigned char*>(input.data()),
                       input.size()) != 1) {
    ERR_clear_error();
    return InvalidArgumentError("the token's signature does not verify");
  }
  json::value payload = json::parse(*payload_text, ec);
  if (ec || !payload.is_object()) return InvalidArgumentError("the token claims are not JSON");
  return std::move(payload.as_object());
}

json::object TokenSigner::PublicJwk() const {
  return json::object{{"use", "sig"},
                      {"kty", "RSA"},
                      {"kid", key_id_},
                      {"alg", "RS256"},
                      {"n", Base64UrlEncode(BigNum(key_->pkey, OSSL_PKEY_PARAM_RSA_N))},
                      {"e", Base64UrlEncode(BigNum(key_->pkey, OSSL_PKEY_PARAM_RSA_E))}};
}

}  // namespace keelson::apiserver
