// A temporary directory removed with everything in it when the object goes away.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

namespace keelson::testing {

class TempDir {
 public:
  explicit TempDir(const std::string& tag = "keelson") {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / (tag + "-XXXXXX")).string();
    char* p = ::mkdtemp(tmpl.data());
    path_ = p ? p : "";
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace keelson::testing
