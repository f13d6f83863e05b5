#include "kubelet/log_rotation.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "client/workqueue.h"
#include "common/log.h"

namespace keelson::kubelet {
namespace {

namespace fs = std::filesystem;
namespace v1 = ::runtime::v1;

constexpr std::string_view kCompressSuffix = ".gz";
constexpr std::string_view kTmpSuffix = ".tmp";

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

// The rotated files of `log`: every `<log>.*` beside it (upstream's filepath.Glob).
std::vector<std::string> RotatedFiles(const std::string& log) {
  std::vector<std::string> out;
  fs::path p(log);
  const std::string prefix = p.filename().string() + ".";
  std::error_code ec;
  for (fs::directory_iterator it(p.parent_path(), ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.size() > prefix.size() && name.compare(0, prefix.size(), prefix) == 0) {
      out.push_back(it->path().string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Whether a rotated file is still wanted: temporary files are leftovers of a compression
// that did not finish, and an uncompressed file whose `.gz` exists was compressed already.
bool InUse(const std::string& file, const std::vector<std::string>& files) {
  if (std::string_view(file).ends_with(kTmpSuffix)) return false;
  if (std::string_view(file).ends_with(kCompressSuffix)) return true;
  return !std::binary_search(files.begin(), files.end(), file + std::string(kCompressSuffix));
}

// Writes `file` gzipped to `<file>.gz` (through `<file>.tmp`, renamed once complete), then
// removes `file`.
Status CompressFile(const std::string& file) {
  int in = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return InternalError(Errno("open " + file));
  const std::string tmp = file + std::string(kTmpSuffix);
  int out = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out < 0) {
    Status s = InternalError(Errno("create " + tmp));
    ::close(in);
    return s;
  }
  gzFile gz = gzdopen(out, "wb");
  if (gz == nullptr) {
    ::close(in);
    ::close(out);
    ::unlink(tmp.c_str());
    return InternalError("compress " + file + ": gzdopen failed");
  }
  std::vector<char> buf(1 << 16);
  Status result = Status::Ok();
  while (true) {
    ssize_t n = ::read(in, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      result = InternalError(Errno("read " + file));
      break;
    }
    if (n == 0) break;
    if (gzwrite(gz, buf.data(), static_cast<unsigned>(n)) != n) {
      int err = 0;
      result = InternalError("compress " + file + " to " + tmp + ": " + gzerror(gz, &err));
      break;
    }
  }
  ::close(in);
  if (gzclose(gz) != Z_OK && result.ok()) {  // closes `out` too
    result = InternalError("compress " + file + " to " + tmp + ": close failed");
  }
  if (!result.ok()) {
    ::unlink(tmp.c_str());
    return result;
  }
  const std::string gz_name = file + std::string(kCompressSuffix);
  if (::rename(tmp.c_str(), gz_name.c_str()) != 0) {
    return InternalError(Errno("rename " + tmp + " to " + gz_name));
  }
  if (::unlink(file.c_str()) != 0 && errno != ENOENT) {
    return InternalError(Errno("remove " + file + " after compressing it"));
  }
  return Status::Ok();
}


class ContainerLogManagerImpl final : public ContainerLogManager {
 public:
  ContainerLogManagerImpl(cri::Runtime* runtime, ContainerLogPolicy policy,
                          std::shared_ptr<const Clock> clock)
      : runtime_(runtime),
        policy_(policy),
        clock_(clock ? std::move(clock) : RealClock()),
        queue_(QueueOptions(clock_)) {}

  ~ContainerLogManagerImpl() override { Stop(); }

  void Begin() {
    for (int i = 0; i < policy_.workers; ++i) workers_.emplace_back([this] { Worker(); });
  }

  Status RotateLogs() override {
    auto containers = runtime_->ListContainers(v1::ContainerFilter());
    if (!containers.ok()) return containers.status();
    // Only running containers: one that no longer writes needs no new live file.
    for (const auto& c : *containers) {
      if (c.state() == v1::CONTAINER_RUNNING) queue_.Add(c.id());
    }
    return Status::Ok();
  }

  Status RotateContainerLog(const std::string& id) override {
    Busy busy(this, id);
    auto status = runtime_->ContainerStatus(id);
    if (!status.ok()) return status.status();
    const std::string& log = status->log_path();
    if (log.empty()) return Status::Ok();
    struct stat st;
    if (::stat(log.c_str(), &st) != 0) {
      if (errno != ENOENT) return InternalError(Errno("stat container log " + log));
      // The live file is gone (removed by hand, or a rotation lost it): the runtime makes it.
      KEELSON_RETURN_IF_ERROR(runtime_->ReopenContainerLog(id));
      if (::stat(log.c_str(), &st) != 0) {
        return InternalError(Errno("stat container log " + log + " after reopening it"));
      }
    }
    if (st.st_size < policy_.max_size_bytes) return Status::Ok();
    return Rotate(id, log);
  }

  Status Clean(const std::string& id) override {
    Busy busy(this, id);
    auto status = runtime_->ContainerStatus(id);
    if (!status.ok()) return status.status();
    const std::string& log = status->log_path();
    if (log.empty()) return Status::Ok();
    std::vector<std::string> files = RotatedFiles(log);
    files.push_back(log);
    for (const auto& f : files) {
      if (::unlink(f.c_str()) != 0 && errno != ENOENT) {
        return InternalError(Errno("remove container log " + f));
      }
    }
    return Status::Ok();
  }

  uint64_t Checked() const override { return checked_.load(); }

  void Stop() override {
    stopping_ = true;
    queue_.ShutDown();
    std::lock_guard l(stop_mu_);
    for (auto& t : workers_) {
      if (t.joinable()) t.join();
    }
    workers_.clear();
  }

 private:
  // Marks a container's files as being changed by this thread for its lifetime; waits while
  // another thread changes them.
  class Busy {
   public:
    Busy(ContainerLogManagerImpl* m, std::string id) : m_(m), id_(std::move(id)) {
      std::unique_lock l(m_->busy_mu_);
      m_->busy_cv_.wait(l, [&] { return !m_->busy_.contains(id_); });
      m_->busy_.insert(id_);
    }
    ~Busy() {
      std::lock_guard l(m_->busy_mu_);
      m_->busy_.erase(id_);
      m_->busy_cv_.notify_all();
    }
    Busy(const Busy&) = delete;
    Busy& operator=(const Busy&) = delete;

   private:
    ContainerLogManagerImpl* m_;
    std::string id_;
  };

  static client::WorkQueueOptions QueueOptions(std::shared_ptr<const Clock> clock) {
    client::WorkQueueOptions o;
    o.name = "kubelet-container-logs";
    o.clock = std::move(clock);
    return o;
  }

  void Worker() {
    while (auto id = queue_.Get()) {
      if (stopping_.load()) {  // what is still queued waits for the next start
        queue_.Done(*id);
        continue;
      }
      if (Status s = RotateContainerLog(*id); !s.ok() && s.code() != StatusCode::kNotFound) {
        LogWarning("kubelet", "rotating the log of container " + *id + ": " + s.message());
      }
      ++checked_;
      queue_.Done(*id);
    }
  }

  // upstream's rotateLog: the steps in the header's order.
  Status Rotate(const std::string& id, const std::string& log) {
    const std::string rotated = log + "." + RotationTimestamp(clock_->Now());
    // Two rotations within one second would give the same name: the second waits for the
    // next round rather than replace the first.
    struct stat st;
    const std::string rotated_gz = rotated + std::string(kCompressSuffix);
    if (::lstat(rotated.c_str(), &st) == 0 || ::lstat(rotated_gz.c_str(), &st) == 0) {
      return Status::Ok();
    }
    std::vector<std::string> files = RotatedFiles(log);
    std::vector<std::string> in_use;
    for (const auto& f : files) {
      if (InUse(f, files)) {
        in_use.push_back(f);
      } else if (::unlink(f.c_str()) != 0 && errno != ENOENT) {
        return InternalError(Errno("remove unused log " + f));
      }
    }
    // Oldest first (the names end in their rotation time). Besides the file rotated now and
    // the new live file, max_files - 2 rotated files stay.
    const size_t keep = static_cast<size_t>(std::max(policy_.max_files - 2, 0));
    size_t excess = in_use.size() > keep ? in_use.size() - keep : 0;
    for (size_t i = 0; i < excess; ++i) {
      if (::unlink(in_use[i].c_str()) != 0 && errno != ENOENT) {
        return InternalError(Errno("remove old log " + in_use[i]));
      }
    }
    in_use.erase(in_use.begin(), in_use.begin() + static_cast<std::ptrdiff_t>(excess));
    for (const auto& f : in_use) {
      if (!std::string_view(f).ends_with(kCompressSuffix)) KEELSON_RETURN_IF_ERROR(CompressFile(f));
    }
    if (::rename(log.c_str(), rotated.c_str()) != 0) {
      return InternalError(Errno("rotate log " + log + " to " + rotated));
    }
    if (Status s = runtime_->ReopenContainerLog(id); !s.ok()) {
      // Back where it was, so that the next round tries again.
      if (::rename(rotated.c_str(), log.c_str()) != 0) {
        LogWarning("kubelet", Errno("renaming the rotated log " + rotated + " back to " + log));
      }
      return s;
    }
    return Status::Ok();
  }

  cri::Runtime* const runtime_;
  const ContainerLogPolicy policy_;
  const std::shared_ptr<const Clock> clock_;
  client::WorkQueue queue_;
  std::atomic<uint64_t> checked_{0};
  std::atomic<bool> stopping_{false};
  std::mutex busy_mu_;
  std::condition_variable busy_cv_;
  std::set<std::string> busy_;  // container ids whose files a thread changes; guarded by busy_mu_
  std::mutex stop_mu_;
  std::vector<std::thread> workers_;  // guarded by stop_mu_ (and set before any call)
};

}  // namespace

std::string RotationTimestamp(Clock::WallTime now) {
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y%m%d-%H%M%S", &tm);
  return buf;
}

Status ValidateContainerLogPolicy(const ContainerLogPolicy& p) {
  if (p.max_size_bytes <= 0) {
    return InvalidArgumentError(
        "invalid configuration: containerLogMaxSize (--container-log-max-size) must be a "
        "positive quantity");
  }
  if (p.max_files < 2) {
    return InvalidArgumentError(
        "invalid configuration: containerLogMaxFiles (--container-log-max-files) " +
        std::to_string(p.max_files) + " must be greater than 1");
  }
  if (p.workers < 1) {
    return InvalidArgumentError(
        "invalid configuration: containerLogMaxWorkers (--container-log-max-workers) " +
        std::to_string(p.workers) + " must be greater than or equal to 1");
  }
  if (p.monitor_interval.count() <= 0) {
    return InvalidArgumentError(
        "invalid configuration: containerLogMonitorInterval (--container-log-monitor-interval) "
        "must be a positive time duration");
  }
  return Status::Ok();
}

Result<std::unique_ptr<ContainerLogManager>> ContainerLogManager::Start(
    cri::Runtime* runtime, ContainerLogPolicy policy, std::shared_ptr<const Clock> clock) {
  if (runtime == nullptr) return InvalidArgumentError("the container log manager needs a runtime");
  KEELSON_RETURN_IF_ERROR(ValidateContainerLogPolicy(policy));
  auto m = std::make_unique<ContainerLogManagerImpl>(runtime, policy, std::move(clock));
  m->Begin();
  return std::unique_ptr<ContainerLogManager>(std::move(m));
}

std::string PodUidOfLogDirectory(const std::string& name) {
  auto p = name.rfind('_');
  return p == std::string::npos ? name : name.substr(p + 1);
}

int RemovePodLogDirectories(const std::string& pods_log_dir,
                            const std::function<bool(const std::string& uid)>& keep) {
  int removed = 0;
  std::error_code ec;
  std::vector<fs::path> gone;
  for (fs::directory_iterator it(pods_log_dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_directory(ec)) continue;
    if (!keep(PodUidOfLogDirectory(it->path().filename().string()))) gone.push_back(it->path());
  }
  for (const auto& dir : gone) {
    std::error_code rm;
    fs::remove_all(dir, rm);
    if (rm) {
      LogWarning("kubelet", "removing the pod logs " + dir.string() + ": " + rm.message());
    } else {
      ++removed;
    }
  }
  return removed;
}

}  // namespace keelson::kubelet
