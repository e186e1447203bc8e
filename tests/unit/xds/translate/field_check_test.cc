// Tests for the reflection-based unsupported-field checker and the path / warning helpers.
#include "xds/translate/field_check.h"

#include <gtest/gtest.h>

#include "envoy/config/route/v3/route_components.pb.h"
#include "tests/unit/xds/translate/test_util.h"

namespace pilotfish::xds {
namespace {

using testing::ParseText;

TEST(FieldCheckTest, PathHelpers) {
  EXPECT_EQ(FieldPath("", "a"), "a");
  EXPECT_EQ(FieldPath("a", "b"), "a.b");
  EXPECT_EQ(IndexPath("a", "b", 3), "a.b[3]");
  EXPECT_EQ(KeyPath("a", "m", "k"), "a.m[\"k\"]");
}

TEST(FieldCheckTest, HandledFieldsPass) {
  auto route = ParseText<envoy::config::route::v3::Route>(R"txt(name: "r"
                                                               match { prefix: "/" }
                                                               route { cluster: "c" })txt");
  EXPECT_TRUE(CheckFields(route, "x", {.handled = {"name", "match", "route"}}).ok());
}

TEST(FieldCheckTest, UnhandledFieldIsAnErrorNamingItsPath) {
  auto route = ParseText<envoy::config::route::v3::Route>(R"txt(match { prefix: "/" }
                                                               route { cluster: "c" }
                                                               decorator { operation: "op" })txt");
  absl::Status s = CheckFields(route, "vh.routes[2]", {.handled = {"match", "route"}});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "vh.routes[2].decorator: not supported by pilotfish");
}

TEST(FieldCheckTest, DefaultValuedScalarsAreNotPresent) {
  // proto3 scalars at their default are not "set", so they never trip the check.
  auto route = ParseText<envoy::config::route::v3::Route>(R"txt(name: "")txt");
  EXPECT_TRUE(CheckFields(route, "x", {}).ok());
}

TEST(FieldCheckTest, IgnoredFieldWarns) {
  auto route = ParseText<envoy::config::route::v3::Route>(R"txt(match { prefix: "/" }
                                                               tracing {})txt");
  std::vector<std::string> warnings;
  EXPECT_TRUE(
      CheckFields(route, "r", {.handled = {"match"}, .ignored = {"tracing"}}, &warnings).ok());
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0], "r.tracing: ignored by pilotfish");
}

TEST(FieldCheckTest, TypoInRulesIsAnInternalError) {
  envoy::config::route::v3::Route route;
  EXPECT_EQ(CheckFields(route, "r", {.handled = {"no_such_field"}}).code(),
            absl::StatusCode::kInternal);
  EXPECT_EQ(CheckFields(route, "r", {.ignored = {"nope"}}).code(), absl::StatusCode::kInternal);
}

TEST(FieldCheckTest, UnknownFieldNumbersWarn) {
  envoy::config::route::v3::Route route;
  route.GetReflection()->MutableUnknownFields(&route)->AddVarint(999, 1);
  std::vector<std::string> warnings;
  EXPECT_TRUE(CheckFields(route, "r", {}, &warnings).ok());
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("unknown field number 999"), std::string::npos) << warnings[0];
}

TEST(FieldCheckTest, SummarizeWarningsCollapsesIndices) {
  std::vector<std::string> in = {"a.routes[0].tracing: ignored", "a.routes[1].tracing: ignored",
                                 "b[3]: x", "a.routes[12].tracing: ignored"};
  std::vector<std::string> out = SummarizeWarnings(in);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0], "a.routes[*].tracing: ignored (x3)");
  EXPECT_EQ(out[1], "b[3]: x");  // a single one keeps its index
}

}  // namespace
}  // namespace pilotfish::xds
