// The generic registry store and the subresource storages, driven in-process (as controllers'
// tests and an in-process transport use them) over an embedded store in a temporary directory,
// with a fake clock.
#include "apiserver/registry/store.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <future>

#include "api/object.h"
#include "apiserver/apiserver.h"
#include "test/util/stores.h"

namespace keelson::apiserver {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

// Calls an asynchronous storage method and waits for its answer.
api::ApiResult<api::Object> Wait(std::function<void(ObjectCallback)> call) {
  std::promise<api::ApiResult<api::Object>> p;
  call([&p](api::ApiResult<api::Object> r) { p.set_value(std::move(r)); });
  return p.get_future().get();
}

// Collects the events a watch writes.
class CollectingSink final : public WatchSink {
 public:
  size_t Add(const WatchEvent& e) override {
    std::lock_guard l(mu_);
    static constexpr const char* kTypes[] = {"ADDED", "MODIFIED", "DELETED", "BOOKMARK"};
    std::string name = e.object ? std::string(api::GetName(
                                      json::parse(e.object->json()).as_object()))
                                : "";
    events_.push_back(std::string(kTypes[static_cast<int>(e.type)]) + " " + name);
    cv_.notify_all();
    return 0;
  }
  bool Flush() override { return true; }
  size_t Backlog() const override { return 0; }
  void End() override {}
  // Waits until `n` events have come.
  std::vector<std::string> Events(size_t n) {
    std::unique_lock l(mu_);
    cv_.wait_for(l, 5s, [&] { return events_.size() >= n; });
    return events_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> events_;
};

class GenericStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = testing::OpenTestStore(dir_);
    ASSERT_NE(store_, nullptr);
    ApiServerOptions o;
    o.clock = clock_;
    o.start_watch_caches = false;
    auto api = ApiServer::Create(store_.get(), std::move(o));
    ASSERT_TRUE(api.ok()) << api.status().ToString();
    api_ = std::move(*api);
    ASSERT_TRUE(api_->Bootstrap().ok());
  }
  void TearDown() override { api_->Shutdown(); }

  RestStorage& Storage(std::string_view group, std::string_view resource,
                       std::string_view sub = "") {
    RestStorage* s = api_->Storage(group, resource, sub);
    EXPECT_NE(s, nullptr) << resource << "/" << sub;
    return *s;
  }
  RequestContext Ctx(std::string ns, std::string name = "") {
    RequestContext ctx;
    ctx.ns = std::move(ns);
    ctx.name = std::move(name);
    ctx.field_manager = "test";
    return ctx;
  }
  api::ApiResult<api::Object> Create(std::string_view group, std::string_view resource,
                                     const std::string& ns, const char* body) {
    return Wait([&](ObjectCallback done) {
      Storage(group, resource).Create(Ctx(ns), json::parse(body).as_object(), std::move(done));
    });
  }
  api::ApiResult<api::Object> Delete(std::string_view group, std::string_view resource,
                                     const std::string& ns, const std::string& name,
                                     DeleteOptions opts = {}) {
    return Wait([&](ObjectCallback done) {
      Storage(group, resource).Delete(Ctx(ns, name), opts, std::move(done));
    });
  }
  api::ApiResult<ListResult> List(std::string_view resource, const std::string& ns,
                                  ListRequest req) {
    std::promise<api::ApiResult<ListResult>> p;
    Storage("", resource).List(Ctx(ns), req, [&p](api::ApiResult<ListResult> r) {
      p.set_value(std::move(r));
    });
    return p.get_future().get();
  }

  testing::TempDir dir_{"keelson-registry"};
  std::shared_ptr<FakeClock> clock_ = std::make_shared<FakeClock>();
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<ApiServer> api_;
};

