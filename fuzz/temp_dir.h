// A scratch directory for the fuzz targets that run a store: under $KEELSON_FUZZ_SCRATCH when
// set (scripts/fuzz.sh sets it and removes it after the run, also after a crash), else on
// /dev/shm when there is one (the store's fdatasync costs nothing there); removed when the
// process exits normally.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

namespace keelson::fuzz {

inline std::string ScratchDir(const char* name) {
  static std::string* dir = nullptr;
  std::string base = std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : "/tmp";
  if (const char* env = std::getenv("KEELSON_FUZZ_SCRATCH"); env != nullptr && *env != '\0') {
    base = env;
    std::error_code ec;
    std::filesystem::create_directories(base, ec);
  }
  std::string templ = base + "/keelson-fuzz-" + name + "-XXXXXX";
  if (mkdtemp(templ.data()) == nullptr) std::abort();
  dir = new std::string(templ);
  std::atexit([] {
    std::error_code ec;
    std::filesystem::remove_all(*dir, ec);
  });
  return *dir;
}

}  // namespace keelson::fuzz
