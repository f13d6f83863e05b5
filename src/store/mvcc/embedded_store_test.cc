// Tests of what only the embedded store has: its data directory, restarts, reading history
// back from disk, physical compaction and the space quota.
#include "store/mvcc/embedded_store.h"

#include <gtest/gtest.h>
#include <lmdb.h>
#include <sys/mount.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "test/util/processes.h"

namespace keelson::store {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

EmbeddedOptions Opts(const std::string& dir) {
  EmbeddedOptions o;
  o.data_dir = dir;
  return o;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// `n` bytes that do not compress (so that they take their size on disk).
std::string Incompressible(size_t n, uint32_t seed) {
  std::string out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    seed = seed * 1664525u + 1013904223u;
    out.push_back(static_cast<char>(seed >> 24));
  }
  return out;
}

// Number of entries in one of the store's LMDB databases, read with LMDB directly.
size_t CountEntries(const std::string& dir, const char* db) {
  MDB_env* env = nullptr;
  mdb_env_create(&env);
  mdb_env_set_maxdbs(env, 8);
  EXPECT_EQ(mdb_env_open(env, dir.c_str(), MDB_RDONLY, 0600), 0);
  MDB_txn* txn = nullptr;
  mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn);
  MDB_dbi dbi;
  EXPECT_EQ(mdb_dbi_open(txn, db, 0, &dbi), 0);
  MDB_stat st{};
  mdb_stat(txn, dbi, &st);
  mdb_txn_abort(txn);
  mdb_env_close(env);
  return st.ms_entries;
}

TEST(EmbeddedStoreTest, DataSurvivesReopen) {
  testing::TempDir dir;
  int64_t rev = 0, lease = 0;
  {
    auto s = OpenEmbeddedStore(Opts(dir.path().string()));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    auto g = (*s)->LeaseGrant(300, 0);
    ASSERT_TRUE(g.ok());
    lease = g->id;
    ASSERT_TRUE((*s)->Put("/a", "1").ok());
    ASSERT_TRUE((*s)->Put("/a", "2").ok());
    auto r = (*s)->Put("/b", "x", lease);
    ASSERT_TRUE(r.ok());
    rev = r->revision;
  }
  auto s = OpenEmbeddedStore(Opts(dir.path().string()));
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  auto a = (*s)->Get("/a");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->value, "2");
  EXPECT_EQ(a->version, 2);
  auto st = (*s)->GetStatus();
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->revision, rev);
  auto ttl = (*s)->LeaseTimeToLive(lease, true);
  ASSERT_TRUE(ttl.ok());
  EXPECT_EQ(ttl->granted_ttl, 300);
  ASSERT_EQ(ttl->keys.size(), 1u);
  // Revisions continue from where they were.
  auto next = (*s)->Put("/c", "y");
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->revision, rev + 1);
}

TEST(EmbeddedStoreTest, LockedDataDirIsRefused) {
  testing::TempDir dir;
  auto first = OpenEmbeddedStore(Opts(dir.path().string()));
  ASSERT_TRUE(first.ok());
  auto second = OpenEmbeddedStore(Opts(dir.path().string()));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(second.status().message().find("locked by another process"), std::string::npos)
      << second.status().message();
  // The first store is unharmed.
  EXPECT_TRUE((*first)->Put("/k", "v").ok());
}

TEST(EmbeddedStoreTest, ForeignDirectoryIsNeverOverwritten) {
  testing::TempDir dir;
  fs::create_directories((dir.path() / "member/snap").string());
  std::ofstream((dir.path() / "member/wal").string()) << "not ours";
  auto s = OpenEmbeddedStore(Opts(dir.path().string()));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.status().message().find("not a keelson store"), std::string::npos)
      << s.status().message();
  EXPECT_EQ(ReadFile((dir.path() / "member/wal").string()), "not ours");
  EXPECT_FALSE(fs::exists((dir.path() / "data.mdb").string()));
}

// The first byte (flags) of every record in the rev db, in revision order.
std::vector<int> RecordFlags(const std::string& dir) {
  std::vector<int> out;
  MDB_env* env = nullptr;
  mdb_env_create(&env);
  mdb_env_set_maxdbs(env, 8);
  EXPECT_EQ(mdb_env_open(env, dir.c_str(), MDB_RDONLY, 0600), 0);
  MDB_txn* txn = nullptr;
  mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn);
  MDB_dbi dbi;
  EXPECT_EQ(mdb_dbi_open(txn, "rev", 0, &dbi), 0);
  MDB_cursor* c = nullptr;
  mdb_cursor_open(txn, dbi, &c);
  MDB_val k{}, v{};
  for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    out.push_back(static_cast<const unsigned char*>(v.mv_data)[0]);
  }
  mdb_cursor_close(c);
  mdb_txn_abort(txn);
  mdb_env_close(env);
  return out;
}