TEST_F(GenericStoreTest, CreateGetUpdateWithPreconditionsAndErrors) {
  auto cm = Create("", "configmaps", "default",
                   R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},
                      "data":{"a":"1"}})");
  ASSERT_TRUE(cm.ok()) << cm.error().message;
  EXPECT_FALSE(api::GetUid(*cm).empty());
  EXPECT_EQ(api::GetCreationTimestamp(*cm), api::FormatTime(clock_->Now()));
  // managedFields name the manager of the write.
  EXPECT_EQ(api::FieldText((*cm)["metadata"].as_object()["managedFields"].as_array()[0]
                               .as_object(),
                           "manager"),
            "test");
  auto again = Create("", "configmaps", "default",
                      R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"}})");
  ASSERT_FALSE(again.ok());
  EXPECT_TRUE(api::IsAlreadyExists(again.error()));
  EXPECT_EQ(again.error().message, "configmaps \"c\" already exists");

  auto got = Storage("", "configmaps").Get(Ctx("default", "c"));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(api::GetResourceVersion(*got), api::GetResourceVersion(*cm));
  auto missing = Storage("", "configmaps").Get(Ctx("default", "nope"));
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(api::IsNotFound(missing.error()));

  // An update at the current resourceVersion succeeds; a stale one is a conflict.
  api::Object next = *got;
  next["data"].as_object()["a"] = "2";
  auto updated = Wait([&](ObjectCallback done) {
    Storage("", "configmaps").Update(Ctx("default", "c"), next, std::move(done));
  });
  ASSERT_TRUE(updated.ok()) << updated.error().message;
  EXPECT_EQ(api::FieldText(*updated, "data.a"), "2");
  EXPECT_EQ(api::GetUid(*updated), api::GetUid(*cm));
  auto stale = Wait([&](ObjectCallback done) {
    Storage("", "configmaps").Update(Ctx("default", "c"), next, std::move(done));
  });
  ASSERT_FALSE(stale.ok());
  EXPECT_TRUE(api::IsConflict(stale.error()));

  // The kind's rules apply: a bad key is 422 with the field.
  auto bad = Create("", "configmaps", "default",
                    R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"b"},
                       "data":{"no/slash":"x"}})");
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(api::IsInvalid(bad.error()));
  EXPECT_EQ(bad.error().details.at("causes").as_array()[0].at("field"), "data[no/slash]");
  // A namespace that does not exist refuses content (NamespaceLifecycle admission).
  auto orphan = Create("", "configmaps", "nowhere",
                       R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"o"}})");
  ASSERT_FALSE(orphan.ok());
  EXPECT_TRUE(api::IsNotFound(orphan.error()));
}

TEST_F(GenericStoreTest, GenerateNameDryRunAndPatch) {
  auto a = Create("", "configmaps", "default",
                  R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"generateName":"x-"}})");
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(api::GetName(*a).starts_with("x-"));
  EXPECT_EQ(api::GetName(*a).size(), 7u);

  RequestContext dry = Ctx("default");
  dry.dry_run = true;
  auto d = Wait([&](ObjectCallback done) {
    Storage("", "configmaps")
        .Create(dry, json::parse(R"({"apiVersion":"v1","kind":"ConfigMap",
                                    "metadata":{"name":"dry"}})").as_object(),
                std::move(done));
  });
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(api::IsNotFound(Storage("", "configmaps").Get(Ctx("default", "dry")).error()));

  std::string name(api::GetName(*a));
  auto patched = Wait([&](ObjectCallback done) {
    Storage("", "configmaps")
        .Patch(Ctx("default", name), PatchType::kMerge, R"({"data":{"k":"v"}})", std::move(done));
  });
  ASSERT_TRUE(patched.ok()) << patched.error().message;
  EXPECT_EQ(api::FieldText(*patched, "data.k"), "v");
  auto renamed = Wait([&](ObjectCallback done) {
    Storage("", "configmaps")
        .Patch(Ctx("default", name), PatchType::kMerge, R"({"metadata":{"uid":"other"}})",
               std::move(done));
  });
  ASSERT_FALSE(renamed.ok());
  EXPECT_TRUE(api::IsInvalid(renamed.error()));
}

