// normalize_path / merge_slashes, with the cases Envoy's path normalization documents.
#include "proxy/http/path_util.h"

#include <gtest/gtest.h>

namespace pilotfish::http {
namespace {

std::string Norm(std::string_view p, bool merge = false) {
  auto r = NormalizePath(p, true, merge);
  return r ? *r : "<rejected>";
}

TEST(PathUtilTest, DotSegments) {
  EXPECT_EQ(Norm("/a/b/../c"), "/a/c");
  EXPECT_EQ(Norm("/a/./b"), "/a/b");
  EXPECT_EQ(Norm("/a/b/.."), "/a/");
  EXPECT_EQ(Norm("/a/b/."), "/a/b/");
  EXPECT_EQ(Norm("/../../etc/passwd"), "/etc/passwd");  // never above the root
  EXPECT_EQ(Norm("/.."), "/");
  EXPECT_EQ(Norm("/"), "/");
  EXPECT_EQ(Norm("/a/"), "/a/");
  EXPECT_EQ(Norm("/a..b/..c"), "/a..b/..c");  // dots inside a segment are not dot segments
}

TEST(PathUtilTest, PercentEncoding) {
  EXPECT_EQ(Norm("/%61%62c"), "/abc");            // unreserved: decoded
  EXPECT_EQ(Norm("/a/%2e%2E/b"), "/b");           // encoded dots are dot segments
  EXPECT_EQ(Norm("/a%2fb"), "/a%2Fb");            // reserved: kept, hex upper-cased
  EXPECT_EQ(Norm("/a%zzb"), "/a%zzb");            // not an escape: left alone
  EXPECT_EQ(Norm("/a%2"), "/a%2");                // truncated escape
  EXPECT_EQ(Norm("/a\\b\\..\\c"), "/a/c");        // backslashes are slashes
  EXPECT_EQ(Norm("/caf\xc3\xa9"), "/caf%C3%A9");  // raw non-ASCII is escaped
}

TEST(PathUtilTest, QueryIsLeftAlone) {
  EXPECT_EQ(Norm("/a/../b?x=/../y&%61"), "/b?x=/../y&%61");
  EXPECT_EQ(Norm("/a//b?c//d", true), "/a/b?c//d");
}

TEST(PathUtilTest, MergeSlashes) {
  EXPECT_EQ(Norm("//a///b/", true), "/a/b/");
  EXPECT_EQ(Norm("//a///b/", false), "//a///b/");
  // merge_slashes alone does not resolve dot segments.
  auto only_merge = NormalizePath("/a//../b", false, true);
  ASSERT_TRUE(only_merge);
  EXPECT_EQ(*only_merge, "/a/../b");
}

TEST(PathUtilTest, RejectsPathsThatAreNotAbsolute) {
  EXPECT_EQ(Norm("*"), "<rejected>");
  EXPECT_EQ(Norm(""), "<rejected>");
  EXPECT_EQ(Norm("a/b"), "<rejected>");
}

}  // namespace
}  // namespace pilotfish::http
