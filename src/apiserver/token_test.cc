#include "apiserver/token.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <filesystem>
#include <fstream>

#include "common/base64.h"

namespace keelson::apiserver {
namespace {

namespace json = boost::json;

TEST(Base64Url, RoundTripsEveryLengthWithoutPadding) {
  std::string bytes;
  for (int i = 0; i < 40; ++i) {
    std::string enc = Base64UrlEncode(bytes);
    EXPECT_EQ(enc.find('='), std::string::npos);
    EXPECT_EQ(enc.find('+'), std::string::npos);
    EXPECT_EQ(enc.find('/'), std::string::npos);
    auto dec = Base64UrlDecode(enc);
    ASSERT_TRUE(dec.ok()) << enc;
    EXPECT_EQ(*dec, bytes);
    bytes.push_back(static_cast<char>(0xf0 + i));
  }
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_FALSE(Base64UrlDecode("ab+c").ok());
  EXPECT_FALSE(Base64UrlDecode("abcde").ok());  // a lone sixth-bit group is no byte
}

TEST(TokenSigner, SignsTokensThatVerifyAndRefusesTamperedOnes) {
  auto signer = TokenSigner::Ephemeral();
  ASSERT_TRUE(signer.ok()) << signer.status().message();
  json::object claims{{"sub", "system:serviceaccount:default:builder"}, {"exp", 1900000000}};
  auto token = (*signer)->Sign(claims);
  ASSERT_TRUE(token.ok());

  // header.payload.signature; the header names RS256 and the key.
  auto dot = token->find('.');
  auto header = Base64UrlDecode(token->substr(0, dot));
  ASSERT_TRUE(header.ok());
  json::value h = json::parse(*header);
  EXPECT_EQ(h.at("alg"), "RS256");
  EXPECT_EQ(h.at("kid"), (*signer)->key_id().c_str());
  EXPECT_EQ((*signer)->key_id().size(), 43u);  // base64url of a SHA-256

  auto back = (*signer)->Verify(*token);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, claims);

  // A changed claim no longer matches the signature.
  json::object forged = claims;
  forged["sub"] = "system:serviceaccount:kube-system:admin";
  std::string payload = Base64UrlEncode(json::serialize(forged));
  auto second = token->find('.', dot + 1);
  std::string tampered = token->substr(0, dot + 1) + payload + token->substr(second);
  EXPECT_FALSE((*signer)->Verify(tampered).ok());
  // Nor does another key's signature, or something that is no token at all.
  auto other = TokenSigner::Ephemeral();
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE((*other)->Verify(*token).ok());
  EXPECT_FALSE((*signer)->Verify("not.a-token").ok());
  EXPECT_FALSE((*signer)->Verify("").ok());
}

TEST(TokenSigner, KeepsItsKeyInAFileAcrossLoads) {
  auto dir = std::filesystem::temp_directory_path() /
             ("keelson-token-test-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::string file = (dir / "server" / "service-account.key").string();
  auto first = TokenSigner::LoadOrCreate(file);
  ASSERT_TRUE(first.ok()) << first.status().message();
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto token = (*first)->Sign(json::object{{"sub", "x"}});
  ASSERT_TRUE(token.ok());

  auto again = TokenSigner::LoadOrCreate(file);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ((*again)->key_id(), (*first)->key_id());
  EXPECT_TRUE((*again)->Verify(*token).ok());
  json::object jwk = (*again)->PublicJwk();
  EXPECT_EQ(jwk.at("kty"), "RSA");
  EXPECT_EQ(jwk.at("e"), "AQAB");  // 65537
  EXPECT_EQ(jwk.at("n").as_string().size(), 342u);  // 256 bytes of modulus

  // A file that holds no key is refused and left as it is.
  std::string junk = (dir / "junk.key").string();
  std::ofstream(junk) << "not a key\n";
  auto bad = TokenSigner::LoadOrCreate(junk);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("holds no PEM private key"), std::string::npos);
  std::ifstream in(junk);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "not a key");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace keelson::apiserver
