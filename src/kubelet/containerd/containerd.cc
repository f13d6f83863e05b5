#include "kubelet/containerd/containerd.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <string_view>
#include <thread>
#include <utility>

#include "common/log.h"

extern char** environ;

namespace keelson::kubelet::containerd {
namespace {

using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::string_view kComponent = "containerd";
constexpr off_t kLogRotateBytes = off_t{10} << 20;
constexpr int kLogTailLines = 12;
constexpr size_t kMaxCommandOutput = size_t{1} << 20;
// The ttrpc socket containerd puts next to the gRPC one.
constexpr std::string_view kTtrpcSuffix = ".ttrpc";
// PATH entries containerd must see: its shims look runc up on PATH, and runc is
// in /usr/sbin.
constexpr const char* kSystemPath[] = {"/usr/local/sbin", "/usr/local/bin", "/usr/sbin",
                                       "/usr/bin",        "/sbin",          "/bin"};

std::string ErrnoText(int err) { return std::strerror(err); }

long long Millis(SteadyClock::duration d) {
  return std::chrono::duration_cast<milliseconds>(d).count();
}

// A file descriptor that is closed when it goes away.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) Reset(std::exchange(other.fd_, -1));
    return *this;
  }
  ~UniqueFd() { Reset(); }
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void Reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

std::string TomlString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string Dirname(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

bool IsExecutableFile(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// `name` itself when it holds a slash, else its first executable match on PATH.
std::optional<std::string> FindExecutable(const std::string& name) {
  if (name.empty()) return std::nullopt;
  if (name.find('/') != std::string::npos) {
    if (IsExecutableFile(name)) return name;
    return std::nullopt;
  }
  const char* env_path = std::getenv("PATH");
  std::string path = env_path ? env_path : "/usr/local/bin:/usr/bin:/bin";
  std::stringstream dirs(path);
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (IsExecutableFile(candidate)) return candidate;
  }
  return std::nullopt;
}

// The environment containerd runs with: ours, with the system directories on
// PATH and without the variables through which systemd talks to the agent
// (containerd would answer for it).
std::vector<std::string> ContainerdEnvironment() {
  std::vector<std::string> env;
  std::string path;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view kv(*e);
    if (kv.starts_with("NOTIFY_SOCKET=") || kv.starts_with("LISTEN_FDS=") ||
        kv.starts_with("LISTEN_PID=") || kv.starts_with("LISTEN_FDNAMES=")) {
      continue;
    }
    if (kv.starts_with("PATH=")) {
      path = std::string(kv.substr(5));
      continue;
    }
    env.emplace_back(kv);
  }
  std::string padded = ":" + path + ":";
  for (const char* dir : kSystemPath) {
    if (padded.find(std::string(":") + dir + ":") != std::string::npos) continue;
    if (!path.empty()) path += ':';
    path += dir;
  }
  env.push_back("PATH=" + path);
  return env;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Status WriteFileAtomically(const std::string& path, const std::string& content) {
  std::string tmp = path + ".tmp";
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) return InternalError("cannot create " + tmp + ": " + ErrnoText(errno));
  size_t off = 0;
  while (off < content.size()) {
    ssize_t n = ::write(fd.get(), content.data() + off, content.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return InternalError("cannot write " + tmp + ": " + ErrnoText(errno));
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0) return InternalError("cannot sync " + tmp + ": " + ErrnoText(errno));
  fd.Reset();
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return InternalError("cannot rename " + tmp + " to " + path + ": " + ErrnoText(errno));
  }
  return Status::Ok();
}

Status MakeDirs(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return InternalError("cannot create directory " + path + ": " + ec.message());
  return Status::Ok();
}

// The last `lines` lines of the file, indented, for error messages; "(empty)"
// when none.
std::string LogTail(const std::string& path, int lines) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return "    (cannot read " + path + ": " + ErrnoText(errno) + ")";
  off_t size = ::lseek(fd.get(), 0, SEEK_END);
  off_t start = std::max<off_t>(0, size - 16384);
  std::string data(static_cast<size_t>(size - start), '\0');
  ssize_t n = ::pread(fd.get(), data.data(), data.size(), start);
  data.resize(n > 0 ? static_cast<size_t>(n) : 0);
  std::vector<std::string_view> all;
  std::string_view rest(data);
  while (!rest.empty()) {
    auto nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    if (!line.empty()) all.push_back(line);
    if (nl == std::string_view::npos) break;
    rest.remove_prefix(nl + 1);
  }
  if (all.empty()) return "    (empty)";
  std::string out;
  size_t from = all.size() > static_cast<size_t>(lines) ? all.size() - lines : 0;
  for (size_t i = from; i < all.size(); ++i) {
    out += "    ";
    out += all[i];
    if (i + 1 < all.size()) out += '\n';
  }
  return out;
}

struct SocketProbe {
  bool live = false;
  pid_t peer = 0;  // the listening process (SO_PEERCRED); 0 when unknown
  int error = 0;   // connect's errno when not live
};

