#include "kubelet/cri_log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

namespace keelson::kubelet {
namespace {

namespace fs = std::filesystem;
using std::chrono::system_clock;

class CriLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    dir_ = fs::temp_directory_path() / ("cri_log_test." + std::to_string(::getpid()) + "." + test);
    fs::create_directories(dir_);
    path_ = (dir_ / "0.log").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  void Append(const std::string& text, const std::string& path = "") {
    std::ofstream f(path.empty() ? path_ : path, std::ios::app);
    f << text;
  }

  std::string Read(const CriLogOptions& o, CriLogFollow follow = {}) {
    std::string out;
    Status s = ReadCriLog(
        path_, o,
        [&](std::string_view piece) {
          out += piece;
          return true;
        },
        follow);
    EXPECT_TRUE(s.ok()) << s.message();
    return out;
  }

  fs::path dir_;
  std::string path_;
};

TEST(CriLogLine, ParsesEntries) {
  auto e = ParseCriLogLine("2024-05-01T12:34:56.123456789Z stdout F hello world");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->timestamp, "2024-05-01T12:34:56.123456789Z");
  EXPECT_EQ(e->stream, "stdout");
  EXPECT_FALSE(e->partial);
  EXPECT_EQ(e->text, "hello world");
  auto p = ParseCriLogLine("2024-05-01T12:34:56Z stderr P:x part ");
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->partial);
  EXPECT_EQ(p->stream, "stderr");
  EXPECT_EQ(p->text, "part ");
  auto empty = ParseCriLogLine("2024-05-01T12:34:56Z stdout F");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->text, "");

  EXPECT_FALSE(ParseCriLogLine("").ok());
  EXPECT_FALSE(ParseCriLogLine("garbage").ok());
  EXPECT_FALSE(ParseCriLogLine("2024-05-01T12:34:56Z stdin F x").ok());
  EXPECT_FALSE(ParseCriLogLine("2024-05-01T12:34:56Z stdout X x").ok());
  EXPECT_FALSE(ParseCriLogLine("2024-13-01T12:34:56Z stdout F x").ok());
  EXPECT_FALSE(ParseCriLogLine("2024-05-01 12:34:56Z stdout F x").ok());
}

TEST(CriLogLine, ParsesTimesWithOffsets) {
  auto utc = ParseRfc3339("2024-05-01T12:00:00Z");
  auto plus = ParseRfc3339("2024-05-01T14:00:00+02:00");
  auto frac = ParseRfc3339("2024-05-01T12:00:00.5Z");
  ASSERT_TRUE(utc && plus && frac);
  EXPECT_EQ(*utc, *plus);
  EXPECT_EQ(*frac - *utc, std::chrono::milliseconds(500));
  EXPECT_FALSE(ParseRfc3339("2024-05-01T12:00:00"));
  EXPECT_FALSE(ParseRfc3339("2024-05-01T12:00:00.Z"));
  EXPECT_FALSE(ParseRfc3339("2024-05-01T12:00:00+0200"));
}

TEST_F(CriLogTest, JoinsPartialLinesAndSkipsGarbage) {
  Append(
      "2024-05-01T12:00:00.1Z stdout P hello \n"
      "2024-05-01T12:00:00.2Z stdout P big \n"
      "2024-05-01T12:00:00.3Z stdout F world\n"
      "not a log line\n"
      "2024-05-01T12:00:01Z stderr F oops\n");
  EXPECT_EQ(Read({}), "hello big world\noops\n");
  CriLogOptions ts;
  ts.timestamps = true;
  // One timestamp per line: the partial entries' continuations get none.
  EXPECT_EQ(Read(ts), "2024-05-01T12:00:00.1Z hello big world\n2024-05-01T12:00:01Z oops\n");
}

TEST_F(CriLogTest, TailSinceAndLimit) {
  for (int i = 1; i <= 5; ++i) {
    Append("2024-05-01T12:00:0" + std::to_string(i) + "Z stdout F line " + std::to_string(i) +
           "\n");
  }
  CriLogOptions tail;
  tail.tail_lines = 2;
  EXPECT_EQ(Read(tail), "line 4\nline 5\n");
  tail.tail_lines = 0;
  EXPECT_EQ(Read(tail), "");
  tail.tail_lines = 100;
  EXPECT_EQ(Read(tail), "line 1\nline 2\nline 3\nline 4\nline 5\n");

  CriLogOptions since;
  since.since = ParseRfc3339("2024-05-01T12:00:03Z");
  EXPECT_EQ(Read(since), "line 3\nline 4\nline 5\n");

  CriLogOptions limit;
  limit.limit_bytes = 10;
  EXPECT_EQ(Read(limit), "line 1\nlin");
}

TEST_F(CriLogTest, TailCountsALastLineWithoutNewline) {
  Append("2024-05-01T12:00:01Z stdout F a\n2024-05-01T12:00:02Z stdout F b");
  CriLogOptions tail;
  tail.tail_lines = 1;
  EXPECT_EQ(Read(tail), "b\n");
}

TEST_F(CriLogTest, MissingFileIsNotFound) {
  Status s =
      ReadCriLog((dir_ / "nope.log").string(), {}, [](std::string_view) { return true; }, {});
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
}

TEST_F(CriLogTest, FollowsGrowthAndRotationUntilTheContainerExits) {
  Append("2024-05-01T12:00:01Z stdout F first\n");
  std::atomic<bool> running{true};
  std::mutex mu;
  std::string out;
  CriLogOptions o;
  o.follow = true;
  CriLogFollow follow;
  follow.running = [&] { return running.load(); };
  follow.poll_interval = std::chrono::milliseconds(10);
  follow.running_check_interval = std::chrono::milliseconds(20);
  auto seen = [&](const std::string& want) {
    for (int i = 0; i < 500; ++i) {
      {
        std::lock_guard l(mu);
        if (out.find(want) != std::string::npos) return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  };
  std::thread reader([&] {
    Status s = ReadCriLog(
        path_, o,
        [&](std::string_view piece) {
          std::lock_guard l(mu);
          out += piece;
          return true;
        },
        follow);
    EXPECT_TRUE(s.ok()) << s.message();
  });
  ASSERT_TRUE(seen("first\n"));
  Append("2024-05-01T12:00:02Z stdout P sec\n");
  Append("2024-05-01T12:00:03Z stdout F ond\n");
  ASSERT_TRUE(seen("second\n"));
  // Rotation: the file is renamed away after a last write, and a new one starts.
  Append("2024-05-01T12:00:04Z stdout F third\n");
  fs::rename(path_, path_ + ".20240501-120004");
  Append("2024-05-01T12:00:05Z stdout F fourth\n");
  ASSERT_TRUE(seen("fourth\n"));
  // The container exits after its last words: they are read, then the reader returns.
  Append("2024-05-01T12:00:06Z stderr F last\n");
  running = false;
  reader.join();
  EXPECT_EQ(out, "first\nsecond\nthird\nfourth\nlast\n");
}

TEST_F(CriLogTest, FollowStopsWhenTheSinkRefuses) {
  Append("2024-05-01T12:00:01Z stdout F a\n");
  CriLogOptions o;
  o.follow = true;
  CriLogFollow follow;
  follow.running = [] { return true; };
  int calls = 0;
  Status s = ReadCriLog(
      path_, o,
      [&](std::string_view) {
        ++calls;
        return false;
      },
      follow);
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace keelson::kubelet