TEST_F(GenericStoreTest, DeletesAnswerAStatusOrTheObjectAndHonourFinalizersAndGrace) {
  ASSERT_TRUE(Create("", "configmaps", "default",
                     R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"gone"}})")
                  .ok());
  auto status = Delete("", "configmaps", "default", "gone");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(api::GetKind(*status), "Status");
  EXPECT_EQ(api::FieldText(*status, "details.kind"), "configmaps");

  // A finalizer holds the object, marked, until an update removes it.
  ASSERT_TRUE(Create("", "configmaps", "default",
                     R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"held",
                        "finalizers":["example.com/hold"]}})")
                  .ok());
  auto marked = Delete("", "configmaps", "default", "held");
  ASSERT_TRUE(marked.ok());
  EXPECT_EQ(api::GetDeletionTimestamp(*marked), api::FormatTime(clock_->Now()));
  api::Object released = *marked;
  api::RemoveFinalizer(&released, "example.com/hold");
  ASSERT_TRUE(Wait([&](ObjectCallback done) {
                Storage("", "configmaps").Update(Ctx("default", "held"), released,
                                                 std::move(done));
              }).ok());
  EXPECT_TRUE(api::IsNotFound(Storage("", "configmaps").Get(Ctx("default", "held")).error()));

  // A pod on a node waits for its kubelet: marked with its grace period; grace 0 removes it.
  ASSERT_TRUE(Create("", "pods", "default",
                     R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},
                        "spec":{"nodeName":"n1","containers":[{"name":"c","image":"i"}]}})")
                  .ok());
  auto graceful = Delete("", "pods", "default", "p");
  ASSERT_TRUE(graceful.ok());
  EXPECT_EQ(api::GetKind(*graceful), "Pod");
  EXPECT_EQ(api::GetDeletionTimestamp(*graceful), api::FormatTime(clock_->Now() + 30s));
  auto again = Delete("", "pods", "default", "p");  // under way: answered as it is
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(api::GetResourceVersion(*again), api::GetResourceVersion(*graceful));
  DeleteOptions now;
  now.grace_period_seconds = 0;
  auto forced = Delete("", "pods", "default", "p", now);
  ASSERT_TRUE(forced.ok());
  EXPECT_EQ(api::GetKind(*forced), "Pod");  // pods answer with the object
  EXPECT_TRUE(api::IsNotFound(Storage("", "pods").Get(Ctx("default", "p")).error()));

  DeleteOptions wrong_uid;
  wrong_uid.precondition_uid = "x";
  ASSERT_TRUE(Create("", "configmaps", "default",
                     R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"pre"}})")
                  .ok());
  auto refused = Delete("", "configmaps", "default", "pre", wrong_uid);
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(api::IsConflict(refused.error()));
  EXPECT_TRUE(refused.error().message.starts_with("Precondition failed: UID in precondition: x"));
}

