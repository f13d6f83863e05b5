// The HTTP request parser with the server's settings (apiserver/http_server.h
// ParseHttpRequests: request line, headers, Content-Length and chunked bodies, pipelining),
// and the query and percent-decoding of what it parses. Invariants: nothing crashes, leaks or
// hangs; no parsed body is over the limit; refusals are 400, 413 or 431.
#include "apiserver/http_server.h"
#include "fuzz/fuzz_util.h"

using namespace keelson;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  apiserver::HttpServerOptions opts;
  opts.body_limit = 4096;  // small, so that the fuzzer reaches it
  auto parsed = apiserver::ParseHttpRequests(bytes, opts);
  for (const auto& p : parsed) {
    if (p.status != 0) {
      fuzz::Check(p.status == 400 || p.status == 413 || p.status == 431,
                  "an unexpected refusal status", std::to_string(p.status));
      fuzz::Check(&p == &parsed.back(), "a refusal is not the last thing on a connection");
      continue;
    }
    fuzz::Check(p.request.body.size() <= opts.body_limit, "a body over the limit was read");
    (void)p.request.Header("content-type");
    (void)p.request.Query("watch");
  }
  return 0;
}
