// etcd_load: an etcd v3 gRPC load generator. It drives any server that speaks the etcd v3 API
// (real etcd or `keelson store`) with one workload and prints one result line:
//
//   workload=put clients=256 value=256 ops=123456 secs=5.00 ops_per_sec=24691 p50_ms=9.8
//   p99_ms=21.0 rss_mb=45.1 anon_mb=30.2 server_cpu_us=33.8 gen_cpu_us=25.0 errors=0
//
// Workloads:
//   put    each client puts to its own keys (key space --keys) as fast as answers come back
//   range  linearizable single-key gets of one pre-written key
//   (--total=N stops a put or range run after N requests instead of after --seconds)
//   watch  --watchers watch streams on one prefix, one writer putting --rate keys per second;
//          latency is from the put being sent to each watcher receiving its event
//
// The server's resident set is read from /proc/<--server-pid>/status at the end of the run.
// For put and range, server_cpu_us and gen_cpu_us are the CPU time (user + system) the server
// (from /proc/<pid>/stat) and this generator (getrusage) spent per request during the run:
// on a machine whose cores are all busy, throughput is what they leave each other.
#include <grpcpp/grpcpp.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <random>
#include <vector>

#include "etcd/rpc.grpc.pb.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Flags {
  std::string endpoint = "127.0.0.1:2379";
  std::string workload = "put";
  int clients = 1;
  int conns = 0;  // 0: min(clients, 16)
  int value_size = 256;
  int keys = 100000;
  double seconds = 5;
  int watchers = 1000;
  int rate = 200;  // watch workload: puts per second
  int server_pid = 0;
  int client_threads = 1;
  int64_t total = 0;  // stop after this many requests (0: run for --seconds)
};

bool ParseFlags(int argc, char** argv, Flags* f) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto eq = a.find('=');
    if (a.rfind("--", 0) != 0 || eq == std::string::npos) {
      std::fprintf(stderr, "etcd_load: flags are --name=value, got '%s'\n", a.c_str());
      return false;
    }
    std::string k = a.substr(2, eq - 2), v = a.substr(eq + 1);
    if (k == "endpoint") f->endpoint = v;
    else if (k == "workload") f->workload = v;
    else if (k == "clients") f->clients = std::stoi(v);
    else if (k == "conns") f->conns = std::stoi(v);
    else if (k == "value-size") f->value_size = std::stoi(v);
    else if (k == "keys") f->keys = std::stoi(v);
    else if (k == "seconds") f->seconds = std::stod(v);
    else if (k == "watchers") f->watchers = std::stoi(v);
    else if (k == "rate") f->rate = std::stoi(v);
    else if (k == "server-pid") f->server_pid = std::stoi(v);
    else if (k == "client-threads") f->client_threads = std::max(1, std::stoi(v));
    else if (k == "total") f->total = std::stoll(v);
    else {
      std::fprintf(stderr, "etcd_load: unknown flag --%s\n", k.c_str());
      return false;
    }
  }
  if (f->endpoint.rfind("http://", 0) == 0) f->endpoint = f->endpoint.substr(7);
  if (f->conns <= 0) f->conns = std::min(f->clients, 16);
  return true;
}

// A field of /proc/<pid>/status in MiB: "VmRSS" (all resident memory, including the pages
// of memory-mapped database files) or "RssAnon" (the process's own heap and stacks).
double StatusMb(int pid, const std::string& field) {
  if (pid <= 0) return 0;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stod(line.substr(field.size() + 1)) / 1024.0;
  }
  return 0;
}
double RssMb(int pid) { return StatusMb(pid, "VmRSS"); }
double AnonMb(int pid) { return StatusMb(pid, "RssAnon"); }

// CPU seconds (user + system) a process has used: /proc/<pid>/stat fields 14 and 15.
double ProcessCpuSeconds(int pid) {
  if (pid <= 0) return 0;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), {});
  auto paren = text.rfind(')');  // the command name may hold spaces
  if (paren == std::string::npos) return 0;
  std::istringstream fields(text.substr(paren + 2));
  std::string f;
  double ticks = 0;
  for (int i = 3; i <= 15 && fields >> f; ++i) {
    if (i >= 14) ticks += std::stod(f);
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double SelfCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto sec = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return sec(u.ru_utime) + sec(u.ru_stime);
}