TEST_F(GenericStoreTest, PropagationPoliciesSetTheGarbageCollectorsFinalizers) {
  using P = DeleteOptions::Propagation;
  auto finalizers = [](const api::ApiResult<api::Object>& r) {
    std::string out;
    if (!r.ok()) return std::string("<error ") + r.error().message + ">";
    for (const auto& f : api::GetFinalizers(*r)) out += (out.empty() ? "" : ",") + f;
    return out;
  };
  auto cm = [&](const char* name) {
    std::string body = std::string(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":")") +
                       name + R"("}})";
    ASSERT_TRUE(Create("", "configmaps", "default", body.c_str()).ok());
  };
  // Foreground: the owner stays, marked, with foregroundDeletion (and no grace period).
  cm("fg");
  DeleteOptions fg;
  fg.propagation = P::kForeground;
  auto marked = Delete("", "configmaps", "default", "fg", fg);
  EXPECT_EQ(finalizers(marked), "foregroundDeletion");
  EXPECT_TRUE(api::IsBeingDeleted(*marked));
  EXPECT_EQ(api::GetDeletionGracePeriodSeconds(*marked), 0);
  // Asked again with Orphan while marked: the finalizer switches.
  DeleteOptions orphan;
  orphan.propagation = P::kOrphan;
  EXPECT_EQ(finalizers(Delete("", "configmaps", "default", "fg", orphan)), "orphan");
  EXPECT_EQ(finalizers(Storage("", "configmaps").Get(Ctx("default", "fg"))), "orphan");
  // orphanDependents=false is Background: no finalizer left to hold it.
  DeleteOptions background_old;
  background_old.orphan_dependents = false;
  auto gone = Delete("", "configmaps", "default", "fg", background_old);
  ASSERT_TRUE(gone.ok());
  EXPECT_TRUE(api::GetFinalizers(*gone).empty());

  // Background, and no policy at all for most kinds: deleted at once.
  cm("bg");
  ASSERT_TRUE(Delete("", "configmaps", "default", "bg").ok());
  EXPECT_TRUE(api::IsNotFound(Storage("", "configmaps").Get(Ctx("default", "bg")).error()));

  // ReplicationControllers and Jobs orphan by default, as v1 always has; a policy overrides.
  ASSERT_TRUE(Create("", "replicationcontrollers", "default",
                     R"({"apiVersion":"v1","kind":"ReplicationController","metadata":{"name":"rc"},
                        "spec":{"selector":{"a":"b"},"template":{"metadata":{"labels":{"a":"b"}},
                        "spec":{"containers":[{"name":"c","image":"i"}]}}}})")
                  .ok());
  EXPECT_EQ(finalizers(Delete("", "replicationcontrollers", "default", "rc")), "orphan");
  const char* job = R"({"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"j"},
      "spec":{"template":{"spec":{"restartPolicy":"Never",
      "containers":[{"name":"c","image":"i"}]}}}})";
  ASSERT_TRUE(Create("batch", "jobs", "default", job).ok());
  EXPECT_EQ(finalizers(Delete("batch", "jobs", "default", "j")), "orphan");
  ASSERT_TRUE(Create("batch", "jobs", "default",
                     R"({"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"j2"},
                        "spec":{"template":{"spec":{"restartPolicy":"Never",
                        "containers":[{"name":"c","image":"i"}]}}}})")
                  .ok());
  DeleteOptions background;
  background.propagation = P::kBackground;
  ASSERT_TRUE(Delete("batch", "jobs", "default", "j2", background).ok());
  EXPECT_TRUE(api::IsNotFound(Storage("batch", "jobs").Get(Ctx("default", "j2")).error()));

  // Other finalizers stay beside the garbage collector's.
  ASSERT_TRUE(Create("", "configmaps", "default",
                     R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"both",
                        "finalizers":["example.com/hold"]}})")
                  .ok());
  EXPECT_EQ(finalizers(Delete("", "configmaps", "default", "both", fg)),
            "example.com/hold,foregroundDeletion");
}

TEST_F(GenericStoreTest, AnUpdateDuringAGracefulDeletionDoesNotEndIt) {
  ASSERT_TRUE(Create("", "pods", "default",
                     R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},
                        "spec":{"nodeName":"n1","containers":[{"name":"c","image":"i"}]}})")
                  .ok());
  auto graceful = Delete("", "pods", "default", "p");
  ASSERT_TRUE(graceful.ok());
  // The kubelet reports status while the containers stop: the pod stays.
  api::Object pod = *graceful;
  pod["status"].as_object()["phase"] = "Running";
  ASSERT_TRUE(Wait([&](ObjectCallback done) {
                Storage("", "pods", "status").Update(Ctx("default", "p"), pod, std::move(done));
              }).ok());
  auto still = Storage("", "pods").Get(Ctx("default", "p"));
  ASSERT_TRUE(still.ok());
  EXPECT_EQ(api::FieldText(*still, "status.phase"), "Running");
}

TEST_F(GenericStoreTest, NamespacesAreHeldUntilFinalized) {
  ASSERT_TRUE(Create("", "namespaces", "",
                     R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"team"}})")
                  .ok());
  auto marked = Delete("", "namespaces", "", "team");
  ASSERT_TRUE(marked.ok());
  EXPECT_EQ(api::FieldText(*marked, "status.phase"), "Terminating");
  EXPECT_EQ(api::FieldText(*marked, "spec.finalizers"), "");  // an array: not a field text
  ASSERT_TRUE(Storage("", "namespaces").Get(Ctx("", "team")).ok());
  // A status write does not end it either.
  auto status = Wait([&](ObjectCallback done) {
    Storage("", "namespaces", "status").Update(Ctx("", "team"), *marked, std::move(done));
  });
  ASSERT_TRUE(status.ok()) << status.error().message;
  ASSERT_TRUE(Storage("", "namespaces").Get(Ctx("", "team")).ok());
  // Its finalizer cleared through /finalize, it goes.
  auto current = Storage("", "namespaces").Get(Ctx("", "team"));
  ASSERT_TRUE(current.ok());
  api::Object finalized = *current;
  finalized["spec"].as_object()["finalizers"] = json::array();
  ASSERT_TRUE(Wait([&](ObjectCallback done) {
                Storage("", "namespaces", "finalize").Update(Ctx("", "team"), finalized,
                                                             std::move(done));
              }).ok());
  EXPECT_TRUE(api::IsNotFound(Storage("", "namespaces").Get(Ctx("", "team")).error()));
}

