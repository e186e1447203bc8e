// AppendJsonString: what is escaped, how, and that everything else passes through unchanged.
#include "proxy/common/json.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace pilotfish {
namespace {

std::string Json(std::string_view s) {
  std::string out = "prefix:";  // appends, never replaces
  AppendJsonString(s, out);
  return out;
}

TEST(AppendJsonStringTest, PlainTextIsQuotedAsItIs) {
  EXPECT_EQ(Json(""), "prefix:\"\"");
  EXPECT_EQ(Json("GET /a?b=c HTTP/1.1"), "prefix:\"GET /a?b=c HTTP/1.1\"");
}

TEST(AppendJsonStringTest, QuotesBackslashesAndShortFormControls) {
  EXPECT_EQ(Json("a\"b\\c"), "prefix:\"a\\\"b\\\\c\"");
  EXPECT_EQ(Json("\b\f\n\r\t"), "prefix:\"\\b\\f\\n\\r\\t\"");
}

TEST(AppendJsonStringTest, OtherControlsAsUnicodeEscapes) {
  EXPECT_EQ(Json(std::string_view("\x00", 1)), "prefix:\"\\u0000\"");
  EXPECT_EQ(Json("x\x01y\x1f"), "prefix:\"x\\u0001y\\u001f\"");
}

TEST(AppendJsonStringTest, DelAndUtf8BytesPassThrough) {
  EXPECT_EQ(Json("\x7f"), "prefix:\"\x7f\"");
  EXPECT_EQ(Json("caf\xc3\xa9 \xe2\x82\xac"), "prefix:\"caf\xc3\xa9 \xe2\x82\xac\"");
}

TEST(AppendJsonStringTest, RunsAroundEscapesAreKept) {
  EXPECT_EQ(Json("ab\ncd\"ef"), "prefix:\"ab\\ncd\\\"ef\"");
  EXPECT_EQ(Json("\"start and end\""), "prefix:\"\\\"start and end\\\"\"");
}

}  // namespace
}  // namespace pilotfish
