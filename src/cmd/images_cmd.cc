// `keelson images`: the images of the node's runtime. `import` loads image
// archives (OCI or `docker save`) for machines without a registry; `ls` lists
// what the runtime has.
#include <cstdio>
#include <string>
#include <vector>

#include "cmd/commands.h"
#include "cmd/flags.h"
#include "kubelet/containerd/containerd.h"

namespace keelson::cmd {
namespace {

constexpr const char* kImagesUsage =
    R"(Usage: keelson images import [flags] FILE.tar...
       keelson images ls [flags]

Imports image archives (OCI layout or `docker save`) into the node's containerd, for the
kubelet's pods, or lists the images it has.

)";

}  // namespace

int RunImagesCommand(int argc, char** argv) {
  if (argc < 2 || std::string_view(argv[1]) == "--help" || std::string_view(argv[1]) == "-h") {
    std::printf("%s", kImagesUsage);
    return argc < 2 ? 2 : 0;
  }
  std::string verb = argv[1];
  if (verb != "import" && verb != "ls") {
    std::fprintf(stderr, "keelson images: unknown verb '%s' (import, ls)\n", verb.c_str());
    return 2;
  }
  std::string data_dir = "/var/lib/keelson/agent";
  std::string endpoint;
  FlagSet f("images " + verb);
  f.String("data-dir", &data_dir,
           "the node's data dir, whose containerd to use (default " + data_dir + ")");
  f.String("container-runtime-endpoint", &endpoint,
           "the containerd socket (default: DATA-DIR/containerd/containerd.sock)");
  // Flags first, then the files.
  std::vector<char*> flag_args{argv[1]};
  std::vector<std::string> files;
  for (int i = 2; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a.rfind("--", 0) == 0 || a == "-h") {
      flag_args.push_back(argv[i]);
      if (a.find('=') == std::string_view::npos && a != "--help" && a != "-h" && i + 1 < argc) {
        flag_args.push_back(argv[++i]);
      }
    } else {
      files.emplace_back(a);
    }
  }
  bool help = false;
  if (auto s = f.Parse(static_cast<int>(flag_args.size()), flag_args.data(), &help); !s.ok()) {
    std::fprintf(stderr, "keelson images: %s\n", s.message().c_str());
    return 2;
  }
  if (help) {
    std::printf("%s%s", kImagesUsage, f.Usage().c_str());
    return 0;
  }
  if (endpoint.empty()) endpoint = "unix://" + data_dir + "/containerd/containerd.sock";
  if (verb == "ls") {
    auto names = kubelet::containerd::ListImageNames(endpoint);
    if (!names.ok()) {
      std::fprintf(stderr, "keelson images ls: %s\n", names.status().message().c_str());
      return 1;
    }
    for (const auto& n : *names) {
      if (n.rfind("sha256:", 0) != 0) std::printf("%s\n", n.c_str());
    }
    return 0;
  }
  if (files.empty()) {
    std::fprintf(stderr, "keelson images import: no archive given\n");
    return 2;
  }
  int failed = 0;
  for (const auto& file : files) {
    auto s = kubelet::containerd::ImportImages(endpoint, file);
    if (!s.ok()) {
      std::fprintf(stderr, "keelson images import: %s: %s\n", file.c_str(), s.message().c_str());
      ++failed;
    } else {
      std::printf("imported %s\n", file.c_str());
    }
  }
  return failed == 0 ? 0 : 1;
}

}  // namespace keelson::cmd
