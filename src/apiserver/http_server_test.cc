#include "apiserver/http_server.h"

#include <gtest/gtest.h>

#include <string>

namespace keelson::apiserver {
namespace {

HttpServerOptions Options(size_t body_limit = 1024) {
  HttpServerOptions o;
  o.body_limit = body_limit;
  return o;
}

TEST(HttpParseTest, RequestLineHeadersQueryAndBody) {
  auto got = ParseHttpRequests(
      "POST /api/v1/namespaces/a%20b/configmaps?fieldManager=x+y&dryRun=All HTTP/1.1\r\n"
      "Host: h\r\nContent-Type:  application/json \r\nContent-Length: 2\r\n\r\n{}",
      Options());
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].status, 0);
  const HttpRequest& r = got[0].request;
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.path, "/api/v1/namespaces/a b/configmaps");
  EXPECT_EQ(r.Query("fieldManager"), "x y");
  EXPECT_EQ(r.Query("dryRun"), "All");
  EXPECT_EQ(r.Header("content-type"), "application/json");
  EXPECT_EQ(r.body, "{}");
  EXPECT_TRUE(got[0].keep_alive);
}

TEST(HttpParseTest, PipelinedAndChunkedRequests) {
  auto got = ParseHttpRequests(
      "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
      "PUT /b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\n\r\n"
      "GET /c HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
      "GET /never HTTP/1.1\r\n\r\n",
      Options());
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].request.path, "/a");
  EXPECT_EQ(got[1].request.body, "abcde");
  EXPECT_EQ(got[2].request.path, "/c");
  EXPECT_FALSE(got[2].keep_alive);
}

TEST(HttpParseTest, BodiesOverTheLimitAre413WhateverTheirFraming) {
  std::string big(2000, 'x');
  auto cl = ParseHttpRequests("POST /a HTTP/1.1\r\nContent-Length: 2000\r\n\r\n" + big, Options());
  ASSERT_EQ(cl.size(), 1u);
  EXPECT_EQ(cl[0].status, 413);
  // Refused from the header alone, before the body arrives.
  auto early = ParseHttpRequests("POST /a HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n",
                                 Options());
  ASSERT_EQ(early.size(), 1u);
  EXPECT_EQ(early[0].status, 413);
  std::string chunked = "POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 5; ++i) chunked += "1f4\r\n" + std::string(500, 'y') + "\r\n";
  chunked += "0\r\n\r\n";
  auto ch = ParseHttpRequests(chunked, Options());
  ASSERT_EQ(ch.size(), 1u);
  EXPECT_EQ(ch[0].status, 413);
  auto exact = ParseHttpRequests(
      "POST /a HTTP/1.1\r\nContent-Length: 1024\r\n\r\n" + std::string(1024, 'z'), Options());
  ASSERT_EQ(exact.size(), 1u);
  EXPECT_EQ(exact[0].status, 0);
}

TEST(HttpParseTest, MalformedRequestsAre400AndHugeHeaders431) {
  for (std::string bad : {"GARBAGE\r\n\r\n", "GET / HTTP/9.9\r\n\r\n", "GET\x01 / HTTP/1.1\r\n\r\n",
                          "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
                          "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                          "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"}) {
    auto got = ParseHttpRequests(bad, Options());
    ASSERT_EQ(got.size(), 1u) << bad;
    EXPECT_EQ(got[0].status, 400) << bad;
  }
  auto huge = ParseHttpRequests(
      "GET / HTTP/1.1\r\nX-A: " + std::string(70 * 1024, 'a') + "\r\n\r\n", Options());
  ASSERT_EQ(huge.size(), 1u);
  EXPECT_EQ(huge[0].status, 431);
}

TEST(HttpParseTest, AnUnfinishedRequestYieldsNothing) {
  EXPECT_TRUE(ParseHttpRequests("GET / HTTP/1.1\r\nHost:", Options()).empty());
  EXPECT_TRUE(ParseHttpRequests("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc", Options())
                  .empty());
}

}  // namespace
}  // namespace keelson::apiserver
