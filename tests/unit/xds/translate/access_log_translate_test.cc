// Tests for access_log translation: formats (typed or not), filters, and the field paths of
// errors (an unknown operator is rejected at load, as in Envoy).
#include "xds/translate/access_log_translate.h"

#include <gtest/gtest.h>

#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "tests/unit/xds/translate/test_util.h"

namespace pilotfish::xds {
namespace {

using envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager;
using testing::ParseText;

// `text`: HttpConnectionManager text proto holding only access_log entries.
absl::StatusOr<std::vector<config::AccessLog>> Translate(
    const std::string& text, std::vector<std::string>* warnings = nullptr) {
  return TranslateAccessLogs(ParseText<HttpConnectionManager>(text).access_log(), "al", warnings);
}

std::string Error(const std::string& text) {
  auto logs = Translate(text);
  return logs.ok() ? "ok" : std::string(logs.status().message());
}

std::string FileLog(const std::string& fields, const std::string& filter = "") {
  return "access_log { name: \"f\" " + filter +
         " typed_config { "
         "[type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog] { "
         "path: \"/tmp/x.log\" " +
         fields + " } } }";
}

TEST(AccessLogTranslateTest, Formats) {
  auto logs = Translate(
      FileLog(R"(format: "%RESPONSE_CODE%\n")") +
      FileLog(R"(json_format { fields { key: "c" value { string_value: "%RESPONSE_CODE%" } } })") +
      FileLog(R"(typed_json_format { fields { key: "c" value { string_value: "%DURATION%" } } })") +
      FileLog(R"(log_format { json_format { fields { key: "b" value { string_value: "x" } }
                                            fields { key: "a" value { string_value: "y" } } }
                              omit_empty_values: true
                              json_format_options { sort_properties: true } })") +
      FileLog(R"(log_format { text_format_source { inline_string: "%PROTOCOL%\n" } })") +
      FileLog(""));
  ASSERT_TRUE(logs.ok()) << logs.status();
  ASSERT_EQ(logs->size(), 6u);
  EXPECT_EQ((*logs)[0].text_format, "%RESPONSE_CODE%\n");
  EXPECT_FALSE((*logs)[1].json_typed);  // FileAccessLog.json_format: strings only
  EXPECT_TRUE((*logs)[2].json_typed);
  EXPECT_TRUE((*logs)[3].json_typed);
  EXPECT_TRUE((*logs)[3].omit_empty_values);
  EXPECT_EQ((*logs)[3].json_format,
            (std::vector<std::pair<std::string, std::string>>{{"a", "y"}, {"b", "x"}}));
  EXPECT_EQ((*logs)[4].text_format, "%PROTOCOL%\n");
  EXPECT_TRUE((*logs)[5].text_format.empty());  // Envoy's default format
  EXPECT_FALSE((*logs)[5].filter.has_value());
}

TEST(AccessLogTranslateTest, UnknownOperatorsAreErrorsAtTheirField) {
  EXPECT_EQ(Error(FileLog(R"(format: "%NOPE%")")),
            "al[0].typed_config.format: unknown command operator %NOPE% (not supported by "
            "pilotfish)");
  EXPECT_EQ(Error(FileLog(R"(log_format { text_format_source { inline_string: "%REQ%" } })")),
            "al[0].typed_config.log_format.text_format_source: %REQ% requires a parameter, e.g. "
            "REQ(...)");
  EXPECT_EQ(
      Error(FileLog(
          R"(log_format { json_format { fields { key: "k" value { string_value: "%X_Y%" } } } })")),
      "al[0].typed_config.log_format.json_format.k: unknown command operator %X_Y% (not "
      "supported by pilotfish)");
  EXPECT_EQ(Error(FileLog(
                R"(log_format { json_format { fields { key: "k" value { number_value: 1 } } } })")),
            "al[0].typed_config.log_format.json_format.k: not supported by pilotfish (only string "
            "values in json_format (no nesting, numbers or bools))");
}

TEST(AccessLogTranslateTest, Filters) {
  auto logs = Translate(FileLog("", R"(filter { or_filter {
      filters { status_code_filter { comparison { op: GE value { default_value: 500
                                                                 runtime_key: "k" } } } }
      filters { and_filter {
        filters { duration_filter { comparison { op: LE value { default_value: 10 runtime_key: "d" } } } }
        filters { not_health_check_filter {} }
        filters { response_flag_filter { flags: "UF" flags: "URX" } } } } } })"));
  ASSERT_TRUE(logs.ok()) << logs.status();
  ASSERT_TRUE((*logs)[0].filter.has_value());
  const config::AccessLogFilter& f = *(*logs)[0].filter;
  using Kind = config::AccessLogFilter::Kind;
  EXPECT_EQ(f.kind, Kind::kOr);
  ASSERT_EQ(f.filters.size(), 2u);
  EXPECT_EQ(f.filters[0].kind, Kind::kStatusCode);
  EXPECT_EQ(f.filters[0].op, config::AccessLogFilter::Op::kGe);
  EXPECT_EQ(f.filters[0].value, 500u);
  const config::AccessLogFilter& a = f.filters[1];
  EXPECT_EQ(a.kind, Kind::kAnd);
  ASSERT_EQ(a.filters.size(), 3u);
  EXPECT_EQ(a.filters[0].kind, Kind::kDuration);
  EXPECT_EQ(a.filters[0].op, config::AccessLogFilter::Op::kLe);
  EXPECT_EQ(a.filters[0].value, 10u);
  EXPECT_EQ(a.filters[1].kind, Kind::kNotHealthCheck);
  EXPECT_EQ(a.filters[2].flags, (std::vector<std::string>{"UF", "URX"}));
}

TEST(AccessLogTranslateTest, FilterErrors) {
  EXPECT_EQ(Error(FileLog("", R"(filter { runtime_filter { runtime_key: "r" } })")),
            "al[0].filter.runtime_filter: not supported by pilotfish");
  EXPECT_EQ(Error(FileLog("", R"(filter { response_flag_filter { flags: "UF" flags: "XYZ" } })")),
            "al[0].filter.response_flag_filter.flags[1]: unknown response flag 'XYZ'");
  EXPECT_EQ(
      Error(FileLog("", R"(filter { and_filter { filters { not_health_check_filter {} } } })")),
      "al[0].filter.and_filter.filters: needs 2 or more");
  EXPECT_EQ(Error(FileLog("", R"(filter { or_filter {
                filters { not_health_check_filter {} }
                filters { traceable_filter {} } } })")),
            "al[0].filter.or_filter.filters[1].traceable_filter: not supported by pilotfish");
}

}  // namespace
}  // namespace pilotfish::xds
