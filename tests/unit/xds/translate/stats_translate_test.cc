// Tests for the bootstrap's stats_config translation (Istio's bootstrap stats_config included).
#include "xds/translate/stats_translate.h"

#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "tests/unit/xds/translate/test_util.h"

namespace pilotfish::xds {
namespace {

using envoy::config::metrics::v3::StatsConfig;
using testing::ParseText;

absl::StatusOr<config::StatsConfig> Translate(const std::string& text,
                                              std::vector<std::string>* warnings = nullptr) {
  return TranslateStatsConfig(ParseText<StatsConfig>(text), "stats_config", warnings);
}

std::string Error(const std::string& text) {
  auto result = Translate(text);
  EXPECT_FALSE(result.ok()) << text;
  return std::string(result.status().message());
}

TEST(StatsTranslateTest, Defaults) {
  auto c = Translate("");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->use_all_default_tags);
  EXPECT_TRUE(c->stats_tags.empty());
  EXPECT_EQ(c->stats_matcher.kind, config::StatsMatcher::Kind::kAcceptAll);
}

TEST(StatsTranslateTest, TagsAndMatcher) {
  std::vector<std::string> warnings;
  auto c = Translate(R"txt(
      use_all_default_tags { value: false }
      stats_tags { tag_name: "cluster_name" regex: "^cluster(\\.(.+);)" }
      stats_tags { tag_name: "http_conn_manager_listener_prefix"
                   regex: "^listener(?=\\.).*?\\.http\\.(((?:[_.[:digit:]]*|[_\\[\\]aAbBcCdDeEfF[:digit:]]*))\\.)" }
      stats_tags { tag_name: "envoy.response_code" }
      stats_tags { tag_name: "mesh" fixed_value: "prod" }
      stats_matcher { inclusion_list {
        patterns { prefix: "server" }
        patterns { suffix: "rbac.allowed" }
        patterns { safe_regex { regex: "vhost\\..*\\.route\\..*" } }
      } }
      histogram_bucket_settings { match { prefix: "x" } buckets: 1 }
  )txt",
                     &warnings);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_FALSE(c->use_all_default_tags);
  ASSERT_EQ(c->stats_tags.size(), 4u);
  EXPECT_EQ(c->stats_tags[0].regex, "^cluster(\\.(.+);)");
  EXPECT_TRUE(c->stats_tags[2].regex.empty());
  EXPECT_EQ(c->stats_tags[3].fixed_value, "prod");
  EXPECT_EQ(c->stats_matcher.kind, config::StatsMatcher::Kind::kInclusionList);
  ASSERT_EQ(c->stats_matcher.patterns.size(), 3u);
  EXPECT_EQ(c->stats_matcher.patterns[1].kind, config::StringMatchKind::kSuffix);
  EXPECT_EQ(
      warnings,
      (std::vector<std::string>{"stats_config.histogram_bucket_settings: ignored by pilotfish"}));

  auto reject = Translate("stats_matcher { reject_all: true }");
  ASSERT_TRUE(reject.ok());
  EXPECT_EQ(reject->stats_matcher.kind, config::StatsMatcher::Kind::kRejectAll);
  auto exclude = Translate(R"txt(stats_matcher { exclusion_list { patterns { exact: "a" } } })txt");
  ASSERT_TRUE(exclude.ok());
  EXPECT_EQ(exclude->stats_matcher.kind, config::StatsMatcher::Kind::kExclusionList);
}

TEST(StatsTranslateTest, Errors) {
  EXPECT_EQ(Error(R"txt(stats_tags { tag_name: "x" regex: "(" })txt"),
            "stats_config.stats_tags[0].regex: invalid regex '(': missing ): (");
  EXPECT_EQ(Error(R"txt(stats_tags { tag_name: "x" regex: "abc" })txt"),
            "stats_config.stats_tags[0].regex: regex 'abc' needs a capture group (the part cut "
            "from the name)");
  EXPECT_EQ(Error(R"txt(stats_tags { tag_name: "custom" })txt"),
            "stats_config.stats_tags[0]: no regex for tag 'custom' and Envoy has no default regex "
            "for that name");
  EXPECT_EQ(Error(R"txt(stats_tags { regex: "(a)" })txt"),
            "stats_config.stats_tags[0].tag_name: must not be empty");
  EXPECT_EQ(
      Error(R"txt(stats_matcher { inclusion_list { patterns { safe_regex { regex: "[" } } } })txt"),
      "stats_config.stats_matcher.inclusion_list.patterns[0].safe_regex.regex: invalid regex '[': "
      "missing ]: [");
}

// Every stats_tags regex of Istio's bootstrap template translates (the template's {{...}}
// ranges are dropped: they only add more entries of the same shape).
TEST(StatsTranslateTest, IstioBootstrapStatsConfig) {
  // shared/ sits next to the source tree; tests run from the source or a build directory.
  const std::string rel = "/testdata/istio__istio/tools/packaging/common/envoy_bootstrap.json";
  std::ifstream in;
  if (const char* shared = getenv("PF_SHARED_DIR")) in.open(shared + rel);
  for (std::string up = "../"; !in.is_open() && up.size() <= 15; up += "../") {
    in.open(up + "shared" + rel);
  }
  if (!in) GTEST_SKIP() << "no ../shared" << rel;
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  const size_t begin = text.find("\"stats_config\"");
  ASSERT_NE(begin, std::string::npos);
  size_t i = text.find('{', begin), depth = 0, end = i;
  for (; end < text.size(); ++end) {
    if (text[end] == '{' && text.compare(end, 2, "{{") != 0 && (end == 0 || text[end - 1] != '{')) {
      ++depth;
    } else if (text[end] == '}' && text.compare(end, 2, "}}") != 0 && text[end - 1] != '}') {
      if (--depth == 0) break;
    }
  }
  std::string json = text.substr(i, end - i + 1);
  // Drop template actions ({{- range ...}} ... {{- end }} blocks and lone actions).
  std::string clean;
  for (size_t p = 0; p < json.size();) {
    if (json.compare(p, 2, "{{") == 0) {
      const size_t close = json.find("}}", p);
      const std::string action = json.substr(p, close + 2 - p);
      p = close + 2;
      if (action.find("range") != std::string::npos || action.find(" if ") != std::string::npos) {
        // Skip to the matching {{- end }}.
        int nested = 1;
        while (nested > 0) {
          const size_t next = json.find("{{", p);
          const size_t next_close = json.find("}}", next);
          const std::string a = json.substr(next, next_close + 2 - next);
          if (a.find("range") != std::string::npos || a.find(" if ") != std::string::npos) ++nested;
          if (a.find("end") != std::string::npos) --nested;
          p = next_close + 2;
        }
      }
      continue;
    }
    clean.push_back(json[p++]);
  }
  StatsConfig proto;
  auto status = google::protobuf::util::JsonStringToMessage(clean, &proto);
  ASSERT_TRUE(status.ok()) << status.ToString() << "\n" << clean;
  std::vector<std::string> warnings;
  auto c = TranslateStatsConfig(proto, "stats_config", &warnings);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_FALSE(c->use_all_default_tags);
  EXPECT_GE(c->stats_tags.size(), 10u);
  EXPECT_EQ(c->stats_matcher.kind, config::StatsMatcher::Kind::kInclusionList);
}

}  // namespace
}  // namespace pilotfish::xds