struct Recorder {
  std::mutex mu;
  std::vector<double> latencies_ms;
  std::atomic<int64_t> errors{0};
  void Add(std::vector<double>& local) {
    std::lock_guard l(mu);
    latencies_ms.insert(latencies_ms.end(), local.begin(), local.end());
  }
  double Percentile(double p) {
    if (latencies_ms.empty()) return 0;
    std::sort(latencies_ms.begin(), latencies_ms.end());
    size_t i = std::min(latencies_ms.size() - 1,
                        static_cast<size_t>(p * static_cast<double>(latencies_ms.size())));
    return latencies_ms[i];
  }
};

std::vector<std::shared_ptr<grpc::Channel>> MakeChannels(const Flags& f) {
  std::vector<std::shared_ptr<grpc::Channel>> chans;
  for (int i = 0; i < f.conns; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("grpc.channel_id", i);  // distinct arguments: a connection each
    args.SetMaxReceiveMessageSize(64 << 20);
    chans.push_back(
        grpc::CreateCustomChannel(f.endpoint, grpc::InsecureChannelCredentials(), args));
  }
  return chans;
}

// Closed-loop clients on completion queues: each client has one request in flight and
// issues the next when the answer arrives. `--client-threads` threads each drive their share
// of the clients from their own queue, so the generator's cost per request stays small.
struct ClientSlot {
  int id = 0;
  int64_t seq = 0;
  std::unique_ptr<grpc::ClientContext> ctx;
  etcdserverpb::PutRequest put;
  etcdserverpb::PutResponse put_resp;
  etcdserverpb::RangeRequest range;
  etcdserverpb::RangeResponse range_resp;
  std::unique_ptr<grpc::ClientAsyncResponseReader<etcdserverpb::PutResponse>> put_rpc;
  std::unique_ptr<grpc::ClientAsyncResponseReader<etcdserverpb::RangeResponse>> range_rpc;
  grpc::Status status;
  Clock::time_point start;
  etcdserverpb::KV::Stub* stub = nullptr;
};

void Issue(ClientSlot* c, const Flags& f, const std::string& value, grpc::CompletionQueue* cq) {
  c->ctx = std::make_unique<grpc::ClientContext>();
  c->ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  c->start = Clock::now();
  if (f.workload == "put") {
    c->put.set_key("/bench/" + std::to_string(c->id) + "/" + std::to_string(c->seq++ % f.keys));
    c->put.set_value(value);
    c->put_rpc = c->stub->AsyncPut(c->ctx.get(), c->put, cq);
    c->put_rpc->Finish(&c->put_resp, &c->status, c);
  } else {
    c->range.set_key("/bench/range-key");
    c->range_rpc = c->stub->AsyncRange(c->ctx.get(), c->range, cq);
    c->range_rpc->Finish(&c->range_resp, &c->status, c);
  }
}

std::atomic<int64_t> g_issued{0};

void DriveClients(const Flags& f, std::vector<ClientSlot*> slots, Clock::time_point end,
                  Recorder* rec) {
  grpc::CompletionQueue cq;
  // Random bytes: a value that compresses would flatter a store that compresses.
  std::string value(static_cast<size_t>(f.value_size), '\0');
  std::mt19937 rng(42);
  for (auto& ch : value) ch = static_cast<char>(rng() & 0xff);
  std::vector<double> lat;
  for (auto* c : slots) Issue(c, f, value, &cq);
  size_t live = slots.size();
  void* tag;
  bool ok;
  while (live > 0 && cq.Next(&tag, &ok)) {
    auto* c = static_cast<ClientSlot*>(tag);
    if (!ok || !c->status.ok()) {
      if (rec->errors.fetch_add(1) < 5) {
        std::fprintf(stderr, "etcd_load: %s\n", c->status.error_message().c_str());
      }
    } else {
      lat.push_back(std::chrono::duration<double, std::milli>(Clock::now() - c->start).count());
    }
    if (Clock::now() >= end || (f.total > 0 && g_issued.fetch_add(1) >= f.total)) {
      --live;
    } else {
      Issue(c, f, value, &cq);
    }
  }
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  rec->Add(lat);
}