SocketProbe ProbeSocket(const std::string& path) {
  SocketProbe probe;
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) {
    probe.error = errno;
    return probe;
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    probe.error = ENAMETOOLONG;
    return probe;
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  int rc;
  do {
    rc = ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    probe.error = errno;
    return probe;
  }
  probe.live = true;
  ucred cred{};
  socklen_t len = sizeof(cred);
  if (::getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) probe.peer = cred.pid;
  return probe;
}

std::vector<std::string> Cmdline(pid_t pid) {
  std::string raw = ReadFile("/proc/" + std::to_string(pid) + "/cmdline");
  std::vector<std::string> args;
  size_t start = 0;
  while (start < raw.size()) {
    size_t end = raw.find('\0', start);
    if (end == std::string::npos) end = raw.size();
    args.push_back(raw.substr(start, end - start));
    start = end + 1;
  }
  return args;
}

std::string JoinArgs(const std::vector<std::string>& args) {
  std::string out;
  for (const auto& a : args) {
    if (!out.empty()) out += ' ';
    out += a;
  }
  return out.empty() ? "(unknown)" : out;
}

// Whether `args` is a process started with `--config <config_path>`: a
// containerd of ours (the path is this data directory's own).
bool RunsConfig(const std::vector<std::string>& args, const std::string& config_path) {
  for (size_t i = 0; i < args.size(); ++i) {
    if ((args[i] == "--config" || args[i] == "-c") && i + 1 < args.size() &&
        args[i + 1] == config_path) {
      return true;
    }
    if (args[i] == "--config=" + config_path) return true;
  }
  return false;
}

int PidfdOpen(pid_t pid) {
#ifdef SYS_pidfd_open
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
#else
  (void)pid;
  errno = ENOSYS;
  return -1;
#endif
}

std::string SignalName(int sig) {
  const char* abbrev = ::sigabbrev_np(sig);
  return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

// The parent pid from /proc/<pid>/stat; 0 when unknown.
pid_t ParentPid(pid_t pid) {
  std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  auto paren = stat.rfind(')');
  if (paren == std::string::npos) return 0;
  std::stringstream fields(stat.substr(paren + 1));
  std::string state;
  pid_t ppid = 0;
  fields >> state >> ppid;
  return ppid;
}

// Reads /proc/<pid>/stat's state: whether the process is gone or a zombie.
bool ProcessGoneOrZombie(pid_t pid) {
  std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  if (stat.empty()) return true;
  auto paren = stat.rfind(')');
  return paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 2] == 'Z';
}

// A containerd process: our child (then we reap it) or adopted from an earlier
// agent.
struct Process {
  pid_t pid = 0;
  UniqueFd pidfd;        // invalid where pidfd_open is unsupported: then /proc and
                         // waitpid are polled
  bool child = false;    // ours to reap
  bool adopted = false;  // found running at Start rather than started by this supervisor
  SteadyClock::time_point started;
  bool reaped = false;
  int wait_status = -1;  // from waitpid; -1 when unknown (adopted, or reaped by someone else)

  // Non-blocking: whether it has exited (reaping it when it is our child).
  bool CheckExited() {
    if (reaped) return true;
    if (pidfd.valid()) {
      pollfd p{pidfd.get(), POLLIN, 0};
      if (::poll(&p, 1, 0) <= 0) return false;
      Reap();
      return true;
    }
    if (child) {
      int status = 0;
      pid_t r = ::waitpid(pid, &status, WNOHANG);
      if (r == 0) return false;
      reaped = true;
      if (r == pid) wait_status = status;
      return true;
    }
    if (ProcessGoneOrZombie(pid)) {
      reaped = true;
      return true;
    }
    return false;
  }

  void Reap() {
    if (reaped) return;
    reaped = true;
    if (!child) return;
    int status = 0;
    pid_t r;
    do {
      r = ::waitpid(pid, &status, 0);
    } while (r < 0 && errno == EINTR);
    if (r == pid) wait_status = status;
  }

  enum class Wait { kExited, kTimedOut, kWoken };
  // Waits until the process exits, `timeout` passes or `wake_fd` (if >= 0)
  // becomes readable.
  Wait WaitForExit(SteadyClock::duration timeout, int wake_fd) {
    auto deadline = SteadyClock::now() + timeout;
    for (;;) {
      if (reaped) return Wait::kExited;
      long long left = std::max<long long>(0, Millis(deadline - SteadyClock::now()) + 1);
      int slice = static_cast<int>(std::min<long long>(left, pidfd.valid() ? INT_MAX : 50));
      pollfd fds[2];
      nfds_t n = 0;
      if (pidfd.valid()) fds[n++] = {pidfd.get(), POLLIN, 0};
      int wake_index = -1;
      if (wake_fd >= 0) {
        wake_index = static_cast<int>(n);
        fds[n++] = {wake_fd, POLLIN, 0};
      }
      int r = ::poll(fds, n, slice);
      if (r < 0 && errno != EINTR) {
        std::this_thread::sleep_for(milliseconds(10));
      }
      if (CheckExited()) return Wait::kExited;
      if (wake_index >= 0 && r > 0 && (fds[wake_index].revents & POLLIN)) return Wait::kWoken;
      if (SteadyClock::now() >= deadline) return Wait::kTimedOut;
    }
  }

