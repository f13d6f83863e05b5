#include "scheduler/plugins/defaultbinder/default_binder.h"

#include "scheduler/plugins/test_util.h"

namespace keelson::scheduler::plugintest {
namespace {

TEST(DefaultBinder, BindsThroughTheClient) {
  testing::FakeClient client;
  TestHandle h;
  h.SetClient(&client);
  defaultbinder::DefaultBinder p(&h);
  CycleState state;
  auto pod = PodBuilder("p", "ns").Uid("u1").Info();
  EXPECT_TRUE(p.Bind(state, *pod, "n1").IsSuccess());
  ASSERT_EQ(client.bindings.size(), 1u);
  EXPECT_EQ(client.bindings[0].pod, (PodRef{"ns", "p", "u1"}));
  EXPECT_EQ(client.bindings[0].node, "n1");
  client.bind_error = Status(StatusCode::kConflict, "already bound");
  PluginStatus s = p.Bind(state, *pod, "n1");
  EXPECT_EQ(s.code(), Code::kError);
  EXPECT_EQ(s.Message(), "already bound");
}

}  // namespace
}  // namespace keelson::scheduler::plugintest
