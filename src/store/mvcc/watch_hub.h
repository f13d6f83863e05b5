// WatchHub: fans committed events out to the embedded store's watchers.
//
// The hub keeps the most recent events (a window of whole revisions) in memory. A watcher is
// nothing but a position (the next revision it has to see) and a key range: it reads matching
// events from the window, or, when it has fallen behind the window, from disk through a
// HistoryReader, on its own consumer's thread. Writers never wait for watchers and a slow
// watcher costs the others nothing.
//
// Thread-safety: all methods are thread-safe. Publish() is called by the committer only.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <unordered_set>
#include <vector>

#include "store/store.h"

namespace keelson::store::mvcc {

// Reads committed history back from disk.
class HistoryReader {
 public:
  struct Chunk {
    std::vector<Event> events;
    int64_t next_revision = 0;  // first revision not covered by this chunk
    bool compacted = false;     // from_revision is older than the compaction point
    int64_t compact_revision = 0;
  };
  virtual ~HistoryReader() = default;
  // Events of revisions [from, to] that match `opts`, stopping at a revision boundary once
  // `max_events` are collected.
  virtual Result<Chunk> ReadHistory(int64_t from, int64_t to, const WatchOptions& opts,
                                    size_t max_events) = 0;
};

class WatchHub : public std::enable_shared_from_this<WatchHub> {
 public:
  // `reader` must outlive the hub or Close() must be called before it goes away.
  // The window holds at most `window_events` events and about `window_bytes` bytes.
  WatchHub(HistoryReader* reader, size_t window_events, size_t window_bytes,
           int64_t current_revision, int64_t compact_revision);

  // A stream from opts.start_revision (<= 0: after the current revision).
  std::unique_ptr<WatchStream> NewStream(const WatchOptions& opts);

  // Adds the events of one or more committed revisions (in order) and makes `revision` the
  // current one.
  void Publish(std::vector<std::shared_ptr<const Event>> events, int64_t revision);

  void SetCompactRevision(int64_t revision);

  // Ends every stream ("store closed") and detaches the reader.
  void Close();

  int64_t current_revision() const;

  // Largest batch handed to a watcher at once (whole revisions are never split).
  static constexpr size_t kMaxBatchEvents = 1000;

  struct StreamState;

 private:
  friend class HubStream;

  void Unregister(const std::shared_ptr<StreamState>& s);
  Result<WatchBatch> Next(StreamState* s, std::chrono::milliseconds timeout);
  void RequestProgress(const std::shared_ptr<StreamState>& s);
  void Wake(const std::vector<std::shared_ptr<StreamState>>& streams);

  mutable std::mutex mu_;  // guards every member below and StreamState's position fields
  std::condition_variable cv_;
  HistoryReader* reader_;
  const size_t window_events_;
  const size_t window_bytes_;
  size_t bytes_ = 0;  // approximate size of window_
  std::deque<std::shared_ptr<const Event>> window_;  // events in revision order
  int64_t window_start_;  // every event of revisions >= window_start_ is in window_
  int64_t current_;
  int64_t compact_;
  bool closed_ = false;
  std::unordered_set<std::shared_ptr<StreamState>> streams_;
};

}  // namespace keelson::store::mvcc
