// Tests for the layered_runtime flags pilotfish reads and the warnings for the rest.
#include "xds/translate/runtime_translate.h"

#include <gtest/gtest.h>

#include "tests/unit/xds/translate/test_util.h"

namespace pilotfish::xds {
namespace {

using envoy::config::bootstrap::v3::Bootstrap;
using testing::ParseText;

config::PathFragment Fragment(const std::string& text) {
  return PathFragmentFromRuntime(ParseText<Bootstrap>(text));
}

std::string StaticLayer(const std::string& fields) {
  return "layered_runtime { layers { name: \"g\" static_layer { " + fields + " } } }";
}

std::string BoolField(const std::string& key, bool value) {
  return "fields { key: \"" + key + "\" value { bool_value: " + (value ? "true" : "false") + " } }";
}

constexpr char kReject[] = "envoy.reloadable_features.http_reject_path_with_fragment";
constexpr char kStrip[] =
    "envoy.reloadable_features.http_strip_fragment_from_path_unsafe_if_disabled";

TEST(PathFragmentFromRuntimeTest, EnvoysDefaultRejects) {
  EXPECT_EQ(Fragment(""), config::PathFragment::kReject);
  EXPECT_EQ(Fragment(StaticLayer(BoolField(kReject, true))), config::PathFragment::kReject);
  // Only "false" turns a feature off.
  EXPECT_EQ(Fragment(StaticLayer("fields { key: \"" + std::string(kReject) +
                                 "\" value { string_value: \"no\" } }")),
            config::PathFragment::kReject);
}

TEST(PathFragmentFromRuntimeTest, IstiosFlagStrips) {
  EXPECT_EQ(Fragment(StaticLayer(BoolField(kReject, false))), config::PathFragment::kStrip);
  EXPECT_EQ(Fragment(StaticLayer("fields { key: \"" + std::string(kReject) +
                                 "\" value { string_value: \"FALSE\" } }")),
            config::PathFragment::kStrip);
}

TEST(PathFragmentFromRuntimeTest, BothOffKeeps) {
  EXPECT_EQ(Fragment(StaticLayer(BoolField(kReject, false) + BoolField(kStrip, false))),
            config::PathFragment::kKeep);
}

TEST(PathFragmentFromRuntimeTest, NestedKeysAndLaterLayersWin) {
  const std::string nested = R"txt(layered_runtime {
    layers { name: "a" static_layer { fields { key: "envoy" value { struct_value {
      fields { key: "reloadable_features" value { struct_value {
        fields { key: "http_reject_path_with_fragment" value { bool_value: false } } } } } } } } } }
    layers { name: "admin" admin_layer {} }
  })txt";
  EXPECT_EQ(Fragment(nested), config::PathFragment::kStrip);
  const std::string overridden =
      "layered_runtime { layers { name: \"a\" static_layer { " + BoolField(kReject, false) +
      " } } layers { name: \"b\" static_layer { " + BoolField(kReject, true) + " } } }";
  EXPECT_EQ(Fragment(overridden), config::PathFragment::kReject);
}

TEST(WarnUnappliedRuntimeTest, NamesWhatHasNoEffect) {
  std::vector<std::string> warnings;
  const Bootstrap b = ParseText<Bootstrap>(R"txt(layered_runtime {
    layers { name: "g" static_layer {
      fields { key: "envoy.reloadable_features.http_reject_path_with_fragment"
               value { bool_value: false } }
      fields { key: "overload.global_downstream_max_connections"
               value { string_value: "2147483647" } } } }
    layers { name: "admin" admin_layer {} }
    layers { name: "r" rtds_layer { name: "rtds" } }
  })txt");
  WarnUnappliedRuntime(b.layered_runtime(), &warnings);
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_NE(warnings[0].find("layered_runtime.layers[0].static_layer: 1 runtime key(s) have no "
                             "effect"),
            std::string::npos)
      << warnings[0];
  EXPECT_NE(warnings[0].find("first 'overload.global_downstream_max_connections'"),
            std::string::npos)
      << warnings[0];
  EXPECT_NE(warnings[1].find("layered_runtime.layers[2]: disk and RTDS runtime layers"),
            std::string::npos)
      << warnings[1];

  warnings.clear();
  WarnUnappliedRuntime(
      ParseText<Bootstrap>(StaticLayer(BoolField(kReject, false))).layered_runtime(), &warnings);
  EXPECT_TRUE(warnings.empty());
}

}  // namespace
}  // namespace pilotfish::xds