TEST(EmbeddedStoreTest, LargeCompressibleValuesAreStoredCompressed) {
  testing::TempDir dir;
  std::string big;
  for (int i = 0; i < 40; ++i) big += R"({"name":"c","image":"nginx:1.27","ports":[80]},)";
  std::string noise;
  uint32_t x = 12345;
  for (int i = 0; i < 2000; ++i) {
    x = x * 1664525u + 1013904223u;
    noise.push_back(static_cast<char>(x >> 24));
  }
  std::string small(100, 'a');
  {
    auto s = OpenEmbeddedStore(Opts(dir.path().string()));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    ASSERT_TRUE((*s)->Put("/big", big).ok());
    ASSERT_TRUE((*s)->Put("/noise", noise).ok());
    ASSERT_TRUE((*s)->Put("/small", small).ok());
    ASSERT_TRUE((*s)->Put("/big", big + "!").ok());  // the previous version is read back too
  }
  // Compressed: the big values; as they are: what does not compress, and small values.
  EXPECT_EQ(RecordFlags(dir.path().string()), (std::vector<int>{4, 0, 0, 4}));  // zstd
  auto s = OpenEmbeddedStore(Opts(dir.path().string()));
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ((*s)->Get("/big")->value, big + "!");
  EXPECT_EQ((*s)->Get("/noise")->value, noise);
  EXPECT_EQ((*s)->Get("/small")->value, small);
  RangeRequest past;
  past.key = "/big";
  past.revision = 1;
  EXPECT_EQ((*s)->Range(past)->kvs.at(0).value, big);
  // A watch from the start reads the history back from disk.
  WatchOptions wo;
  wo.key = "/";
  wo.range_end = "0";
  wo.start_revision = 1;
  wo.prev_kv = true;
  auto w = (*s)->Watch(wo);
  ASSERT_TRUE(w.ok());
  std::vector<Event> events;
  for (int i = 0; i < 50 && events.size() < 4; ++i) {
    auto b = (*w)->Next(100ms);
    ASSERT_TRUE(b.ok());
    for (auto& e : b->events) events.push_back(std::move(e));
  }
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].kv.value, big);
  EXPECT_EQ(events[1].kv.value, noise);
  EXPECT_EQ(events[3].kv.value, big + "!");
  ASSERT_TRUE(events[3].prev_kv.has_value());
  EXPECT_EQ(events[3].prev_kv->value, big);
}

class OlderFormatTest : public ::testing::TestWithParam<std::string> {};

