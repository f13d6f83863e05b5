#include "test/util/processes.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

extern char** environ;

namespace keelson::testing {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string FindInPath(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = std::getenv("PATH");
  std::stringstream ss(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    fs::path p = fs::path(dir) / name;
    if (access(p.c_str(), X_OK) == 0) return p.string();
  }
  return name;
}

size_t CountOf(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = haystack.find(needle); pos != std::string::npos;
       pos = haystack.find(needle, pos + 1)) {
    ++n;
  }
  return n;
}

}  // namespace

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    socklen_t len = sizeof addr;
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

TempDir::TempDir(const std::string& prefix) {
  const char* tmp = std::getenv("TMPDIR");
  std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/" + prefix + "-XXXXXX";
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) std::abort();  // a test machine without /tmp
  path_ = buf.data();
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

Process::~Process() {
  if (pid_ > 0) Signal(SIGKILL);
}

Status Process::Start(const std::vector<std::string>& argv, const fs::path& stdout_path,
                      const fs::path& stderr_path, const std::string& stdin_data) {
  if (running()) return FailedPreconditionError("process already running");
  // Everything the child needs is prepared before fork: the parent has threads.
  std::string exe = FindInPath(argv.at(0));
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    if (std::string_view(*e).rfind("ETCDCTL_API=", 0) != 0) env_strings.emplace_back(*e);
  }
  env_strings.emplace_back("ETCDCTL_API=3");
  std::vector<char*> args, envp;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  fs::path stdin_path = stdout_path.string() + ".stdin";
  {
    std::ofstream in(stdin_path, std::ios::binary | std::ios::trunc);
    in << stdin_data;
  }
  int in_fd = open(stdin_path.c_str(), O_RDONLY | O_CLOEXEC);
  int out_fd = open(stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int err_fd = open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (in_fd < 0 || out_fd < 0 || err_fd < 0) {
    if (in_fd >= 0) close(in_fd);
    if (out_fd >= 0) close(out_fd);
    if (err_fd >= 0) close(err_fd);
    return InternalError("cannot open output files for " + exe);
  }
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    dup2(in_fd, 0);
    dup2(out_fd, 1);
    dup2(err_fd, 2);
    execve(exe.c_str(), args.data(), envp.data());
    _exit(127);
  }
  close(in_fd);
  close(out_fd);
  close(err_fd);
  if (pid < 0) return InternalError("fork failed");
  pid_ = pid;
  status_ = 0;
  return Status::Ok();
}

bool Process::Wait(milliseconds timeout, int* exit_code) {
  if (pid_ <= 0) {
    if (exit_code) *exit_code = WIFEXITED(status_) ? WEXITSTATUS(status_) : 128 + WTERMSIG(status_);
    return true;
  }
  auto deadline = Clock::now() + timeout;
  for (;;) {
    int st = 0;
    pid_t r = waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      status_ = st;
      if (exit_code) *exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      return true;
    }
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(10));
  }
}

bool Process::running() { return pid_ > 0 && !Wait(milliseconds(0)); }

int Process::Signal(int sig, milliseconds timeout) {
  if (pid_ <= 0) return -1;
  kill(pid_, sig);
  int code = -1;
  if (!Wait(timeout, &code)) {
    kill(pid_, SIGKILL);
    Wait(std::chrono::seconds(10), &code);
  }
  return code;
}

std::vector<std::string> KubectlBinaries() {
  std::vector<std::string> out;
  std::error_code ec;
  std::filesystem::path k = std::filesystem::canonical("/usr/bin/kubectl", ec);
  if (!ec) {
    for (int minor = 27; minor <= 33; ++minor) {
      std::filesystem::path v = k.parent_path() / ("kubectl.1." + std::to_string(minor));
      if (access(v.c_str(), X_OK) == 0) out.push_back(v.string());
    }
  }
  if (out.empty()) out.push_back("kubectl");
  return out;
}

CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& stdin_data,
                         milliseconds timeout) {
  TempDir dir("keelson-cmd");
  CommandResult result;
  Process p;
  Status st = p.Start(argv, dir.path() / "stdout", dir.path() / "stderr", stdin_data);
  if (!st.ok()) {
    result.err = st.ToString();
    return result;
  }
  int code = -1;
  if (!p.Wait(timeout, &code)) {
    result.timed_out = true;
    p.Signal(SIGKILL);
    code = -1;
  }
  result.exit_code = code;
  result.out = ReadFile(dir.path() / "stdout");
  result.err = ReadFile(dir.path() / "stderr");
  return result;
}

BackgroundCommand::BackgroundCommand(const std::vector<std::string>& argv) : dir_("keelson-bg") {
  process_.Start(argv, dir_.path() / "stdout", dir_.path() / "stderr").IgnoreError();
}

std::string BackgroundCommand::Stdout() const { return ReadFile(dir_.path() / "stdout"); }
std::string BackgroundCommand::Stderr() const { return ReadFile(dir_.path() / "stderr"); }