  void Signal(int sig) {
    if (reaped) return;
#ifdef SYS_pidfd_send_signal
    if (pidfd.valid() && ::syscall(SYS_pidfd_send_signal, pidfd.get(), sig, nullptr, 0) == 0) {
      return;
    }
#endif
    ::kill(pid, sig);
  }

  std::string DescribeExit() const {
    if (wait_status < 0) return "exited";
    if (WIFEXITED(wait_status)) {
      return "exited with status " + std::to_string(WEXITSTATUS(wait_status));
    }
    if (WIFSIGNALED(wait_status)) return "was killed by " + SignalName(WTERMSIG(wait_status));
    return "exited";
  }
};

// SIGTERM, then SIGKILL after `grace`; Internal when the process outlives both.
Status Terminate(Process& p, milliseconds grace) {
  if (p.CheckExited()) return Status::Ok();
  p.Signal(SIGTERM);
  if (p.WaitForExit(grace, -1) == Process::Wait::kExited) return Status::Ok();
  LogWarning(kComponent, "containerd (pid " + std::to_string(p.pid) + ") still running " +
                             std::to_string(grace.count()) + " ms after SIGTERM; sending SIGKILL");
  p.Signal(SIGKILL);
  if (p.WaitForExit(std::chrono::seconds(10), -1) == Process::Wait::kExited) return Status::Ok();
  return InternalError("containerd (pid " + std::to_string(p.pid) + ") survived SIGKILL");
}

void RotateLogIfLarge(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && st.st_size > kLogRotateBytes) {
    std::string old = path + ".1";
    if (::rename(path.c_str(), old.c_str()) != 0) {
      LogWarning(kComponent, "cannot rotate " + path + ": " + ErrnoText(errno));
    }
  }
}

// Starts `argv` with stdin from /dev/null, stdout and stderr to `out_fd` and
// `err_fd`, no other descriptors, default signal handling, an empty signal mask
// and, when `new_session`, in a session (and process group) of its own.
// `argv[0]` is looked up on PATH when it has no slash. Returns the errno of
// posix_spawn (0 on success).
int SpawnProcess(std::vector<std::string> argv, std::vector<std::string> env, int out_fd,
                 int err_fd, bool new_session, pid_t* pid) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_fd, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_fd, STDERR_FILENO);
  posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);

  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  if (new_session) flags |= POSIX_SPAWN_SETSID;
  posix_spawnattr_setflags(&attr, flags);
  sigset_t mask;
  sigemptyset(&mask);
  posix_spawnattr_setsigmask(&attr, &mask);
  sigset_t defaults;
  sigfillset(&defaults);
  posix_spawnattr_setsigdefault(&attr, &defaults);

  std::vector<char*> cargv = CStrings(argv);
  std::vector<char*> cenv = CStrings(env);
  int rc = posix_spawnp(pid, cargv[0], &actions, &attr, cargv.data(), cenv.data());
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  return rc;
}

// A descriptor numbered above stderr (posix_spawn's dup2 onto 1 and 2 needs the
// source apart).
UniqueFd AboveStdio(UniqueFd fd) {
  if (!fd.valid() || fd.get() > STDERR_FILENO) return fd;
  return UniqueFd(::fcntl(fd.get(), F_DUPFD_CLOEXEC, STDERR_FILENO + 1));
}

struct CommandResult {
  int wait_status = 0;
  std::string out;
  std::string err;
  bool Succeeded() const { return WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0; }
  std::string Describe() const {
    if (WIFEXITED(wait_status)) return "exit status " + std::to_string(WEXITSTATUS(wait_status));
    if (WIFSIGNALED(wait_status)) return "killed by " + SignalName(WTERMSIG(wait_status));
    return "failed";
  }
};

