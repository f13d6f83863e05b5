#include "kubelet/cri_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>
#include <utility>
#include <vector>

namespace keelson::kubelet {
namespace {

using std::chrono::system_clock;

std::optional<int> Digits(std::string_view s, size_t pos, size_t n) {
  if (pos + n > s.size()) return std::nullopt;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

// An open log file, closed when it goes.
class File {
 public:
  File() = default;
  explicit File(int fd) : fd_(fd) {}
  File(File&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  File& operator=(File&& o) noexcept {
    if (this != &o) {
      Reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  ~File() { Reset(); }
  int fd() const { return fd_; }
  bool open() const { return fd_ >= 0; }
  void Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

// Where the last `lines` lines of the file start (a last line without its newline yet counts
// as one).
off_t TailOffset(int fd, int64_t lines) {
  struct stat st {};
  if (::fstat(fd, &st) != 0 || st.st_size == 0) return 0;
  if (lines <= 0) return st.st_size;
  off_t end = st.st_size;
  std::vector<char> block(64 * 1024);
  int64_t newlines = 0;
  bool first = true;
  while (end > 0) {
    off_t start = std::max<off_t>(0, end - static_cast<off_t>(block.size()));
    ssize_t n = ::pread(fd, block.data(), static_cast<size_t>(end - start), start);
    if (n <= 0) return 0;
    for (ssize_t i = n - 1; i >= 0; --i) {
      if (block[static_cast<size_t>(i)] != '\n') {
        first = false;
        continue;
      }
      // The file's final newline ends the last line rather than starting one.
      if (first && start + i == st.st_size - 1) {
        first = false;
        continue;
      }
      if (++newlines == lines) return start + i + 1;
    }
    end = start;
  }
  return 0;
}

// Turns the bytes of a log file into output, line by line.
class Decoder {
 public:
  Decoder(const CriLogOptions& o, const std::function<bool(std::string_view)>& sink)
      : opts_(o), sink_(sink) {}

  // Feeds bytes read from the file; false once the output is complete (limit reached or the
  // sink refused).
  bool Feed(std::string_view bytes) {
    pending_.append(bytes);
    size_t pos = 0;
    while (true) {
      size_t nl = pending_.find('\n', pos);
      if (nl == std::string::npos) break;
      bool more = Line(std::string_view(pending_).substr(pos, nl - pos));
      pos = nl + 1;
      if (!more) {
        pending_.clear();
        return false;
      }
    }
    pending_.erase(0, pos);
    return true;
  }
  // The file ended for good: a last line without its newline is taken as it is.
  bool Finish() {
    if (pending_.empty()) return true;
    std::string last = std::move(pending_);
    pending_.clear();
    return Line(last);
  }
  // A new file starts (rotation): a line cut at the end of the old one is dropped.
  void Restart() { pending_.clear(); }

 private:
  bool Line(std::string_view line) {
    auto entry = ParseCriLogLine(line);
    if (!entry.ok()) return true;
    if (opts_.since && entry->time < *opts_.since) return true;
    std::string out = FormatCriLogEntry(*entry, opts_.timestamps, &at_line_start_);
    if (opts_.limit_bytes) {
      int64_t left = *opts_.limit_bytes - written_;
      if (static_cast<int64_t>(out.size()) >= left) {
        out.resize(static_cast<size_t>(std::max<int64_t>(0, left)));
        if (!out.empty()) sink_(out);
        written_ += static_cast<int64_t>(out.size());
        return false;
      }
    }
    written_ += static_cast<int64_t>(out.size());
    return sink_(out);
  }

  const CriLogOptions& opts_;
  const std::function<bool(std::string_view)>& sink_;
  std::string pending_;
  bool at_line_start_ = true;
  int64_t written_ = 0;
};

// Reads from `fd` until its end; false when the decoder wants no more.
enum class Drain { kEnd, kDone, kError };
Drain ReadToEnd(int fd, Decoder* d) {
  char buf[64 * 1024];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Drain::kError;
    }
    if (n == 0) return Drain::kEnd;
    if (!d->Feed(std::string_view(buf, static_cast<size_t>(n)))) return Drain::kDone;
  }
}

}  // namespace

std::optional<system_clock::time_point> ParseRfc3339(std::string_view s) {
  // 2006-01-02T15:04:05[.999999999](Z|+07:00)
  auto year = Digits(s, 0, 4), month = Digits(s, 5, 2), day = Digits(s, 8, 2);
  auto hour = Digits(s, 11, 2), minute = Digits(s, 14, 2), second = Digits(s, 17, 2);
  if (!year || !month || !day || !hour || !minute || !second || s[4] != '-' || s[7] != '-' ||
      (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':') {
    return std::nullopt;
  }
  size_t pos = 19;
  int64_t nanos = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int digits = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (digits < 9) {
        nanos = nanos * 10 + (s[pos] - '0');
        ++digits;
      }
      ++pos;
    }
    if (digits == 0) return std::nullopt;
    for (; digits < 9; ++digits) nanos *= 10;
  }
  int offset_minutes = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    auto oh = Digits(s, pos + 1, 2), om = Digits(s, pos + 4, 2);
    if (!oh || !om || s[pos + 3] != ':') return std::nullopt;
    offset_minutes = (*oh * 60 + *om) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  std::chrono::year_month_day ymd{std::chrono::year(*year),
                                  std::chrono::month(static_cast<unsigned>(*month)),
                                  std::chrono::day(static_cast<unsigned>(*day))};
  if (!ymd.ok() || *hour > 23 || *minute > 59 || *second > 60) return std::nullopt;
  auto t = std::chrono::sys_days(ymd) + std::chrono::hours(*hour) +
           std::chrono::minutes(*minute - offset_minutes) + std::chrono::seconds(*second) +
           std::chrono::nanoseconds(nanos);
  return std::chrono::time_point_cast<system_clock::duration>(t);
}

Result<CriLogEntry> ParseCriLogLine(std::string_view line) {
  CriLogEntry e;
  size_t sp = line.find(' ');
  if (sp == std::string_view::npos) return InvalidArgumentError("log line without a stream");
  e.timestamp = std::string(line.substr(0, sp));
  auto t = ParseRfc3339(e.timestamp);
  if (!t) return InvalidArgumentError("log line with a bad time: " + e.timestamp);
  e.time = *t;
  line.remove_prefix(sp + 1);
  sp = line.find(' ');
  std::string_view stream = line.substr(0, sp);
  if (stream != "stdout" && stream != "stderr") {
    return InvalidArgumentError("log line with an unknown stream");
  }
  e.stream = std::string(stream);
  if (sp == std::string_view::npos) return InvalidArgumentError("log line without a tag");
  line.remove_prefix(sp + 1);
  sp = line.find(' ');
  std::string_view tags = line.substr(0, sp);
  std::string_view first = tags.substr(0, tags.find(':'));
  if (first != "F" && first != "P") return InvalidArgumentError("log line with an unknown tag");
  e.partial = first == "P";
  // "<tag> <text>"; an empty full line may come without the space.
  e.text = sp == std::string_view::npos ? "" : std::string(line.substr(sp + 1));
  return e;
}

std::string FormatCriLogEntry(const CriLogEntry& entry, bool timestamps, bool* at_line_start) {
  std::string out;
  if (timestamps && *at_line_start) out = entry.timestamp + " ";
  out += entry.text;
  if (!entry.partial) out += '\n';
  *at_line_start = !entry.partial;
  return out;
}

Status ReadCriLog(const std::string& path, const CriLogOptions& options,
                  const std::function<bool(std::string_view)>& sink, const CriLogFollow& follow,
                  std::stop_token stop) {
  File file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!file.open() && options.follow) {
    // The runtime creates the file when the container starts: allow it a moment.
    for (int i = 0; i < 10 && !file.open() && !stop.stop_requested(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      file = File(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    }
  }
  if (!file.open()) return NotFoundError("log file " + path + " does not exist");
  if (options.tail_lines) ::lseek(file.fd(), TailOffset(file.fd(), *options.tail_lines), SEEK_SET);
  if (options.limit_bytes && *options.limit_bytes <= 0) return Status::Ok();
  Decoder decoder(options, sink);
  auto last_check = std::chrono::steady_clock::now() - follow.running_check_interval;
  bool exited = false;
  while (true) {
    Drain d = ReadToEnd(file.fd(), &decoder);
    if (d == Drain::kDone) return Status::Ok();
    if (d == Drain::kError) return InternalError("reading " + path + ": " + std::strerror(errno));
    if (!options.follow || exited || stop.stop_requested()) {
      decoder.Finish();
      return Status::Ok();
    }
    // At the end of what is written: the file may have been rotated (a new one at its path),
    // truncated, or the container may have exited.
    struct stat now {
    }, open_st{};
    if (::stat(path.c_str(), &now) == 0 && ::fstat(file.fd(), &open_st) == 0) {
      if (now.st_ino != open_st.st_ino || now.st_dev != open_st.st_dev) {
        File next(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
        if (next.open()) {
          // Whatever the old file got before it was renamed is read first.
          if (ReadToEnd(file.fd(), &decoder) == Drain::kDone) return Status::Ok();
          file = std::move(next);
          decoder.Restart();
          continue;
        }
      } else if (now.st_size < ::lseek(file.fd(), 0, SEEK_CUR)) {
        ::lseek(file.fd(), 0, SEEK_SET);
        decoder.Restart();
        continue;
      }
    }
    auto t = std::chrono::steady_clock::now();
    if (follow.running && t - last_check >= follow.running_check_interval) {
      last_check = t;
      // One more pass after the container is seen gone reads its last words.
      if (!follow.running()) exited = true;
      continue;
    }
    std::this_thread::sleep_for(follow.poll_interval);
  }
}

}  // namespace keelson::kubelet
