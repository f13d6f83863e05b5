// The pure rules of deployment_util.h, against upstream's documented cases.
#include "controllers/deployment/deployment_util.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace keelson::controllers::deployment {
namespace {

namespace json = boost::json;

api::Object Obj(std::string_view text) { return json::parse(text).as_object(); }

api::Object Rolling(int replicas, std::string_view surge, std::string_view unavailable) {
  return Obj(R"({"metadata":{"name":"d"},"spec":{"replicas":)" + std::to_string(replicas) +
             R"(,"strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":)" +
             std::string(surge) + R"(,"maxUnavailable":)" + std::string(unavailable) + "}}}}");
}

TEST(DeploymentUtilTest, ResolveFencepostsAsUpstream) {
  struct Case {
    const char* surge;
    const char* unavailable;
    int desired;
    int64_t want_surge, want_unavailable;
  };
  for (const Case& c : std::vector<Case>{
           {R"("0%")", R"("1%")", 2, 0, 1},  // both round to zero: unavailable 1
           {R"("1%")", R"("25%")", 2, 1, 1},  // surge rounds up, unavailable down (0 -> 1? no: 0)
           {R"("25%")", R"("25%")", 10, 3, 2},
           {"3", "2", 10, 3, 2},
           {R"("0%")", R"("0%")", 0, 0, 1},
       }) {
    json::value s = json::parse(c.surge), u = json::parse(c.unavailable);
    auto r = ResolveFenceposts(&s, &u, c.desired);
    ASSERT_TRUE(r.ok()) << c.surge << " " << c.unavailable;
    EXPECT_EQ(r->first, c.want_surge) << c.surge << " of " << c.desired;
    if (std::string(c.surge) == R"("1%")") {
      EXPECT_EQ(r->second, 0);  // 25% of 2 rounds down to 0; surge 1 keeps it at 0
    } else {
      EXPECT_EQ(r->second, c.want_unavailable) << c.unavailable << " of " << c.desired;
    }
  }
  json::value bad = "abc";
  EXPECT_FALSE(ScaledValue(&bad, 10, true).ok());
  EXPECT_EQ(MaxUnavailable(Rolling(3, "1", R"("100%")")), 3);  // at most the replicas
  EXPECT_EQ(MaxSurge(Obj(R"({"spec":{"replicas":3,"strategy":{"type":"Recreate"}}})")), 0);
}

TEST(DeploymentUtilTest, NewReplicaSetSizeWithinSurge) {
  api::Object d = Rolling(10, "3", "2");
  auto old_rs = std::make_shared<const api::Object>(Obj(R"({"spec":{"replicas":10}})"));
  api::Object new_rs = Obj(R"({"spec":{"replicas":0}})");
  auto n = NewRSNewReplicas(d, {old_rs, std::make_shared<const api::Object>(new_rs)}, new_rs);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 3);
  api::Object recreate = Obj(R"({"spec":{"replicas":4,"strategy":{"type":"Recreate"}}})");
  EXPECT_EQ(*NewRSNewReplicas(recreate, {}, new_rs), 4);
}

TEST(DeploymentUtilTest, ProportionsFollowTheMaxReplicasAnnotation) {
  api::Object d = Rolling(20, "3", "2");
  api::Object old_rs = Obj(R"({"metadata":{"annotations":{"deployment.kubernetes.io/max-replicas":"13"}},"spec":{"replicas":8}})");
  api::Object new_rs = Obj(R"({"metadata":{"annotations":{"deployment.kubernetes.io/max-replicas":"13"}},"spec":{"replicas":5}})");
  int64_t p1 = GetProportion(&old_rs, d, 10, 0);
  EXPECT_EQ(p1, 6);  // round(8 * 23 / 13) - 8
  EXPECT_EQ(GetProportion(&new_rs, d, 10, p1), 4);
  // Never more than what is left to add.
  EXPECT_EQ(GetProportion(&new_rs, d, 10, 9), 1);
  // Scaling to zero removes everything.
  api::Object zero = Rolling(0, "3", "2");
  EXPECT_EQ(GetProportion(&old_rs, zero, -13, 0), -8);
}