TEST_F(GenericStoreTest, ListsPageWithRemainingCountAndSelectors) {
  for (int i = 0; i < 5; ++i) {
    std::string body = R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c)" +
                       std::to_string(i) + R"(","labels":{"parity":")" +
                       (i % 2 ? "odd" : "even") + R"("}}})";
    ASSERT_TRUE(Create("", "configmaps", "default", body.c_str()).ok());
  }
  ListRequest page;
  page.options.limit = 2;
  auto first = List("configmaps", "default", page);
  ASSERT_TRUE(first.ok()) << first.error().message;
  ASSERT_EQ(first->items.size(), 2u);
  EXPECT_EQ(first->remaining_item_count, 3);
  ASSERT_FALSE(first->continue_token.empty());
  page.options.continue_token = first->continue_token;
  auto second = List("configmaps", "default", page);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->revision, first->revision);  // every page at one revision
  EXPECT_EQ(second->remaining_item_count, 1);

  ListRequest odd;
  auto sel = api::LabelSelector::Parse("parity=odd");
  ASSERT_TRUE(sel.ok());
  odd.selection.labels = *sel;
  auto odds = List("configmaps", "default", odd);
  ASSERT_TRUE(odds.ok());
  EXPECT_EQ(odds->items.size(), 2u);
  EXPECT_FALSE(odds->remaining_item_count.has_value());
}

TEST_F(GenericStoreTest, WatchesSeeChangesAfterTheirResourceVersion) {
  auto a = Create("", "configmaps", "default",
                  R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}})");
  ASSERT_TRUE(a.ok());
  auto sink = std::make_shared<CollectingSink>();
  ListRequest req;
  req.options.watch = true;
  req.options.resource_version = std::string(api::GetResourceVersion(*a));
  req.options.revision = std::stoll(req.options.resource_version);
  std::promise<api::ApiResult<std::shared_ptr<CacheWatch>>> started;
  Storage("", "configmaps")
      .Watch(Ctx("default"), req, [sink] { return sink; },
             [&started](api::ApiResult<std::shared_ptr<CacheWatch>> w) {
               started.set_value(std::move(w));
             });
  auto watch = started.get_future().get();
  ASSERT_TRUE(watch.ok()) << watch.error().message;
  ASSERT_TRUE(Create("", "configmaps", "default",
                     R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"b"}})")
                  .ok());
  ASSERT_TRUE(Delete("", "configmaps", "default", "a").ok());
  EXPECT_EQ(sink->Events(2), (std::vector<std::string>{"ADDED b", "DELETED a"}));
  (*watch)->Stop();
}

TEST_F(GenericStoreTest, SubresourcesChangeOnlyTheirPart) {
  ASSERT_TRUE(Create("apps", "deployments", "default",
                     R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},
                        "spec":{"replicas":1,"selector":{"matchLabels":{"app":"d"}},
                        "template":{"metadata":{"labels":{"app":"d"}},
                        "spec":{"containers":[{"name":"c","image":"i"}]}}}})")
                  .ok());
  // Status: the new status, nothing else.
  auto status = Wait([&](ObjectCallback done) {
    Storage("apps", "deployments", "status")
        .Patch(Ctx("default", "d"), PatchType::kMerge,
               R"({"spec":{"replicas":9},"status":{"replicas":1,"readyReplicas":1}})",
               std::move(done));
  });
  ASSERT_TRUE(status.ok()) << status.error().message;
  EXPECT_EQ(api::FieldText(*status, "status.readyReplicas"), "1");
  EXPECT_EQ(api::FieldText(*status, "spec.replicas"), "1");
  // Scale: spec.replicas, answered as a Scale; the generation counts the change.
  auto scaled = Wait([&](ObjectCallback done) {
    Storage("apps", "deployments", "scale")
        .Patch(Ctx("default", "d"), PatchType::kMerge, R"({"spec":{"replicas":3}})",
               std::move(done));
  });
  ASSERT_TRUE(scaled.ok()) << scaled.error().message;
  EXPECT_EQ(api::GetKind(*scaled), "Scale");
  EXPECT_EQ(api::FieldText(*scaled, "status.selector"), "app=d");
  auto d = Storage("apps", "deployments").Get(Ctx("default", "d"));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(api::FieldText(*d, "spec.replicas"), "3");
  EXPECT_EQ(api::GetGeneration(*d), 2);
  EXPECT_EQ(api::FieldText(*d, "status.readyReplicas"), "1");
  auto negative = Wait([&](ObjectCallback done) {
    Storage("apps", "deployments", "scale")
        .Patch(Ctx("default", "d"), PatchType::kMerge, R"({"spec":{"replicas":-1}})",
               std::move(done));
  });
  ASSERT_FALSE(negative.ok());
  EXPECT_TRUE(api::IsInvalid(negative.error()));
}