// Runs `argv` to completion, capturing stdout and stderr (up to 1 MiB each).
// FailedPrecondition when the program cannot be started (not found);
// DeadlineExceeded after `timeout` (the process is killed).
Result<CommandResult> RunCommand(const std::vector<std::string>& argv, milliseconds timeout) {
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return InternalError("pipe: " + ErrnoText(errno));
  UniqueFd out_r(out_pipe[0]), out_w(out_pipe[1]);
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) return InternalError("pipe: " + ErrnoText(errno));
  UniqueFd err_r(err_pipe[0]), err_w(err_pipe[1]);
  out_w = AboveStdio(std::move(out_w));
  err_w = AboveStdio(std::move(err_w));

  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) env.emplace_back(*e);
  pid_t pid = 0;
  int rc = SpawnProcess(argv, env, out_w.get(), err_w.get(), false, &pid);
  if (rc != 0) {
    return FailedPreconditionError("cannot run " + argv[0] + ": " + ErrnoText(rc));
  }
  out_w.Reset();
  err_w.Reset();

  CommandResult result;
  auto deadline = SteadyClock::now() + timeout;
  bool timed_out = false;
  std::string* sinks[2] = {&result.out, &result.err};
  UniqueFd* sources[2] = {&out_r, &err_r};
  while (out_r.valid() || err_r.valid()) {
    long long left = Millis(deadline - SteadyClock::now());
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd fds[2];
    int idx[2];
    nfds_t n = 0;
    for (int i = 0; i < 2; ++i) {
      if (!sources[i]->valid()) continue;
      idx[n] = i;
      fds[n++] = {sources[i]->get(), POLLIN, 0};
    }
    int r = ::poll(fds, n, static_cast<int>(std::min<long long>(left, INT_MAX)));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return InternalError("poll: " + ErrnoText(errno));
    for (nfds_t k = 0; k < n; ++k) {
      if (fds[k].revents == 0) continue;
      char buf[8192];
      ssize_t got = ::read(fds[k].fd, buf, sizeof(buf));
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        sources[idx[k]]->Reset();
        continue;
      }
      std::string* sink = sinks[idx[k]];
      size_t room = kMaxCommandOutput - std::min(kMaxCommandOutput, sink->size());
      sink->append(buf, std::min(room, static_cast<size_t>(got)));
    }
  }
  if (timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  pid_t w;
  do {
    w = ::waitpid(pid, &status, 0);
  } while (w < 0 && errno == EINTR);
  if (timed_out) {
    return Status(StatusCode::kDeadlineExceeded,
                  argv[0] + " did not finish within " + std::to_string(timeout.count()) + " ms");
  }
  result.wait_status = w == pid ? status : 0;
  return result;
}

std::string Trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  size_t i = 0;
  while (i < s.size() && (s[i] == '\n' || s[i] == ' ')) ++i;
  return s.substr(i);
}

std::string SocketPathOf(const std::string& endpoint) {
  constexpr std::string_view kUnix = "unix://";
  if (endpoint.starts_with(kUnix)) return endpoint.substr(kUnix.size());
  return endpoint;
}

// Runs `ctr --address <socket> --namespace <ns> <args...>` and turns a failure
// into a Status.
Result<CommandResult> RunCtr(const std::string& endpoint, const CtrOptions& options,
                             const std::vector<std::string>& args, const std::string& what) {
  if (!FindExecutable(options.ctr_binary)) {
    return FailedPreconditionError("ctr (\"" + options.ctr_binary +
                                   "\") not found; it comes with containerd "
                                   "(scripts/install-deps.sh installs it)");
  }
  std::string address = SocketPathOf(endpoint);
  // ctr would wait 10 s to dial a socket nobody serves.
  SocketProbe probe = ProbeSocket(address);
  if (!probe.live) {
    return UnavailableError("containerd is not serving " + address + " (" + what +
                            "): connect: " + ErrnoText(probe.error));
  }
  std::vector<std::string> argv = {options.ctr_binary, "--address", address, "--namespace",
                                   options.ns};
  argv.insert(argv.end(), args.begin(), args.end());
  auto result = RunCommand(argv, options.timeout);
  if (!result.ok()) return result.status();
  if (result->Succeeded()) return result;
  std::string message = Trimmed(result->err.empty() ? result->out : result->err);
  bool unreachable = message.find("connection refused") != std::string::npos ||
                     message.find("failed to dial") != std::string::npos ||
                     message.find("error while dialing") != std::string::npos ||
                     (message.find("no such file or directory") != std::string::npos &&
                      message.find(address) != std::string::npos);
  if (unreachable) {
    return UnavailableError("containerd at " + address + " is not reachable (" + what +
                            "): " + message);
  }
  return InternalError(what + " failed (ctr " + result->Describe() + "): " + message);
}

}  // namespace