int RunUnary(const Flags& f) {
  auto chans = MakeChannels(f);
  std::vector<std::unique_ptr<etcdserverpb::KV::Stub>> stubs;
  for (auto& c : chans) stubs.push_back(etcdserverpb::KV::NewStub(c));
  if (f.workload == "range") {
    grpc::ClientContext ctx;
    etcdserverpb::PutRequest req;
    etcdserverpb::PutResponse resp;
    req.set_key("/bench/range-key");
    req.set_value(std::string(static_cast<size_t>(f.value_size), 'r'));
    auto s = stubs[0]->Put(&ctx, req, &resp);
    if (!s.ok()) {
      std::fprintf(stderr, "etcd_load: setup put: %s\n", s.error_message().c_str());
      return 1;
    }
  }
  Recorder rec;
  std::vector<ClientSlot> slots(static_cast<size_t>(f.clients));
  std::vector<std::vector<ClientSlot*>> per_thread(static_cast<size_t>(f.client_threads));
  for (int i = 0; i < f.clients; ++i) {
    slots[i].id = i;
    slots[i].stub = stubs[i % stubs.size()].get();
    per_thread[i % f.client_threads].push_back(&slots[i]);
  }
  auto start = Clock::now();
  const double server_cpu0 = ProcessCpuSeconds(f.server_pid), gen_cpu0 = SelfCpuSeconds();
  auto end = start + std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(f.total > 0 ? 1e6 : f.seconds));
  g_issued = f.clients;  // the first request of every client
  std::vector<std::thread> threads;
  for (auto& group : per_thread) {
    if (!group.empty()) threads.emplace_back(DriveClients, std::cref(f), group, end, &rec);
  }
  for (auto& t : threads) t.join();
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  size_t ops = rec.latencies_ms.size();
  const double per_op = ops > 0 ? 1e6 / static_cast<double>(ops) : 0;
  const double server_cpu_us = (ProcessCpuSeconds(f.server_pid) - server_cpu0) * per_op;
  const double gen_cpu_us = (SelfCpuSeconds() - gen_cpu0) * per_op;
  std::printf(
      "workload=%s clients=%d value=%d ops=%zu secs=%.2f ops_per_sec=%.0f p50_ms=%.2f "
      "p99_ms=%.2f rss_mb=%.1f anon_mb=%.1f server_cpu_us=%.1f gen_cpu_us=%.1f errors=%lld\n",
      f.workload.c_str(), f.clients, f.value_size, ops, secs, static_cast<double>(ops) / secs,
      rec.Percentile(0.5), rec.Percentile(0.99), RssMb(f.server_pid), AnonMb(f.server_pid),
      server_cpu_us, gen_cpu_us, static_cast<long long>(rec.errors.load()));
  return rec.errors.load() == 0 ? 0 : 1;
}

