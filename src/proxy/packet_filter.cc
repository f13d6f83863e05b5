#include "proxy/packet_filter.h"

#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

extern char** environ;

namespace keelson::proxy {
namespace {

// A file in memory holding `text`, rewound; -1 on failure.
int MemFile(const char* name, const std::string& text) {
  int fd = memfd_create(name, MFD_CLOEXEC);
  if (fd < 0) return -1;
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      close(fd);
      return -1;
    }
    done += static_cast<size_t>(n);
  }
  lseek(fd, 0, SEEK_SET);
  return fd;
}

std::vector<std::string> InNamespace(const ToolOptions& o, std::vector<std::string> argv) {
  if (o.netns.empty()) return argv;
  std::vector<std::string> out = {"ip", "netns", "exec", o.netns};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

class NftPacketFilter final : public PacketFilter {
 public:
  explicit NftPacketFilter(ToolOptions o) : o_(std::move(o)) {}

  Status Apply(const std::string& script) override {
    auto r = RunTool(o_, {o_.nft, "-f", "-"}, script);
    if (!r.ok()) return r.status();
    if (r->exit_code != 0) {
      return UnavailableError("nft -f: exit " + std::to_string(r->exit_code) + ": " +
                              Trim(r->output.substr(0, 4096)));
    }
    return Status::Ok();
  }

  Result<bool> MapExists(const std::string& table, const std::string& map) override {
    auto r = RunTool(o_, {o_.nft, "list", "map", "ip", table, map});
    if (!r.ok()) return r.status();
    if (r->exit_code == 0) return true;
    if (r->output.find("No such file or directory") != std::string::npos) return false;
    return UnavailableError("nft list map: " + Trim(r->output));
  }

  Result<std::string> ListTable(const std::string& table) override {
    auto r = RunTool(o_, {o_.nft, "list", "table", "ip", table});
    if (!r.ok()) return r.status();
    if (r->exit_code != 0) return NotFoundError("nft list table: " + Trim(r->output));
    return r->output;
  }

 private:
  const ToolOptions o_;
};

class ConntrackTool final : public Conntrack {
 public:
  explicit ConntrackTool(ToolOptions o) : o_(std::move(o)) {}

  Status ClearDestination(const std::string& protocol, const std::string& ip,
                          const std::string& endpoint_ip) override {
    std::vector<std::string> argv = {o_.conntrack, "-D", "-p", protocol, "--orig-dst", ip};
    if (!endpoint_ip.empty()) argv.insert(argv.end(), {"--dst-nat", endpoint_ip});
    return Run(std::move(argv));
  }

  Status ClearNodePort(const std::string& protocol, int port,
                       const std::string& endpoint_ip) override {
    std::vector<std::string> argv = {o_.conntrack,   "-D", "-p", protocol, "--orig-port-dst",
                                     std::to_string(port)};
    if (!endpoint_ip.empty()) argv.insert(argv.end(), {"--dst-nat", endpoint_ip});
    return Run(std::move(argv));
  }

 private:
  Status Run(std::vector<std::string> argv) {
    auto r = RunTool(o_, std::move(argv));
    if (!r.ok()) return r.status();
    // conntrack exits 1 when no flow matched ("0 flow entries have been deleted").
    if (r->exit_code != 0 && r->output.find("0 flow entries") == std::string::npos) {
      return UnavailableError("conntrack: " + Trim(r->output));
    }
    return Status::Ok();
  }

  const ToolOptions o_;
};

}  // namespace

Result<CommandResult> RunCommand(const std::vector<std::string>& argv, const std::string& input) {
  if (argv.empty()) return InvalidArgumentError("no command");
  int in = MemFile("stdin", input);
  int out = memfd_create("output", MFD_CLOEXEC);
  if (in < 0 || out < 0) {
    if (in >= 0) close(in);
    if (out >= 0) close(out);
    return InternalError(std::string("memfd_create: ") + std::strerror(errno));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in, STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out, STDERR_FILENO);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(in);
  if (rc != 0) {
    close(out);
    return UnavailableError("cannot run " + argv[0] + ": " + std::strerror(rc));
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  CommandResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  lseek(out, 0, SEEK_SET);
  char buf[8192];
  ssize_t n;
  while ((n = read(out, buf, sizeof buf)) > 0 && result.output.size() < (1 << 24)) {
    result.output.append(buf, static_cast<size_t>(n));
  }
  close(out);
  return result;
}

Result<CommandResult> RunTool(const ToolOptions& options, std::vector<std::string> argv,
                              const std::string& input) {
  return RunCommand(InNamespace(options, std::move(argv)), input);
}

std::unique_ptr<PacketFilter> NewNftPacketFilter(ToolOptions options) {
  return std::make_unique<NftPacketFilter>(std::move(options));
}

std::unique_ptr<Conntrack> NewConntrackTool(ToolOptions options) {
  return std::make_unique<ConntrackTool>(std::move(options));
}

}  // namespace keelson::proxy