bool BackgroundCommand::WaitForOutput(const std::string& text, milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (Stdout().find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return Stdout().find(text) != std::string::npos;
}

// --- etcd ---

EtcdProcess::EtcdProcess() : dir_("keelson-etcd") {
  client_port_ = FreePort();
  do {
    peer_port_ = FreePort();
  } while (peer_port_ == client_port_);
}

EtcdProcess::~EtcdProcess() { Kill(); }

std::string EtcdProcess::endpoint() const { return "127.0.0.1:" + std::to_string(client_port_); }
std::string EtcdProcess::client_url() const { return "http://" + endpoint(); }
std::string EtcdProcess::peer_url() const {
  return "http://127.0.0.1:" + std::to_string(peer_port_);
}
std::string EtcdProcess::log() const { return ReadFile(dir_.path() / "etcd.log"); }

constexpr const char* kEtcdReady = "ready to serve client requests";

Status EtcdProcess::Start(milliseconds timeout) {
  KEELSON_RETURN_IF_ERROR(Spawn());
  return WaitReady(timeout);
}

Status EtcdProcess::Spawn() {
  ready_before_ = CountOf(log(), kEtcdReady);
  std::vector<std::string> argv = {
      "/usr/bin/etcd",
      "--name", name_,
      "--data-dir", (dir_.path() / "data").string(),
      "--listen-client-urls", client_url(),
      "--advertise-client-urls", client_url(),
      "--listen-peer-urls", peer_url(),
      "--initial-advertise-peer-urls", peer_url(),
      "--initial-cluster", initial_cluster_.empty() ? name_ + "=" + peer_url() : initial_cluster_,
      "--initial-cluster-state", "new",
      "--initial-cluster-token", cluster_token_,
      // Fast elections keep failover tests short.
      "--heartbeat-interval", "50",
      "--election-timeout", "500",
  };
  return process_.Start(argv, dir_.path() / "etcd.stdout", dir_.path() / "etcd.log");
}

Status EtcdProcess::WaitReady(milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (CountOf(log(), kEtcdReady) > ready_before_) return Status::Ok();
    if (!process_.running()) return InternalError("etcd exited during start:\n" + log());
    std::this_thread::sleep_for(milliseconds(20));
  }
  return UnavailableError("etcd did not become ready:\n" + log());
}

void EtcdProcess::Kill() { process_.Signal(SIGKILL); }
void EtcdProcess::Stop() { process_.Signal(SIGTERM); }

EtcdCluster::EtcdCluster(int members) {
  std::string initial;
  std::string token = "keelson-test-" + std::to_string(std::random_device{}());
  for (int i = 0; i < members; ++i) {
    auto m = std::make_unique<EtcdProcess>();
    m->name_ = "m" + std::to_string(i);
    m->cluster_token_ = token;
    initial += (initial.empty() ? "" : ",") + m->name_ + "=" + m->peer_url();
    members_.push_back(std::move(m));
  }
  for (auto& m : members_) m->initial_cluster_ = initial;
}

Status EtcdCluster::Start(milliseconds timeout) {
  // Members only become ready once a quorum is up: start all, then wait for each.
  for (auto& m : members_) KEELSON_RETURN_IF_ERROR(m->Spawn());
  for (auto& m : members_) KEELSON_RETURN_IF_ERROR(m->WaitReady(timeout));
  return Status::Ok();
}

std::vector<std::string> EtcdCluster::endpoints() const {
  std::vector<std::string> eps;
  for (const auto& m : members_) eps.push_back(m->endpoint());
  return eps;
}

// --- keelson store ---

KeelsonStoreProcess::KeelsonStoreProcess(std::string binary, std::vector<std::string> extra_flags)
    : binary_(std::move(binary)), extra_flags_(std::move(extra_flags)), dir_("keelson-store") {
  data_dir_ = dir_.path() / "data";
}

KeelsonStoreProcess::~KeelsonStoreProcess() { Kill(); }

std::string KeelsonStoreProcess::stderr_text() const { return ReadFile(dir_.path() / "stderr"); }

Status KeelsonStoreProcess::Start(milliseconds timeout) {
  constexpr std::string_view kReady = "keelson store: serving etcd v3 API on http://127.0.0.1:";
  std::vector<std::string> argv = {binary_, "store", "--listen-client-urls",
                                   "http://127.0.0.1:" + std::to_string(port_), "--data-dir",
                                   data_dir_.string()};
  argv.insert(argv.end(), extra_flags_.begin(), extra_flags_.end());
  KEELSON_RETURN_IF_ERROR(process_.Start(argv, dir_.path() / "stdout", dir_.path() / "stderr"));
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    std::string out = ReadFile(dir_.path() / "stdout");
    size_t pos = out.find(kReady);
    size_t eol = pos == std::string::npos ? pos : out.find('\n', pos);
    if (eol != std::string::npos) {
      ready_line_ = out.substr(pos, eol - pos);
      port_ = std::atoi(ready_line_.c_str() + kReady.size());
      return Status::Ok();
    }
    if (!process_.running()) {
      return InternalError("keelson store exited during start:\n" + stderr_text());
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
  return UnavailableError("keelson store did not print its ready line:\n" + stderr_text());
}

int KeelsonStoreProcess::Kill() { return process_.Signal(SIGKILL); }
int KeelsonStoreProcess::Terminate() { return process_.Signal(SIGTERM); }

}  // namespace keelson::testing