TEST_P(OlderFormatTest, DirectoriesAreReadAndRelabelled) {
  testing::TempDir dir;
  const std::string d = dir.path().string();
  const std::string older = GetParam();
  {
    auto s = OpenEmbeddedStore(Opts(d));
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE((*s)->Put("/a", "1").ok());
  }
  // Make it look as an older keelson left it (no record of it has a newer codec flag).
  std::ofstream(dir.path() / "FORMAT", std::ios::trunc) << older << "\n";
  {
    MDB_env* env = nullptr;
    mdb_env_create(&env);
    mdb_env_set_maxdbs(env, 8);
    ASSERT_EQ(mdb_env_open(env, d.c_str(), 0, 0600), 0);
    MDB_txn* txn = nullptr;
    mdb_txn_begin(env, nullptr, 0, &txn);
    MDB_dbi meta;
    ASSERT_EQ(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    std::string k = "format", v = older;
    MDB_val mk{k.size(), k.data()}, mv{v.size(), v.data()};
    ASSERT_EQ(mdb_put(txn, meta, &mk, &mv, 0), 0);
    ASSERT_EQ(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
  }
  auto s = OpenEmbeddedStore(Opts(d));
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ((*s)->Get("/a")->value, "1");
  EXPECT_EQ(ReadFile((dir.path() / "FORMAT").string()), "keelson-mvcc-3\n");
}

INSTANTIATE_TEST_SUITE_P(Formats, OlderFormatTest,
                         ::testing::Values("keelson-mvcc-1", "keelson-mvcc-2"));

TEST(EmbeddedStoreTest, OtherFormatIsRefused) {
  testing::TempDir dir;
  std::ofstream((dir.path() / "FORMAT").string()) << "keelson-mvcc-99\n";
  auto s = OpenEmbeddedStore(Opts(dir.path().string()));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("keelson-mvcc-99"), std::string::npos);
}

TEST(EmbeddedStoreTest, CorruptDataFileIsReportedAndLeftAlone) {
  testing::TempDir dir;
  {
    auto s = OpenEmbeddedStore(Opts(dir.path().string()));
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE((*s)->Put("/k", "v").ok());
  }
  {
    // Overwrite both meta pages.
    std::fstream f((dir.path() / "data.mdb").string(), std::ios::in | std::ios::out | std::ios::binary);
    std::string junk(8192, '\x5a');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  std::string before = ReadFile((dir.path() / "data.mdb").string());
  auto s = OpenEmbeddedStore(Opts(dir.path().string()));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.status().message().find("corrupt"), std::string::npos) << s.status().message();
  EXPECT_EQ(ReadFile((dir.path() / "data.mdb").string()), before);
}

TEST(EmbeddedStoreTest, SlowWatcherCatchesUpFromDisk) {
  testing::TempDir dir;
  auto o = Opts(dir.path().string());
  o.watch_cache_events = 16;  // a tiny in-memory window: most history comes from disk
  auto s = OpenEmbeddedStore(o);
  ASSERT_TRUE(s.ok());
  WatchOptions wo;
  wo.key = "/w/";
  wo.range_end = PrefixEnd("/w/");
  wo.prev_kv = true;
  auto w = (*s)->Watch(wo);
  ASSERT_TRUE(w.ok());
  constexpr int kWrites = 3000;
  for (int i = 0; i < kWrites; ++i) {
    ASSERT_TRUE((*s)->Put("/w/" + std::to_string(i % 7), std::to_string(i)).ok());
    if (i % 5 == 0) {
      ASSERT_TRUE((*s)->Put("/other", "x").ok());
    }
  }
  std::vector<Event> got;
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (got.size() < kWrites && std::chrono::steady_clock::now() < deadline) {
    auto b = (*w)->Next(100ms);
    ASSERT_TRUE(b.ok());
    ASSERT_FALSE(b->canceled);
    for (auto& e : b->events) got.push_back(std::move(e));
  }
  ASSERT_EQ(got.size(), size_t{kWrites});
  for (int i = 0; i < kWrites; ++i) {
    ASSERT_EQ(got[i].kv.value, std::to_string(i)) << i;
    if (i > 0) {
      ASSERT_GT(got[i].kv.mod_revision, got[i - 1].kv.mod_revision);
    }
    if (i >= 7) {
      ASSERT_TRUE(got[i].prev_kv.has_value()) << i;
      ASSERT_EQ(got[i].prev_kv->value, std::to_string(i - 7));
    }
  }
}

TEST(EmbeddedStoreTest, CompactionRemovesOldVersionsFromDisk) {
  testing::TempDir dir;
  int64_t last = 0;
  {
    auto s = OpenEmbeddedStore(Opts(dir.path().string()));
    ASSERT_TRUE(s.ok());
    for (int i = 0; i < 500; ++i) {
      ASSERT_TRUE((*s)->Put("/k" + std::to_string(i % 10), "v").ok());
    }
    ASSERT_TRUE((*s)->DeleteRange(DeleteRangeRequest{"/k0", "", false}).ok());
    last = (*s)->Put("/k1", "final")->revision;
    ASSERT_TRUE((*s)->Compact(last).ok());
    // Physical compaction runs in steps after the call returns; reads stay correct meanwhile.
    EXPECT_EQ((*s)->Get("/k1")->value, "final");
    EXPECT_EQ((*s)->Get("/k0").status().code(), StatusCode::kNotFound);
  }
  // Nine live keys remain, one version each; the deleted key left nothing behind.
  EXPECT_EQ(CountEntries(dir.path().string(), "rev"), 9u);
  EXPECT_EQ(CountEntries(dir.path().string(), "keys"), 9u);
  auto s = OpenEmbeddedStore(Opts(dir.path().string()));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->GetStatus()->compact_revision, last);
  RangeRequest all;
  all.key = "/";
  all.range_end = PrefixEnd("/");
  EXPECT_EQ((*s)->Range(all)->count, 9);
  all.revision = last - 1;
  EXPECT_EQ((*s)->Range(all).status().code(), StatusCode::kGone);
}

TEST(EmbeddedStoreTest, AutomaticCompactionKeepsRetention) {
  testing::TempDir dir;
  auto o = Opts(dir.path().string());
  o.auto_compact_retention = 1s;
  o.auto_compact_interval = 200ms;
  o.lease_check_interval = 100ms;
  auto s = OpenEmbeddedStore(o);
  ASSERT_TRUE(s.ok());
  int64_t first = (*s)->Put("/a", "1")->revision;
  auto deadline = std::chrono::steady_clock::now() + 15s;
  int64_t compacted = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    ASSERT_TRUE((*s)->Put("/a", "x").ok());
    compacted = (*s)->GetStatus()->compact_revision;
    if (compacted > first) break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_GT(compacted, first);
  RangeRequest old;
  old.key = "/a";
  old.revision = first;
  EXPECT_EQ((*s)->Range(old).status().code(), StatusCode::kGone);
}

