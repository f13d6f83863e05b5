#include "controllers/base/pod_control.h"

#include <algorithm>

#include "controllers/base/workload_util.h"

namespace keelson::controllers {

namespace json = boost::json;

Result<api::Object> PodFromTemplate(const api::Object& pod_template, const api::Object& owner,
                                    const api::OwnerReference* controller_ref) {
  const api::Object* tmeta = ObjectAt(pod_template, {"metadata"});
  json::object meta;
  json::object labels;
  if (tmeta != nullptr) {
    if (const auto* l = tmeta->if_contains("labels"); l && l->is_object()) labels = l->get_object();
    if (const auto* a = tmeta->if_contains("annotations"); a && a->is_object() && !a->get_object().empty()) {
      meta["annotations"] = *a;
    }
    if (const auto* f = tmeta->if_contains("finalizers"); f && f->is_array() && !f->get_array().empty()) {
      meta["finalizers"] = *f;
    }
  }
  if (labels.empty()) return InvalidArgumentError("unable to create pods, no labels");
  meta["labels"] = std::move(labels);
  // "<name>-" when that is a valid generateName (a DNS subdomain once 5 characters are
  // added and the dash masked), else the name alone.
  std::string prefix(api::GetName(owner));
  if (prefix.size() + 1 <= 253) prefix += '-';
  meta["generateName"] = prefix;
  if (controller_ref != nullptr) meta["ownerReferences"] = json::array{api::ToJson(*controller_ref)};
  json::object pod{{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", std::move(meta)}};
  if (const auto* spec = pod_template.if_contains("spec"); spec && spec->is_object()) {
    pod["spec"] = *spec;
  } else {
    pod["spec"] = json::object();
  }
  return pod;
}

bool HasNamespaceTerminatingCause(const api::ApiError& e) {
  const json::value* causes = e.details.if_contains("causes");
  if (causes == nullptr || !causes->is_array()) return false;
  for (const auto& c : causes->get_array()) {
    const json::object* co = c.if_object();
    if (co == nullptr) continue;
    const json::value* r = co->if_contains("reason");
    if (r && r->is_string() && r->get_string() == "NamespaceTerminating") return true;
  }
  return false;
}

namespace {

class RealPodControl final : public PodControl {
 public:
  RealPodControl(client::RestClient* client, client::EventRecorder* recorder)
      : pods_(std::move(client->Resource("", "pods").value())), recorder_(recorder) {}

  api::ApiResult<api::Object> CreatePod(std::string_view ns, const api::Object& pod,
                                        const api::Object& owner) override {
    auto created = pods_.Namespace(ns).Create(pod);
    if (!created.ok()) {
      if (!HasNamespaceTerminatingCause(created.error())) {
        recorder_->Event(owner, client::kEventTypeWarning, "FailedCreate", "Create",
                         "Error creating: " + created.error().message);
      }
      return created;
    }
    recorder_->Event(owner, client::kEventTypeNormal, "SuccessfulCreate", "Create",
                     "Created pod: " + std::string(api::GetName(*created)));
    return created;
  }

  api::ApiResult<api::Object> DeletePod(std::string_view ns, std::string_view name,
                                        const api::Object& owner) override {
    auto deleted = pods_.Namespace(ns).Delete(name);
    if (!deleted.ok()) {
      if (api::IsNotFound(deleted.error())) return deleted;
      recorder_->Event(owner, client::kEventTypeWarning, "FailedDelete", "Delete",
                       "Error deleting: " + deleted.error().message);
      api::ApiError e = deleted.error();
      e.message = "unable to delete pods: " + e.message;
      return e;
    }
    recorder_->Event(owner, client::kEventTypeNormal, "SuccessfulDelete", "Delete",
                     "Deleted pod: " + std::string(name));
    return deleted;
  }

  api::ApiResult<api::Object> PatchPod(std::string_view ns, std::string_view name,
                                       std::string_view patch) override {
    return pods_.Namespace(ns).Patch(name, client::PatchType::kStrategicMerge, patch);
  }

 private:
  client::ResourceClient pods_;
  client::EventRecorder* recorder_;
};

}  // namespace

std::unique_ptr<PodControl> NewPodControl(client::RestClient* client,
                                          client::EventRecorder* recorder) {
  return std::make_unique<RealPodControl>(client, recorder);
}

struct ParallelRunner::Batch {
  int n = 0;
  const std::function<void(int)>* fn = nullptr;
  std::atomic<int> next{0};
  std::mutex mu;
  std::condition_variable cv;
  int done = 0;  // guarded by mu
};

ParallelRunner::ParallelRunner(int max_threads) : max_threads_(std::max(max_threads, 0)) {}

ParallelRunner::~ParallelRunner() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    threads.swap(threads_);
  }
  cv_.notify_all();
  for (auto& t : threads) t.join();
}

void ParallelRunner::Drain(Batch& b) {
  for (;;) {
    int i = b.next.fetch_add(1);
    // Once every index is taken the caller may return: touch nothing of the batch but its
    // counters (kept alive by the shared_ptr).
    if (i >= b.n) return;
    (*b.fn)(i);
    std::lock_guard lock(b.mu);
    if (++b.done == b.n) b.cv.notify_all();
  }
}

void ParallelRunner::Loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    ++idle_;
    cv_.wait(lock, [&] { return stopping_ || !pending_.empty(); });
    --idle_;
    if (stopping_) return;
    std::shared_ptr<Batch> b = std::move(pending_.front());
    pending_.pop_front();
    lock.unlock();
    Drain(*b);
    lock.lock();
  }
}

void ParallelRunner::Run(int n, const std::function<void(int)>& fn) {
  if (n <= 0) return;
  auto b = std::make_shared<Batch>();
  b->n = n;
  b->fn = &fn;
  int helpers = std::min(n - 1, max_threads_);
  if (helpers > 0) {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      for (int i = 0; i < helpers; ++i) pending_.push_back(b);
      int missing = helpers - idle_;
      while (missing-- > 0 && static_cast<int>(threads_.size()) < max_threads_) {
        threads_.emplace_back([this] { Loop(); });
      }
    }
  }
  cv_.notify_all();
  Drain(*b);
  std::unique_lock lock(b->mu);
  b->cv.wait(lock, [&] { return b->done == b->n; });
  // Helpers that did not get to this batch find it exhausted and drop it.
}

SlowStartResult SlowStartBatch(int count, int initial_batch_size, ParallelRunner& runner,
                               const std::function<Status()>& fn) {
  SlowStartResult result;
  int remaining = count;
  for (int batch = std::min(remaining, initial_batch_size); batch > 0;
       batch = std::min(2 * batch, remaining)) {
    std::mutex mu;
    int failures = 0;
    Status first;
    runner.Run(batch, [&](int) {
      Status st = fn();
      if (st.ok()) return;
      std::lock_guard lock(mu);
      if (failures++ == 0) first = st;
    });
    result.successes += batch - failures;
    if (failures > 0) {
      result.first_error = first;
      return result;
    }
    remaining -= batch;
  }
  return result;
}

}  // namespace keelson::controllers