TEST(DeploymentUtilTest, RevisionsAndTheirHistory) {
  api::Object d = Obj(R"({"metadata":{"annotations":{"kubernetes.io/change-cause":"c",
      "deployment.kubernetes.io/revision":"9","kubectl.kubernetes.io/last-applied-configuration":"{}"}},
      "spec":{"replicas":3,"strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":1,"maxUnavailable":0}}}})");
  api::Object rs = Obj(R"({"metadata":{"annotations":{"deployment.kubernetes.io/revision":"2"}}})");
  EXPECT_TRUE(SetNewReplicaSetAnnotations(d, &rs, 5, true, kMaxRevHistoryLengthInChars));
  EXPECT_EQ(Annotation(rs, kRevisionAnnotation), "5");
  EXPECT_EQ(Annotation(rs, kRevisionHistoryAnnotation), "2");
  EXPECT_EQ(Annotation(rs, "kubernetes.io/change-cause"), "c");
  EXPECT_FALSE(HasAnnotation(rs, kLastAppliedAnnotation));
  EXPECT_FALSE(HasAnnotation(rs, kDesiredReplicasAnnotation));  // only for new ones
  EXPECT_TRUE(SetNewReplicaSetAnnotations(d, &rs, 7, true, kMaxRevHistoryLengthInChars));
  EXPECT_EQ(Annotation(rs, kRevisionHistoryAnnotation), "2,5");
  // Nothing to change a second time.
  EXPECT_FALSE(SetNewReplicaSetAnnotations(d, &rs, 7, true, kMaxRevHistoryLengthInChars));
  // The history is cut from the front to the limit.
  api::Object long_history = Obj(R"({"metadata":{"annotations":{"deployment.kubernetes.io/revision":"10",
      "deployment.kubernetes.io/revision-history":"1,2,3,4"}}})");
  SetNewReplicaSetAnnotations(d, &long_history, 11, true, 6);
  EXPECT_EQ(Annotation(long_history, kRevisionHistoryAnnotation), "3,4,10");
  api::Object fresh = Obj(R"({"metadata":{}})");
  SetNewReplicaSetAnnotations(d, &fresh, 1, false, kMaxRevHistoryLengthInChars);
  EXPECT_EQ(Annotation(fresh, kDesiredReplicasAnnotation), "3");
  EXPECT_EQ(Annotation(fresh, kMaxReplicasAnnotation), "4");
  EXPECT_FALSE(HasAnnotation(fresh, kRevisionHistoryAnnotation));

  auto a = std::make_shared<const api::Object>(Obj(R"({"metadata":{"annotations":{"deployment.kubernetes.io/revision":"3"}}})"));
  auto b = std::make_shared<const api::Object>(Obj(R"({"metadata":{"annotations":{"deployment.kubernetes.io/revision":"7"}}})"));
  auto c = std::make_shared<const api::Object>(Obj(R"({"metadata":{"annotations":{"deployment.kubernetes.io/revision":"x"}}})"));
  EXPECT_EQ(MaxRevision({a, b, c}), 7);
  EXPECT_EQ(LastRevision({a, b, c}), 3);
}

TEST(DeploymentUtilTest, TemplatesCompareWithoutTheHashAndEmptyValues) {
  json::value t1 = json::parse(R"({"metadata":{"labels":{"app":"a","pod-template-hash":"x"},"creationTimestamp":null},
      "spec":{"containers":[{"name":"c","image":"i","env":[]}]}})");
  json::value t2 = json::parse(R"({"metadata":{"labels":{"app":"a"}},"spec":{"containers":[{"name":"c","image":"i"}]}})");
  json::value t3 = json::parse(R"({"metadata":{"labels":{"app":"a"}},"spec":{"containers":[{"name":"c","image":"j"}]}})");
  EXPECT_TRUE(EqualIgnoreHash(&t1, &t2));
  EXPECT_FALSE(EqualIgnoreHash(&t2, &t3));
  // The hash: stable, key order free, upstream's alphabet, the collision count changes it.
  json::value t2b = json::parse(R"({"spec":{"containers":[{"image":"i","name":"c"}]},"metadata":{"labels":{"app":"a"}}})");
  std::string h = ComputeHash(t2, std::nullopt);
  EXPECT_EQ(h, ComputeHash(t2b, std::nullopt));
  EXPECT_NE(h, ComputeHash(t3, std::nullopt));
  EXPECT_NE(h, ComputeHash(t2, 1));
  EXPECT_EQ(h.find_first_not_of("bcdfghjklmnpqrstvwxz2456789"), std::string::npos) << h;
  EXPECT_GE(h.size(), 1u);
}

TEST(DeploymentUtilTest, ConditionsKeepTheirTransitionTime) {
  json::object status;
  auto t0 = std::chrono::system_clock::time_point(std::chrono::seconds(1000));
  auto t1 = t0 + std::chrono::seconds(60);
  SetCondition(&status, NewCondition("Progressing", "True", kNewReplicaSetReason, "m", t0));
  SetCondition(&status, NewCondition("Progressing", "True", kReplicaSetUpdatedReason, "n", t1));
  const json::object* c = GetCondition(status, "Progressing");
  EXPECT_EQ(c->at("reason"), "ReplicaSetUpdated");
  EXPECT_EQ(std::string(c->at("lastTransitionTime").as_string()), api::FormatTime(t0));
  EXPECT_EQ(std::string(c->at("lastUpdateTime").as_string()), api::FormatTime(t1));
  // Same status and reason: left as it is.
  SetCondition(&status, NewCondition("Progressing", "True", kReplicaSetUpdatedReason, "o", t1 + std::chrono::seconds(5)));
  EXPECT_EQ(GetCondition(status, "Progressing")->at("message"), "n");
  RemoveCondition(&status, "Progressing");
  EXPECT_EQ(GetCondition(status, "Progressing"), nullptr);
  EXPECT_FALSE(status.contains("conditions"));

  api::Object d = Obj(R"({"metadata":{"generation":2},"spec":{"replicas":2,"progressDeadlineSeconds":10},
      "status":{"replicas":2,"updatedReplicas":1,"availableReplicas":1}})");
  json::object progressed = Obj(R"({"replicas":2,"updatedReplicas":2,"availableReplicas":1,"observedGeneration":2})");
  EXPECT_TRUE(DeploymentProgressing(d, progressed));
  EXPECT_FALSE(DeploymentComplete(d, progressed));
  json::object timed = progressed;
  SetCondition(&timed, NewCondition("Progressing", "True", kReplicaSetUpdatedReason, "m", t0));
  EXPECT_TRUE(DeploymentTimedOut(d, timed, t0 + std::chrono::seconds(11)));
  EXPECT_FALSE(DeploymentTimedOut(d, timed, t0 + std::chrono::seconds(9)));
}

}  // namespace
}  // namespace keelson::controllers::deployment