std::string RenderContainerdConfig(const ContainerdOptions& o) {
  const std::string dir = o.data_dir + "/containerd";
  const std::string conf_dir = o.cni_conf_dir.empty() ? dir + "/net.d" : o.cni_conf_dir;
  const std::string cri = "[plugins.\"io.containerd.grpc.v1.cri\"";
  std::string t;
  t += "# containerd's configuration, written by the keelson node agent at "
       "every start of\n";
  t += "# containerd: edits here are overwritten (change the agent's options "
       "instead).\n";
  t += "version = 2\n";
  t += "root = " + TomlString(dir + "/root") + "\n";
  t += "state = " + TomlString(dir + "/state") + "\n";
  t += "oom_score = 0\n";
  t += "# Snapshotters the node does not use; overlayfs and native stay.\n";
  t += "disabled_plugins = [\"io.containerd.snapshotter.v1.aufs\", "
       "\"io.containerd.snapshotter.v1.btrfs\", "
       "\"io.containerd.snapshotter.v1.zfs\", "
       "\"io.containerd.snapshotter.v1.devmapper\"]\n";
  t += "\n[grpc]\n";
  t += "  address = " + TomlString(dir + "/containerd.sock") + "\n";
  t += "  uid = 0\n  gid = 0\n";
  t += "\n[debug]\n";
  t += "  level = " + TomlString(o.log_level) + "\n";
  t += "\n[plugins]\n";
  // The opt plugin would otherwise create /opt/containerd.
  t += "  [plugins.\"io.containerd.internal.v1.opt\"]\n";
  t += "    path = " + TomlString(dir + "/opt") + "\n";
  t += "  " + cri + "]\n";
  t += "    sandbox_image = " + TomlString(o.sandbox_image) + "\n";
  t += "    stream_server_address = \"127.0.0.1\"\n";
  t += "    stream_server_port = \"0\"\n";
  t += "    enable_selinux = false\n";
  t += "    # oom_score_adj of sandboxes and containers no lower than "
       "containerd's own: where\n";
  t += "    # the agent lacks CAP_SYS_RESOURCE (VMs and nested setups) runc "
       "cannot lower it.\n";
  t += "    restrict_oom_score_adj = true\n";
  t += "    # Pod network namespaces under state/ rather than /run/netns, so "
       "that two nodes'\n";
  t += "    # containerds on one machine never share them.\n";
  t += "    netns_mounts_under_state_dir = true\n";
  t += "    " + cri + ".containerd]\n";
  t += "      snapshotter = " + TomlString(o.snapshotter) + "\n";
  t += "      default_runtime_name = \"runc\"\n";
  t += "      " + cri + ".containerd.runtimes.runc]\n";
  t += "        runtime_type = \"io.containerd.runc.v2\"\n";
  t += "        " + cri + ".containerd.runtimes.runc.options]\n";
  t += "          # The cgroupfs driver, as the kubelet's.\n";
  t += "          SystemdCgroup = false\n";
  t += "          # runc's state of its own, not the host's shared "
       "/run/containerd/runc.\n";
  t += "          Root = " + TomlString(dir + "/runc") + "\n";
  t += "    # Registry hosts: certs.d/<host[:port]>/hosts.toml. Without one, a registry is\n";
  t += "    # reached over HTTPS, or plain HTTP on localhost and loopback addresses.\n";
  t += "    " + cri + ".registry]\n";
  t += "      config_path = " + TomlString(dir + "/certs.d") + "\n";
  t += "    " + cri + ".cni]\n";
  t += "      bin_dir = " + TomlString(o.cni_bin_dir) + "\n";
  t += "      conf_dir = " + TomlString(conf_dir) + "\n";
  t += "      max_conf_num = 1\n";
  return t;
}

// ----------------------------------------------------------------------------------------------

class ContainerdSupervisor::Impl {
 public:
  explicit Impl(ContainerdOptions options)
      : options_(std::move(options)),
        dir_(options_.data_dir + "/containerd"),
        socket_path_(dir_ + "/containerd.sock"),
        config_path_(dir_ + "/config.toml"),
        log_path_(dir_ + "/containerd.log") {}

  ~Impl() {
    if (lock_fd_ >= 0) ::close(lock_fd_);
    if (wake_fd_ >= 0) ::close(wake_fd_);
  }

  Status Start();
  Status Stop();
  void Detach();
  Status WaitReady(milliseconds timeout) const;

  pid_t Pid() const {
    std::lock_guard lock(mu_);
    return process_ ? process_->pid : 0;
  }
  int Restarts() const {
    std::lock_guard lock(mu_);
    return restarts_;
  }
  bool Adopted() const {
    std::lock_guard lock(mu_);
    return process_ != nullptr && process_->adopted;
  }

  const ContainerdOptions options_;
  const std::string dir_;
  const std::string socket_path_;
  const std::string config_path_;
  const std::string log_path_;
  std::string binary_path_;  // set by Start, then constant
  std::string ctr_binary_;   // set by Start, then constant

 private:
  Status Prepare();
  Result<Process> Spawn();
  // Waits until `p` serves the socket. Cancelled when `wake_fd` fires (a stop
  // was requested); Unavailable when `p` exited or `timeout` passed (quoting
  // containerd.log).
  Status AwaitSocket(Process& p, milliseconds timeout, int wake_fd);
  void Monitor();
  std::unique_ptr<Process> EndSupervision();

  int lock_fd_ = -1;
  int wake_fd_ = -1;  // eventfd, written once when a stop is requested

  mutable std::mutex mu_;
  std::condition_variable cv_;
  // Guarded by mu_. process_ is replaced only by the monitor thread (and by
  // EndSupervision after that thread has ended), so the monitor thread reads it
  // without the lock.
  std::unique_ptr<Process> process_;
  int restarts_ = 0;
  bool stop_requested_ = false;

  std::mutex shutdown_mu_;  // serializes Stop and Detach; guards shut_down_
  bool shut_down_ = false;
  std::thread monitor_;
};

