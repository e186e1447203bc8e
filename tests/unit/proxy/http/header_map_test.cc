// HeaderMap (ordered, lower-cased names, spare entries reused) and the recycling of header blocks.
#include "proxy/http/header_map.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "proxy/common/thread_pooled.h"

namespace pilotfish::http {
namespace {

using Entries = std::vector<HeaderMap::Entry>;

TEST(HeaderMapTest, AddLowerCasesNamesAndKeepsOrder) {
  HeaderMap h;
  h.Add("Content-Type", "text/plain");
  h.Add("X-B", "1");
  h.Add("x-a", "2");
  EXPECT_EQ(h.entries(), (Entries{{"content-type", "text/plain"}, {"x-b", "1"}, {"x-a", "2"}}));
  ASSERT_NE(h.Get("CONTENT-TYPE"), nullptr);
  EXPECT_EQ(*h.Get("content-type"), "text/plain");
  EXPECT_EQ(h.Get("content"), nullptr);
}

TEST(HeaderMapTest, SetReplacesTheFirstAndDropsTheOthersInPlace) {
  HeaderMap h;
  h.Add("a", "1");
  h.Add("dup", "x");
  h.Add("b", "2");
  h.Add("DUP", "y");
  h.Add("c", "3");
  h.Set("Dup", "z");
  EXPECT_EQ(h.entries(), (Entries{{"a", "1"}, {"dup", "z"}, {"b", "2"}, {"c", "3"}}));
  h.Set("new", "v");
  EXPECT_EQ(h.entries().back(), (HeaderMap::Entry{"new", "v"}));
}

TEST(HeaderMapTest, RemoveAndRemoveAllKeepTheOrderOfTheRest) {
  HeaderMap h;
  for (const char* n : {"connection", "a", "keep-alive", "b", "Connection", "c", "upgrade"}) {
    h.Add(n, n);
  }
  EXPECT_EQ(h.Remove("CONNECTION"), 2u);
  EXPECT_EQ(h.RemoveAll({"upgrade", "keep-alive", "absent"}), 2u);
  EXPECT_EQ(h.entries(), (Entries{{"a", "a"}, {"b", "b"}, {"c", "c"}}));
  EXPECT_EQ(h.Remove("absent"), 0u);
  EXPECT_EQ(h.Count("a"), 1u);
}

// Only A-Z fold: the bytes next to them in ASCII ('@', '[', '`', '{') stay as they are.
TEST(HeaderMapTest, AddFoldsOnlyAsciiCapitals) {
  HeaderMap h;
  h.Add("AZaz09-_@[`{~\x80\xC1", "V");
  EXPECT_EQ(h.entries(), (Entries{{"azaz09-_@[`{~\x80\xC1", "V"}}));
}

// Names are folded and compared eight bytes at a time, the tail byte by byte: every byte value
// in every position of a 19-byte name (two words and a tail) folds and matches as one at a time.
TEST(HeaderMapTest, EveryByteFoldsAndComparesAsAsciiLowerCase) {
  auto lower = [](unsigned char c) {
    return static_cast<char>(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
  };
  for (size_t pos = 0; pos < 19; ++pos) {
    for (int b = 0; b < 256; ++b) {
      std::string name(19, 'K');
      name[pos] = static_cast<char>(b);
      std::string expected(19, 'k');
      expected[pos] = lower(static_cast<unsigned char>(b));
      HeaderMap h;
      h.Add(name, "v");
      ASSERT_EQ(h.entries()[0].first, expected) << "byte " << b << " at " << pos;
      ASSERT_NE(h.Get(name), nullptr) << "byte " << b << " at " << pos;
      ASSERT_NE(h.Get(expected), nullptr);
      std::string other = expected;
      other[pos] = static_cast<char>(b ^ 0x01);  // any other byte there: no match
      if (lower(static_cast<unsigned char>(other[pos])) != expected[pos]) {
        ASSERT_EQ(h.Get(other), nullptr) << "byte " << b << " at " << pos;
      }
    }
  }
}

// RemoveAll rules entries out by length first; names of 64 bytes and more take the slow path.
TEST(HeaderMapTest, RemoveAllMatchesNamesOfEveryLength) {
  const std::string long_name(70, 'l');
  const std::string other_long(80, 'o');
  HeaderMap h;
  for (const std::string& n : {std::string("a"), long_name, std::string("bb"), other_long,
                               std::string(63, 'x'), std::string("c")}) {
    h.Add(n, "v");
  }
  EXPECT_EQ(h.RemoveAll({"a", long_name, std::string(63, 'X'), "zz"}), 3u);
  EXPECT_EQ(h.entries(), (Entries{{"bb", "v"}, {other_long, "v"}, {"c", "v"}}));
  EXPECT_EQ(h.RemoveAll({"c"}), 1u);  // no long names asked for: long entries stay
  EXPECT_EQ(h.entries(), (Entries{{"bb", "v"}, {other_long, "v"}}));
}

TEST(HeaderMapTest, HasNamePrefixLooksAtLiveNamesOnly) {
  HeaderMap h;
  h.Add("X-Envoy-Max-Retries", "1");
  h.Add("accept", "*/*");
  EXPECT_TRUE(h.HasNamePrefix("x-envoy-"));
  EXPECT_FALSE(h.HasNamePrefix("x-envoy-retry-on"));
  h.Remove("x-envoy-max-retries");  // kept as a spare: not live
  EXPECT_FALSE(h.HasNamePrefix("x-envoy-"));
  EXPECT_TRUE(h.HasNamePrefix(""));
}

// Removed entries come back as spares: what is added next must not carry old contents.
TEST(HeaderMapTest, ReusedEntriesStartEmpty) {
  HeaderMap h;
  h.Add("a-long-header-name-over-sso", std::string(200, 'v'));
  h.Add("b", "1");
  h.Clear();
  EXPECT_EQ(h.size(), 0u);
  h.Add("c", "2");
  HeaderMap::Entry& e = h.AppendEmpty();
  EXPECT_TRUE(e.first.empty());
  EXPECT_TRUE(e.second.empty());
  e.first = "d";
  e.second = "3";
  h.PopBack();
  EXPECT_EQ(h.entries(), (Entries{{"c", "2"}}));
  EXPECT_EQ(h.ByteSize(), 2u);
}

TEST(HeaderMapTest, CopiesCarryOnlyLiveEntries) {
  HeaderMap h;
  h.Add("a", "1");
  h.Add("b", "2");
  h.Remove("a");
  HeaderMap copy = h;
  EXPECT_EQ(copy.entries(), (Entries{{"b", "2"}}));
  HeaderMap assigned;
  assigned.Add("z", "9");
  assigned = h;
  EXPECT_EQ(assigned.entries(), (Entries{{"b", "2"}}));
}

// Spares keep their buffers for the next entry, unless they grew past the limits.
TEST(HeaderMapTest, SparesKeepSmallBuffersAndDropBigOnes) {
  HeaderMap h;
  h.Add("a", std::string(200, 'v'));
  h.Add("b", std::string(4000, 'w'));
  h.Clear();
  EXPECT_TRUE(h.entries().empty());
  HeaderMap::Entry& small = h.AppendEmpty();
  EXPECT_GE(small.second.capacity(), 200u);
  EXPECT_TRUE(small.second.empty());
  HeaderMap::Entry& big = h.AppendEmpty();
  EXPECT_LT(big.second.capacity(), 4000u);
  EXPECT_EQ(h.size(), 2u);
}

TEST(HeaderMapTest, AMovedFromMapIsEmptyAndUsable) {
  HeaderMap h;
  h.Add("a", "1");
  h.Add("b", "2");
  HeaderMap moved = std::move(h);
  EXPECT_EQ(moved.entries(), (Entries{{"a", "1"}, {"b", "2"}}));
  EXPECT_EQ(h.size(), 0u);  // NOLINT(bugprone-use-after-move): a moved-from map is empty
  h.Add("c", "3");
  EXPECT_EQ(h.entries(), (Entries{{"c", "3"}}));
  HeaderMap assigned;
  assigned.Add("z", "9");
  assigned = std::move(moved);
  EXPECT_EQ(assigned.entries(), (Entries{{"a", "1"}, {"b", "2"}}));
  EXPECT_EQ(moved.size(), 0u);  // NOLINT(bugprone-use-after-move)
}

TEST(HeaderMapTest, AssigningASmallerMapLeavesNoOldEntriesLive) {
  HeaderMap big;
  for (const char* n : {"a", "b", "c", "d"}) big.Add(n, n);
  HeaderMap one;
  one.Add("x", "1");
  big = one;
  EXPECT_EQ(big.entries(), (Entries{{"x", "1"}}));
  EXPECT_EQ(big.Get("b"), nullptr);
  EXPECT_EQ(big.Count("a"), 0u);
  EXPECT_EQ(big.ByteSize(), 2u);
}

// A recycled block must hold exactly what a new one does.
TEST(HeaderBlockRecyclingTest, ARecycledRequestBlockIsLikeANewOne) {
  const RequestHeaders fresh;
  for (int round = 0; round < 3; ++round) {
    RequestHeadersPtr h = NewRequestHeaders();
    EXPECT_EQ(h->method, fresh.method);
    EXPECT_EQ(h->path, fresh.path);
    EXPECT_EQ(h->authority, fresh.authority);
    EXPECT_EQ(h->scheme, fresh.scheme);
    EXPECT_EQ(h->version_minor, fresh.version_minor);
    EXPECT_EQ(h->headers.size(), 0u);
    h->method = "POST";
    h->path = "/a/path/longer/than/the/small/string/buffer";
    h->authority = "example.com";
    h->scheme = "https";
    h->version_minor = 0;
    h->headers.Add("x-request-id", "0123456789abcdef0123456789abcdef0123");
  }
}

TEST(HeaderBlockRecyclingTest, ARecycledResponseBlockIsLikeANewOne) {
  for (int round = 0; round < 3; ++round) {
    ResponseHeadersPtr h = NewResponseHeaders();
    EXPECT_EQ(h->status, 200);
    EXPECT_TRUE(h->reason.empty());
    EXPECT_EQ(h->headers.size(), 0u);
    h->status = 503;
    h->reason = "Service Unavailable";
    h->headers.Add("date", "Thu, 03 Dec 2026 17:00:00 GMT");
  }
}

TEST(HeaderBlockRecyclingTest, BlocksAreReusedOutsideSanitizerBuilds) {
  RequestHeaders* first = nullptr;
  {
    RequestHeadersPtr h = NewRequestHeaders();
    first = h.get();
  }
  RequestHeadersPtr again = NewRequestHeaders();
  if (!common::kRecycling) GTEST_SKIP() << "sanitizer builds do not recycle (every block is freed)";
  EXPECT_EQ(again.get(), first);
}

// Pointers made with make_unique convert, and a block freed on another thread goes to that
// thread's pool (or is deleted) without touching this one's.
TEST(HeaderBlockRecyclingTest, MakeUniqueBlocksAndOtherThreadsAreFine) {
  RequestHeadersPtr h = std::make_unique<RequestHeaders>();
  h->path = "/x";
  std::thread t([p = std::move(h)]() mutable { p.reset(); });
  t.join();
  RequestHeadersPtr next = NewRequestHeaders();
  EXPECT_TRUE(next->path.empty());
}

}  // namespace
}  // namespace pilotfish::http
