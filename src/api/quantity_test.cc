#include "api/quantity.h"

#include <gtest/gtest.h>

namespace keelson::api {
namespace {

TEST(QuantityTest, CanonicalFormsAsUpstreamStoresThem) {
  const std::pair<const char*, const char*> cases[] = {
      {"1000m", "1"},     {"0.5", "500m"},     {"1.5", "1500m"},   {"100m", "100m"},
      {"1", "1"},         {"0", "0"},          {"-0", "0"},        {"1000", "1k"},
      {"1000000", "1M"},  {"1500000", "1500k"}, {"1024Mi", "1Gi"}, {"1.5Gi", "1536Mi"},
      {"0.5Gi", "512Mi"}, {"2048Ki", "2Mi"},   {"512", "512"},     {"0.5Ki", "512"},
      {"1Ki", "1Ki"},     {"12e6", "12e6"},    {"1.5e3", "1500"},  {"1e3", "1e3"},
      {"0.1n", "1n"},     {"-250m", "-250m"},  {"64Mi", "64Mi"},   {"1.1", "1100m"},
      {"10G", "10G"},     {"+5", "5"},
  };
  for (auto [in, want] : cases) {
    auto got = CanonicalQuantity(in);
    ASSERT_TRUE(got.has_value()) << in;
    EXPECT_EQ(*got, want) << in;
  }
}

TEST(QuantityTest, RefusesWhatIsNotAQuantity) {
  for (const char* bad : {"", "abc", "1x", "1.2.3", "Mi", "1e", "1eX"}) {
    EXPECT_FALSE(CanonicalQuantity(bad).has_value()) << bad;
  }
}

TEST(QuantityTest, HugeQuantitiesComeBackUnchangedWithoutOverflow) {
  // 30 digits times 10^9 nano units would overflow 128 bits.
  EXPECT_EQ(CanonicalQuantity("927580708223657458077580708223"), "927580708223657458077580708223");
  EXPECT_FALSE(QuantityNanos("927580708223657458077580708223k").has_value());
}

}  // namespace
}  // namespace keelson::api