Status ContainerdSupervisor::Impl::Prepare() {
  if (options_.data_dir.empty()) return InvalidArgumentError("containerd: data_dir is not set");
  sockaddr_un addr;
  if (socket_path_.size() + kTtrpcSuffix.size() >= sizeof(addr.sun_path)) {
    return InvalidArgumentError(
        "containerd socket path " + socket_path_ + " is " + std::to_string(socket_path_.size()) +
        " bytes; with containerd's \".ttrpc\" suffix "
        "it must fit a Unix socket path (" +
        std::to_string(sizeof(addr.sun_path) - 1) + " bytes): use a shorter data directory");
  }
  auto binary = FindExecutable(options_.binary);
  if (!binary) {
    return FailedPreconditionError("containerd binary \"" + options_.binary +
                                   "\" not found (not an executable file, or not on PATH); "
                                   "install containerd: scripts/install-deps.sh");
  }
  binary_path_ = *binary;
  std::string sibling = Dirname(binary_path_) + "/ctr";
  if (IsExecutableFile(sibling)) {
    ctr_binary_ = sibling;
  } else {
    ctr_binary_ = FindExecutable("ctr").value_or("ctr");
  }

  KEELSON_RETURN_IF_ERROR(MakeDirs(dir_));
  KEELSON_RETURN_IF_ERROR(
      MakeDirs(options_.cni_conf_dir.empty() ? dir_ + "/net.d" : options_.cni_conf_dir));
  KEELSON_RETURN_IF_ERROR(MakeDirs(dir_ + "/certs.d"));
  std::string lock_path = dir_ + "/supervisor.lock";
  lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd_ < 0) return InternalError("cannot open " + lock_path + ": " + ErrnoText(errno));
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return FailedPreconditionError("another keelson agent supervises the containerd in " + dir_ +
                                     " (" + lock_path + " is locked)");
    }
    return InternalError("cannot lock " + lock_path + ": " + ErrnoText(errno));
  }
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) return InternalError("eventfd: " + ErrnoText(errno));
  return Status::Ok();
}

Status ContainerdSupervisor::Impl::Start() {
  KEELSON_RETURN_IF_ERROR(Prepare());
  const std::string config = RenderContainerdConfig(options_);

  SocketProbe probe = ProbeSocket(socket_path_);
  if (probe.live) {
    std::vector<std::string> args;
    if (probe.peer > 0) args = Cmdline(probe.peer);
    if (!RunsConfig(args, config_path_)) {
      return FailedPreconditionError("containerd socket " + socket_path_ +
                                     " is already served by pid " + std::to_string(probe.peer) +
                                     " (" + JoinArgs(args) +
                                     "), which is not a containerd "
                                     "started with " +
                                     config_path_ + "; stop it or use another data directory");
    }
    Process running;
    running.pid = probe.peer;
    running.pidfd.Reset(PidfdOpen(probe.peer));
    // Usually an earlier agent's child, reparented; ours when this process
    // detached it.
    running.child = ParentPid(probe.peer) == ::getpid();
    running.adopted = true;
    running.started = SteadyClock::now();
    if (ReadFile(config_path_) == config) {
      LogInfo(kComponent, "adopted the running containerd (pid " + std::to_string(running.pid) +
                              ") serving " + socket_path_);
      std::lock_guard lock(mu_);
      process_ = std::make_unique<Process>(std::move(running));
    } else {
      LogInfo(kComponent, "the running containerd (pid " + std::to_string(running.pid) +
                              ") has an older " + config_path_ + "; restarting it");
      KEELSON_RETURN_IF_ERROR(Terminate(running, options_.stop_grace));
    }
  }

  if (process_ == nullptr) {
    // No live server: whatever socket files are left belong to a dead
    // containerd.
    ::unlink(socket_path_.c_str());
    ::unlink((socket_path_ + std::string(kTtrpcSuffix)).c_str());
    KEELSON_RETURN_IF_ERROR(WriteFileAtomically(config_path_, config));
    auto spawned = Spawn();
    if (!spawned.ok()) return spawned.status();
    Status ready = AwaitSocket(*spawned, options_.start_timeout, -1);
    if (!ready.ok()) {
      Terminate(*spawned, milliseconds(2000)).IgnoreError();
      return ready;
    }
    LogInfo(kComponent, "started containerd (pid " + std::to_string(spawned->pid) + "), serving " +
                            socket_path_ + " after " +
                            std::to_string(Millis(SteadyClock::now() - spawned->started)) +
                            " ms; log: " + log_path_);
    std::lock_guard lock(mu_);
    process_ = std::make_unique<Process>(std::move(spawned).value());
  }
  monitor_ = std::thread([this] { Monitor(); });
  return Status::Ok();
}

