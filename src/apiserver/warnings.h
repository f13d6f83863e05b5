// Warnings for the client (upstream's `Warning: 299 - "..."` headers), gathered while one
// request is served and written with its answer (WarningExchange, negotiation.h).
//
// Thread-safe: a request's stages may add from different threads.
#pragma once

#include <mutex>
#include <string>
#include <vector>

namespace keelson::apiserver {

class Warnings {
 public:
  void Add(std::string text) {
    std::lock_guard l(mu_);
    texts_.push_back(std::move(text));
  }
  std::vector<std::string> Take() {
    std::lock_guard l(mu_);
    return std::move(texts_);
  }

 private:
  std::mutex mu_;
  std::vector<std::string> texts_;  // guarded by mu_
};

}  // namespace keelson::apiserver