TEST(EmbeddedStoreTest, SkipCountPagesWithoutCounting) {
  testing::TempDir dir;
  auto s = OpenEmbeddedStore(Opts(dir.path().string()));
  ASSERT_TRUE(s.ok());
  for (int i = 0; i < 25; ++i) {
    char k[16];
    std::snprintf(k, sizeof k, "/p/%02d", i);
    ASSERT_TRUE((*s)->Put(k, "v").ok());
  }
  ASSERT_TRUE((*s)->DeleteRange(DeleteRangeRequest{"/p/03", "", false}).ok());
  RangeRequest r;
  r.key = "/p/";
  r.range_end = PrefixEnd("/p/");
  r.limit = 10;
  r.skip_count = true;
  std::vector<std::string> keys;
  while (true) {
    auto page = (*s)->Range(r);
    ASSERT_TRUE(page.ok());
    EXPECT_EQ(page->count, 0);
    for (const auto& kv : page->kvs) keys.push_back(kv.key);
    if (!page->more) {
      EXPECT_LE(page->kvs.size(), 10u);
      break;
    }
    EXPECT_EQ(page->kvs.size(), 10u);
    r.key = page->kvs.back().key + '\0';
  }
  ASSERT_EQ(keys.size(), 24u);  // 25 written, one deleted, none twice
  EXPECT_EQ(keys.front(), "/p/00");
  EXPECT_EQ(keys[3], "/p/04");
  EXPECT_EQ(keys.back(), "/p/24");
  // Without it, count is the whole range.
  r.key = "/p/";
  r.skip_count = false;
  EXPECT_EQ((*s)->Range(r)->count, 24);
}

TEST(EmbeddedStoreTest, QuotaExceededFailsWritesButReadsGoOn) {
  testing::TempDir dir;
  auto o = Opts(dir.path().string());
  o.quota_bytes = 2 << 20;
  auto s = OpenEmbeddedStore(o);
  ASSERT_TRUE(s.ok());
  std::string value = Incompressible(64 * 1024, 1);
  Status failure;
  int stored = 0;
  for (int i = 0; i < 200 && failure.ok(); ++i) {
    auto r = (*s)->Put("/q/" + std::to_string(i), value);
    if (r.ok()) {
      ++stored;
    } else {
      failure = r.status();
    }
  }
  ASSERT_FALSE(failure.ok()) << "2 MiB quota never reached";
  EXPECT_EQ(failure.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(failure.message(), kErrNoSpace);
  ASSERT_GT(stored, 0);
  auto r = (*s)->Get("/q/0");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->value, value);
  // Revisions stayed contiguous: the failed batch consumed none.
  EXPECT_EQ((*s)->GetStatus()->revision, stored);
}

TEST(EmbeddedStoreTest, FullDiskFailsWritesButReadsGoOn) {
  testing::TempDir dir;
  std::string mnt = (dir.path() / "small").string();
  fs::create_directories(mnt);
  if (::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=1m") != 0) {
    GTEST_SKIP() << "cannot mount a small tmpfs here (needs root): " << std::strerror(errno);
  }
  struct Unmount {
    std::string p;
    ~Unmount() { ::umount2(p.c_str(), MNT_DETACH); }
  } unmount{mnt};
  Status failure;
  int stored = 0;
  {
    auto s = OpenEmbeddedStore(Opts(mnt + "/data"));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    std::string value = Incompressible(32 * 1024, 2);
    for (int i = 0; i < 200 && failure.ok(); ++i) {
      auto r = (*s)->Put("/d/" + std::to_string(i), value);
      if (r.ok()) {
        ++stored;
      } else {
        failure = r.status();
      }
    }
    ASSERT_FALSE(failure.ok());
    EXPECT_EQ(failure.code(), StatusCode::kResourceExhausted) << failure.ToString();
    EXPECT_NE(failure.message().find("no space"), std::string::npos) << failure.message();
    ASSERT_GT(stored, 0);
    EXPECT_EQ((*s)->Get("/d/0")->value.size(), value.size());
  }
  // What was acknowledged is there after a restart.
  auto s = OpenEmbeddedStore(Opts(mnt + "/data"));
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  RangeRequest all;
  all.key = "/d/";
  all.range_end = PrefixEnd("/d/");
  all.count_only = true;
  EXPECT_EQ((*s)->Range(all)->count, stored);
}

}  // namespace
}  // namespace keelson::store