Result<Process> ContainerdSupervisor::Impl::Spawn() {
  RotateLogIfLarge(log_path_);
  UniqueFd log(::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
  if (!log.valid()) return InternalError("cannot open " + log_path_ + ": " + ErrnoText(errno));
  log = AboveStdio(std::move(log));
  // A line of ours between the runs of containerd, so that a reader of the log
  // sees restarts.
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
  std::string marker = std::string("---- ") + stamp + " keelson starts " + binary_path_ +
                       " --config " + config_path_ + "\n";
  (void)!::write(log.get(), marker.data(), marker.size());
  std::vector<std::string> argv = {binary_path_, "--config", config_path_};
  pid_t pid = 0;
  int rc = SpawnProcess(argv, ContainerdEnvironment(), log.get(), log.get(), true, &pid);
  if (rc != 0) {
    return FailedPreconditionError("cannot start " + binary_path_ + ": " + ErrnoText(rc));
  }
  Process p;
  p.pid = pid;
  p.pidfd.Reset(PidfdOpen(pid));
  p.child = true;
  p.started = SteadyClock::now();
  return p;
}

Status ContainerdSupervisor::Impl::AwaitSocket(Process& p, milliseconds timeout, int wake_fd) {
  auto deadline = p.started + timeout;
  for (;;) {
    SocketProbe probe = ProbeSocket(socket_path_);
    if (probe.live && (probe.peer == 0 || probe.peer == p.pid)) return Status::Ok();
    auto wait = p.WaitForExit(milliseconds(5), wake_fd);
    if (wait == Process::Wait::kWoken) {
      return Status(StatusCode::kCancelled, "stopping while containerd was starting");
    }
    if (wait == Process::Wait::kExited) {
      return UnavailableError("containerd (pid " + std::to_string(p.pid) + ") " + p.DescribeExit() +
                              " before serving " + socket_path_ + "; the end of " + log_path_ +
                              ":\n" + LogTail(log_path_, kLogTailLines));
    }
    if (SteadyClock::now() >= deadline) {
      return UnavailableError("containerd (pid " + std::to_string(p.pid) + ") did not serve " +
                              socket_path_ + " within " + std::to_string(timeout.count()) +
                              " ms; the end of " + log_path_ + ":\n" +
                              LogTail(log_path_, kLogTailLines));
    }
  }
}

void ContainerdSupervisor::Impl::Monitor() {
  milliseconds backoff = options_.restart_backoff_initial;
  for (;;) {
    Process* p = process_.get();  // only this thread replaces it (see process_)
    if (p != nullptr) {
      auto wait = p->WaitForExit(std::chrono::hours(1), wake_fd_);
      if (wait == Process::Wait::kWoken) return;
      if (wait == Process::Wait::kTimedOut) continue;
      auto uptime = SteadyClock::now() - p->started;
      if (uptime >= options_.backoff_reset) backoff = options_.restart_backoff_initial;
      std::string ran = p->adopted ? ", " + std::to_string(Millis(uptime)) + " ms after adoption"
                                   : " after " + std::to_string(Millis(uptime)) + " ms";
      LogWarning(kComponent, "containerd (pid " + std::to_string(p->pid) + ") " +
                                 p->DescribeExit() + ran + "; starting it again in " +
                                 std::to_string(backoff.count()) + " ms. The end of " + log_path_ +
                                 ":\n" + LogTail(log_path_, kLogTailLines));
      std::lock_guard lock(mu_);
      process_.reset();
    }
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, backoff, [this] { return stop_requested_; });
      if (stop_requested_) return;
    }
    backoff = std::min(backoff * 2, options_.restart_backoff_max);

    ::unlink(socket_path_.c_str());
    ::unlink((socket_path_ + std::string(kTtrpcSuffix)).c_str());
    auto spawned = Spawn();
    if (!spawned.ok()) {
      LogError(kComponent, "cannot restart containerd: " + spawned.status().ToString());
      continue;
    }
    Status ready = AwaitSocket(*spawned, options_.start_timeout, wake_fd_);
    if (!ready.ok() && ready.code() != StatusCode::kCancelled) {
      LogError(kComponent, "restarting containerd: " + ready.message());
      Terminate(*spawned, milliseconds(2000)).IgnoreError();
      continue;
    }
    std::lock_guard lock(mu_);
    process_ = std::make_unique<Process>(std::move(spawned).value());
    if (ready.ok()) {
      ++restarts_;
      LogInfo(kComponent, "containerd is back (pid " + std::to_string(process_->pid) +
                              ", restart " + std::to_string(restarts_) + ")");
    }
    cv_.notify_all();
    if (!ready.ok()) return;  // cancelled: EndSupervision takes the process
  }
}

std::unique_ptr<Process> ContainerdSupervisor::Impl::EndSupervision() {
  {
    std::lock_guard lock(mu_);
    stop_requested_ = true;
  }
  cv_.notify_all();
  if (wake_fd_ >= 0) {
    uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof(one));
  }
  if (monitor_.joinable()) monitor_.join();
  std::lock_guard lock(mu_);
  return std::move(process_);
}