TEST_F(GenericStoreTest, ServicesClaimAddressesInTheirTransaction) {
  auto svc = Create("", "services", "default",
                    R"({"apiVersion":"v1","kind":"Service","metadata":{"name":"web"},
                       "spec":{"type":"NodePort","ports":[{"port":80}]}})");
  ASSERT_TRUE(svc.ok()) << svc.error().message;
  std::string ip = api::FieldText(*svc, "spec.clusterIP");
  EXPECT_TRUE(ip.starts_with("10.43.")) << ip;
  const auto& port = (*svc)["spec"].as_object()["ports"].as_array()[0].as_object();
  int64_t node_port = port.at("nodePort").as_int64();
  EXPECT_GE(node_port, 30000);
  EXPECT_TRUE(store_->Get("/registry/ipaddresses/" + ip).ok());
  // The same address asked for again is refused.
  std::string taken = R"({"apiVersion":"v1","kind":"Service","metadata":{"name":"copy"},
    "spec":{"clusterIP":")" + ip + R"(","ports":[{"port":80}]}})";
  auto dup = Create("", "services", "default", taken.c_str());
  ASSERT_FALSE(dup.ok());
  EXPECT_TRUE(api::IsInvalid(dup.error()));
  // A delete frees both, answering with the Service.
  auto gone = Delete("", "services", "default", "web");
  ASSERT_TRUE(gone.ok());
  EXPECT_EQ(api::GetKind(*gone), "Service");
  EXPECT_FALSE(store_->Get("/registry/ipaddresses/" + ip).ok());
  EXPECT_FALSE(store_->Get("/registry/servicenodeports/" + std::to_string(node_port)).ok());
}

TEST_F(GenericStoreTest, ApplyCreatesThenRefusesAnotherManagersField) {
  RequestContext ctx = Ctx("default", "cfg");
  ctx.field_manager = "alice";
  std::promise<std::pair<api::ApiResult<api::Object>, bool>> first;
  Storage("", "configmaps")
      .Apply(ctx, json::parse(R"({"apiVersion":"v1","kind":"ConfigMap",
                                 "data":{"k":"alice"}})").as_object(),
             false, [&](api::ApiResult<api::Object> r, bool created) {
               first.set_value({std::move(r), created});
             });
  auto [made, created] = first.get_future().get();
  ASSERT_TRUE(made.ok()) << made.error().message;
  EXPECT_TRUE(created);
  ctx.field_manager = "bob";
  std::promise<api::ApiResult<api::Object>> second;
  Storage("", "configmaps")
      .Apply(ctx, json::parse(R"({"apiVersion":"v1","kind":"ConfigMap",
                                 "data":{"k":"bob"}})").as_object(),
             false, [&](api::ApiResult<api::Object> r, bool) { second.set_value(std::move(r)); });
  auto conflict = second.get_future().get();
  ASSERT_FALSE(conflict.ok());
  EXPECT_TRUE(api::IsConflict(conflict.error()));
  EXPECT_EQ(conflict.error().message,
            "Apply failed with 1 conflict: conflict with \"alice\" using v1: .data.k");
}