// A watch stream: one watcher on /bench/watch/, recording the delay of each event.
class Watcher : public grpc::ClientBidiReactor<etcdserverpb::WatchRequest,
                                               etcdserverpb::WatchResponse> {
 public:
  Watcher(etcdserverpb::Watch::Stub* stub, Recorder* rec) : rec_(rec) {
    stub->async()->Watch(&ctx_, this);
    auto* c = req_.mutable_create_request();
    c->set_key("/bench/watch/");
    c->set_range_end("/bench/watch0");
    StartWrite(&req_);
    StartRead(&resp_);
    StartCall();
  }

  void OnWriteDone(bool) override {}
  void OnReadDone(bool ok) override {
    if (!ok) return;
    if (resp_.created()) {
      std::lock_guard l(mu_);
      created_ = true;
      cv_.notify_all();
    }
    auto now = std::chrono::system_clock::now().time_since_epoch();
    double now_ms = std::chrono::duration<double, std::milli>(now).count();
    for (const auto& ev : resp_.events()) {
      // The value carries the writer's send time in microseconds since the epoch.
      double sent_ms = std::stod(ev.kv().value()) / 1000.0;
      lat_.push_back(now_ms - sent_ms);
    }
    StartRead(&resp_);
  }
  void OnDone(const grpc::Status&) override {
    std::lock_guard l(mu_);
    done_ = true;
    cv_.notify_all();
  }

  bool WaitCreated(std::chrono::seconds limit) {
    std::unique_lock l(mu_);
    return cv_.wait_for(l, limit, [&] { return created_ || done_; }) && created_;
  }
  void Finish() {
    ctx_.TryCancel();
    std::unique_lock l(mu_);
    cv_.wait(l, [&] { return done_; });
    rec_->Add(lat_);
  }
  size_t received() const { return lat_.size(); }

 private:
  Recorder* rec_;
  grpc::ClientContext ctx_;
  etcdserverpb::WatchRequest req_;
  etcdserverpb::WatchResponse resp_;
  std::vector<double> lat_;  // touched only by the reactor until OnDone
  std::mutex mu_;
  std::condition_variable cv_;
  bool created_ = false, done_ = false;
};

int RunWatch(const Flags& f) {
  auto chans = MakeChannels(f);
  std::vector<std::unique_ptr<etcdserverpb::Watch::Stub>> wstubs;
  for (auto& c : chans) wstubs.push_back(etcdserverpb::Watch::NewStub(c));
  auto kv = etcdserverpb::KV::NewStub(chans[0]);
  Recorder rec;
  std::vector<std::unique_ptr<Watcher>> ws;
  for (int i = 0; i < f.watchers; ++i) {
    ws.push_back(std::make_unique<Watcher>(wstubs[i % wstubs.size()].get(), &rec));
  }
  for (auto& w : ws) {
    if (!w->WaitCreated(std::chrono::seconds(60))) {
      std::fprintf(stderr, "etcd_load: a watch was not created\n");
      return 1;
    }
  }
  auto start = Clock::now();
  auto end = start + std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(f.seconds));
  auto interval = std::chrono::microseconds(1000000 / std::max(1, f.rate));
  int64_t puts = 0;
  auto next = start;
  while (Clock::now() < end) {
    grpc::ClientContext ctx;
    etcdserverpb::PutRequest req;
    etcdserverpb::PutResponse resp;
    req.set_key("/bench/watch/" + std::to_string(puts % 100));
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
    req.set_value(std::to_string(us));
    auto s = kv->Put(&ctx, req, &resp);
    if (!s.ok()) {
      rec.errors++;
    } else {
      ++puts;
    }
    next += interval;
    std::this_thread::sleep_until(next);
  }
  // Give the last events time to arrive.
  auto drain_end = Clock::now() + std::chrono::seconds(10);
  while (Clock::now() < drain_end) {
    size_t got = 0;
    for (auto& w : ws) got += w->received();
    if (got >= static_cast<size_t>(puts) * ws.size()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  double rss = RssMb(f.server_pid), anon = AnonMb(f.server_pid);
  for (auto& w : ws) w->Finish();
  size_t delivered = rec.latencies_ms.size();
  size_t expected = static_cast<size_t>(puts) * ws.size();
  std::printf(
      "workload=watch watchers=%d puts=%lld delivered=%zu expected=%zu secs=%.2f "
      "events_per_sec=%.0f p50_ms=%.2f p99_ms=%.2f rss_mb=%.1f anon_mb=%.1f errors=%lld\n",
      f.watchers, static_cast<long long>(puts), delivered, expected, secs,
      static_cast<double>(delivered) / secs, rec.Percentile(0.5), rec.Percentile(0.99), rss, anon,
      static_cast<long long>(rec.errors.load()));
  return delivered == expected && rec.errors.load() == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Flags f;
  if (!ParseFlags(argc, argv, &f)) return 2;
  if (f.workload == "put" || f.workload == "range") return RunUnary(f);
  if (f.workload == "watch") return RunWatch(f);
  std::fprintf(stderr, "etcd_load: unknown workload '%s'\n", f.workload.c_str());
  return 2;
}