Status ContainerdSupervisor::Impl::Stop() {
  std::lock_guard shutdown(shutdown_mu_);
  if (shut_down_) return Status::Ok();
  shut_down_ = true;
  std::unique_ptr<Process> p = EndSupervision();
  if (p == nullptr) return Status::Ok();
  auto began = SteadyClock::now();
  Status st = Terminate(*p, options_.stop_grace);
  if (st.ok()) {
    LogInfo(kComponent, "stopped containerd (pid " + std::to_string(p->pid) + ") in " +
                            std::to_string(Millis(SteadyClock::now() - began)) + " ms");
  }
  return st;
}

void ContainerdSupervisor::Impl::Detach() {
  std::lock_guard shutdown(shutdown_mu_);
  if (shut_down_) return;
  shut_down_ = true;
  std::unique_ptr<Process> p = EndSupervision();
  if (p != nullptr && !p->CheckExited()) {
    LogInfo(kComponent, "leaving containerd (pid " + std::to_string(p->pid) + ") running on " +
                            socket_path_ + " for the next agent to adopt");
  }
}

Status ContainerdSupervisor::Impl::WaitReady(milliseconds timeout) const {
  auto deadline = SteadyClock::now() + timeout;
  for (;;) {
    pid_t pid = 0;
    {
      std::lock_guard lock(mu_);
      if (stop_requested_) {
        return FailedPreconditionError("the containerd supervisor has been stopped");
      }
      if (process_ != nullptr) pid = process_->pid;
    }
    if (pid != 0) {
      SocketProbe probe = ProbeSocket(socket_path_);
      if (probe.live && (probe.peer == 0 || probe.peer == pid)) return Status::Ok();
    }
    if (SteadyClock::now() >= deadline) {
      return UnavailableError("containerd is not serving " + socket_path_ + " after " +
                              std::to_string(timeout.count()) + " ms (" +
                              (pid != 0 ? "pid " + std::to_string(pid) : "not running") +
                              "); see " + log_path_);
    }
    std::this_thread::sleep_for(milliseconds(10));
  }
}

// ----------------------------------------------------------------------------------------------

ContainerdSupervisor::ContainerdSupervisor(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ContainerdSupervisor::~ContainerdSupervisor() {
  if (impl_->options_.stop_on_exit) {
    Status st = impl_->Stop();
    if (!st.ok()) LogError(kComponent, "stopping containerd: " + st.ToString());
  } else {
    impl_->Detach();
  }
}

Result<std::unique_ptr<ContainerdSupervisor>> ContainerdSupervisor::Start(
    ContainerdOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  KEELSON_RETURN_IF_ERROR(impl->Start());
  return std::unique_ptr<ContainerdSupervisor>(new ContainerdSupervisor(std::move(impl)));
}

std::string ContainerdSupervisor::Endpoint() const { return "unix://" + impl_->socket_path_; }
const std::string& ContainerdSupervisor::SocketPath() const { return impl_->socket_path_; }
const std::string& ContainerdSupervisor::LogPath() const { return impl_->log_path_; }
const std::string& ContainerdSupervisor::ConfigPath() const { return impl_->config_path_; }
const std::string& ContainerdSupervisor::CtrBinary() const { return impl_->ctr_binary_; }
pid_t ContainerdSupervisor::Pid() const { return impl_->Pid(); }
int ContainerdSupervisor::Restarts() const { return impl_->Restarts(); }
bool ContainerdSupervisor::Adopted() const { return impl_->Adopted(); }
Status ContainerdSupervisor::WaitReady(milliseconds timeout) const {
  return impl_->WaitReady(timeout);
}
Status ContainerdSupervisor::Stop() { return impl_->Stop(); }
void ContainerdSupervisor::Detach() { impl_->Detach(); }

// ----------------------------------------------------------------------------------------------

Status ImportImages(const std::string& containerd_endpoint, const std::string& archive_path,
                    const CtrOptions& options) {
  struct stat st;
  if (::stat(archive_path.c_str(), &st) != 0) {
    if (errno == ENOENT) return NotFoundError("image archive " + archive_path + " does not exist");
    return InvalidArgumentError("image archive " + archive_path + ": " + ErrnoText(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    return InvalidArgumentError("image archive " + archive_path + " is not a regular file");
  }
  std::vector<std::string> args = {"images", "import"};
  if (!options.snapshotter.empty()) {
    args.push_back("--snapshotter");
    args.push_back(options.snapshotter);
  }
  args.push_back(archive_path);
  auto result = RunCtr(containerd_endpoint, options, args, "importing " + archive_path);
  return result.status();
}

Result<std::vector<std::string>> ListImageNames(const std::string& containerd_endpoint,
                                                const CtrOptions& options) {
  auto result = RunCtr(containerd_endpoint, options, {"images", "ls", "-q"}, "listing images");
  if (!result.ok()) return result.status();
  std::vector<std::string> names;
  std::stringstream lines(result->out);
  std::string line;
  while (std::getline(lines, line)) {
    line = Trimmed(line);
    if (!line.empty()) names.push_back(line);
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace keelson::kubelet::containerd