TEST_F(GenericStoreTest, DeleteCollectionDeletesWhatTheSelectorsMatch) {
  for (const char* name : {"a", "b", "c"}) {
    std::string body = R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":")" +
                       std::string(name) + R"(","labels":{"keep":")" +
                       (std::string(name) == "b" ? "yes" : "no") + R"("}}})";
    ASSERT_TRUE(Create("", "configmaps", "default", body.c_str()).ok());
  }
  Selection sel;
  sel.labels = *api::LabelSelector::Parse("keep=no");
  std::promise<api::ApiResult<DeletedObjects>> p;
  Storage("", "configmaps")
      .DeleteCollection(Ctx("default"), {}, sel,
                        [&p](api::ApiResult<DeletedObjects> r) { p.set_value(std::move(r)); });
  auto deleted = p.get_future().get();
  ASSERT_TRUE(deleted.ok()) << deleted.error().message;
  ASSERT_EQ(deleted->items.size(), 2u) << sel.labels.String() << " " << sel.Everything();
  EXPECT_EQ(api::GetName(deleted->items[0]), "a");  // the objects, not Statuses
  EXPECT_TRUE(Storage("", "configmaps").Get(Ctx("default", "b")).ok());
  EXPECT_TRUE(api::IsNotFound(Storage("", "configmaps").Get(Ctx("default", "c")).error()));
}

TEST_F(GenericStoreTest, PodsOfOneNodeAreListedAndWatchedThroughTheNodeIndex) {
  auto pod = [](const std::string& name, const std::string& node) {
    return R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":")" + name + R"("},"spec":{)" +
           (node.empty() ? "" : R"("nodeName":")" + node + R"(",)") +
           R"("containers":[{"name":"c","image":"i"}]}})";
  };
  for (auto [name, node] : {std::pair{"a1", "n1"}, {"a2", "n1"}, {"b1", "n2"}, {"u", ""}}) {
    ASSERT_TRUE(Create("", "pods", "default", pod(name, node).c_str()).ok()) << name;
  }
  auto on_n1 = *api::FieldSelector::Parse("spec.nodeName=n1");
  ListRequest req;
  req.selection.fields = on_n1;
  // The paths the pods' cache indexes, as the handlers give them.
  req.selection.field_paths =
      dynamic_cast<GenericStore&>(Storage("", "pods")).strategy().SelectableFields();
  auto listed = List("pods", "", req);
  ASSERT_TRUE(listed.ok()) << listed.error().message;
  std::vector<std::string> names;
  for (const auto& o : listed->items) {
    names.emplace_back(api::GetName(json::parse(o->json()).as_object()));
  }
  EXPECT_EQ(names, (std::vector<std::string>{"a1", "a2"}));

  // A watch for n1 (as a kubelet's) sees its pods come and go, and nothing of other nodes.
  auto sink = std::make_shared<CollectingSink>();
  ListRequest watch = req;
  watch.options.watch = true;
  watch.options.resource_version = std::to_string(listed->revision);
  watch.options.revision = listed->revision;
  std::promise<api::ApiResult<std::shared_ptr<CacheWatch>>> started;
  Storage("", "pods").Watch(Ctx(""), watch, [sink] { return sink; },
                            [&started](api::ApiResult<std::shared_ptr<CacheWatch>> w) {
                              started.set_value(std::move(w));
                            });
  auto w = started.get_future().get();
  ASSERT_TRUE(w.ok()) << w.error().message;
  ASSERT_TRUE(Create("", "pods", "default", pod("b2", "n2").c_str()).ok());
  auto bound = Wait([&](ObjectCallback done) {
    Storage("", "pods", "binding")
        .Create(Ctx("default", "u"),
                json::parse(R"({"apiVersion":"v1","kind":"Binding","metadata":{"name":"u"},
                               "target":{"kind":"Node","name":"n1"}})").as_object(),
                std::move(done));
  });
  ASSERT_TRUE(bound.ok()) << bound.error().message;
  DeleteOptions now;
  now.grace_period_seconds = 0;
  ASSERT_TRUE(Delete("", "pods", "default", "a1", now).ok());
  ASSERT_TRUE(Delete("", "pods", "default", "b1", now).ok());
  ASSERT_TRUE(Create("", "pods", "default", pod("a3", "n1").c_str()).ok());
  EXPECT_EQ(sink->Events(3), (std::vector<std::string>{"ADDED u", "DELETED a1", "ADDED a3"}));
  (*w)->Stop();
}

}  // namespace
}  // namespace keelson::apiserver
