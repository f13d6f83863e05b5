#include "apiserver/admission_priority.h"

#include <gtest/gtest.h>

#include <map>

namespace keelson::apiserver {
namespace {

namespace json = boost::json;

class PriorityAdmissionTest : public ::testing::Test {
 protected:
  void AddClass(const std::string& name, int64_t value, bool global_default = false,
                const std::string& policy = "PreemptLowerPriority") {
    classes_[name] = json::object{{"metadata", json::object{{"name", name}}},
                                  {"value", value},
                                  {"globalDefault", global_default},
                                  {"preemptionPolicy", policy}};
  }
  std::shared_ptr<const AdmissionPlugin> Plugin() {
    return PriorityAdmission(PriorityClassReader{
        [this](const std::string& name) -> Result<json::object> {
          auto it = classes_.find(name);
          if (it == classes_.end()) {
            return NotFoundError("priorityclasses \"" + name + "\" not found");
          }
          return it->second;
        },
        [this]() -> Result<std::vector<json::object>> {
          std::vector<json::object> out;  // every class: the plugin checks the flag itself
          for (auto& [n, c] : classes_) out.push_back(c);
          return out;
        }});
  }
  std::optional<api::ApiError> CreatePod(json::object* pod) {
    RequestAttributes a;
    a.resource_request = true;
    a.resource = "pods";
    a.ns = "default";
    a.name = "p";
    return Plugin()->Admit(AdmissionRequest{"CREATE", a, nullptr, pod});
  }
  static json::object Pod(json::object spec) {
    spec["containers"] = json::array{json::object{{"name", "c"}, {"image", "x"}}};
    return json::object{{"metadata", json::object{{"name", "p"}}}, {"spec", std::move(spec)}};
  }

  std::map<std::string, json::object> classes_;
};

TEST_F(PriorityAdmissionTest, AClassGivesItsValueAndPolicy) {
  AddClass("high", 1000, false, "Never");
  auto pod = Pod({{"priorityClassName", "high"}});
  EXPECT_FALSE(CreatePod(&pod));
  EXPECT_EQ(pod.at("spec").at("priority"), 1000);
  EXPECT_EQ(pod.at("spec").at("preemptionPolicy"), "Never");
}

TEST_F(PriorityAdmissionTest, NoClassIsZeroOrTheLowestGlobalDefault) {
  auto pod = Pod({});
  EXPECT_FALSE(CreatePod(&pod));
  EXPECT_EQ(pod.at("spec").at("priority"), 0);
  EXPECT_EQ(pod.at("spec").at("preemptionPolicy"), "PreemptLowerPriority");
  EXPECT_FALSE(pod.at("spec").as_object().contains("priorityClassName"));

  AddClass("not-default", 5);
  AddClass("d1", 300, true);
  AddClass("d2", 200, true);  // two defaults after a race: the lower wins
  auto pod2 = Pod({});
  EXPECT_FALSE(CreatePod(&pod2));
  EXPECT_EQ(pod2.at("spec").at("priorityClassName"), "d2");
  EXPECT_EQ(pod2.at("spec").at("priority"), 200);
}

TEST_F(PriorityAdmissionTest, UnknownClassesAndStatedPrioritiesAreForbidden) {
  auto pod = Pod({{"priorityClassName", "nope"}});
  auto err = CreatePod(&pod);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->code, 403);
  EXPECT_EQ(err->message, "pods \"p\" is forbidden: no PriorityClass with name nope was found");

  AddClass("high", 1000);
  auto stated = Pod({{"priorityClassName", "high"}, {"priority", 7}});
  err = CreatePod(&stated);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->message,
            "pods \"p\" is forbidden: the integer value of priority (7) must not be provided in "
            "pod spec; priority admission controller computed 1000 from the given PriorityClass "
            "name");
  auto same = Pod({{"priorityClassName", "high"}, {"priority", 1000}});
  EXPECT_FALSE(CreatePod(&same));
  auto policy = Pod({{"priorityClassName", "high"}, {"preemptionPolicy", "Never"}});
  err = CreatePod(&policy);
  ASSERT_TRUE(err);
  EXPECT_NE(err->message.find("the string value of PreemptionPolicy (Never) must not be provided"),
            std::string::npos);
}

TEST_F(PriorityAdmissionTest, AnUpdateKeepsThePriority) {
  RequestAttributes a;
  a.resource_request = true;
  a.resource = "pods";
  json::object old = Pod({{"priority", 50}, {"preemptionPolicy", "Never"}});
  json::object now = Pod({});
  EXPECT_FALSE(Plugin()->Admit(AdmissionRequest{"UPDATE", a, &old, &now}));
  EXPECT_EQ(now.at("spec").at("priority"), 50);
  EXPECT_EQ(now.at("spec").at("preemptionPolicy"), "Never");
}

TEST_F(PriorityAdmissionTest, OnlyOneGlobalDefault) {
  AddClass("first", 10, true);
  RequestAttributes a;
  a.resource_request = true;
  a.api_group = "scheduling.k8s.io";
  a.resource = "priorityclasses";
  a.name = "second";
  json::object second{{"metadata", json::object{{"name", "second"}}}, {"value", 20},
                      {"globalDefault", true}};
  auto err = Plugin()->Admit(AdmissionRequest{"CREATE", a, nullptr, &second});
  ASSERT_TRUE(err);
  EXPECT_EQ(err->code, 403);
  EXPECT_EQ(err->message,
            "priorityclasses.scheduling.k8s.io \"second\" is forbidden: PriorityClass first is "
            "already marked as default. Only one default can exist");
  // The default itself may be updated.
  a.name = "first";
  json::object first{{"metadata", json::object{{"name", "first"}}}, {"value", 10},
                     {"globalDefault", true}};
  EXPECT_FALSE(Plugin()->Admit(AdmissionRequest{"UPDATE", a, &first, &first}));
}

}  // namespace
}  // namespace keelson::apiserver
