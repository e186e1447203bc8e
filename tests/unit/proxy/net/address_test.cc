// Address formatting: what /clusters, access logs and x-envoy headers print.
#include "proxy/net/address.h"

#include <gtest/gtest.h>

#include "absl/container/flat_hash_set.h"

namespace pilotfish::net {
namespace {

TEST(AddressTest, FormatsIpv4AndIpv6) {
  struct Case {
    const char* ip;
    uint32_t port;
    const char* text;
  };
  for (const Case& c :
       {Case{"127.0.0.1", 80, "127.0.0.1:80"}, Case{"0.0.0.0", 0, "0.0.0.0:0"},
        Case{"255.255.255.255", 65535, "255.255.255.255:65535"},
        Case{"10.1.20.200", 9080, "10.1.20.200:9080"}, Case{"::1", 443, "[::1]:443"},
        Case{"fe80::1:2", 8080, "[fe80::1:2]:8080"}}) {
    auto a = Address::FromIpPort(c.ip, c.port);
    ASSERT_TRUE(a) << c.ip;
    EXPECT_EQ(a->ToString(), c.text);
    EXPECT_EQ(a->ip(), c.ip);
    std::string out = "x=";
    a->AppendTo(out);
    EXPECT_EQ(out, std::string("x=") + c.text);
  }
  EXPECT_FALSE(Address::FromIpPort("host.example", 80));
}

TEST(AddressTest, EqualityAndHashFollowFamilyPortAndBytes) {
  const Address a = *Address::FromIpPort("10.0.0.1", 80);
  EXPECT_EQ(a, *Address::FromIpPort("10.0.0.1", 80));
  EXPECT_FALSE(a == *Address::FromIpPort("10.0.0.1", 81));
  EXPECT_FALSE(a == *Address::FromIpPort("10.0.0.2", 80));
  EXPECT_FALSE(a == *Address::FromIpPort("::ffff:10.0.0.1", 80));  // another family
  EXPECT_EQ(*Address::FromIpPort("fe80::1", 443), *Address::FromIpPort("fe80:0::1", 443));
  EXPECT_FALSE(*Address::FromIpPort("fe80::1", 443) == *Address::FromIpPort("fe80::2", 443));
  absl::flat_hash_set<Address> set = {a, *Address::FromIpPort("10.0.0.1", 80),
                                      *Address::FromIpPort("::1", 80)};
  EXPECT_EQ(set.size(), 2u);
  EXPECT_TRUE(set.contains(*Address::FromIpPort("::1", 80)));
}

}  // namespace
}  // namespace pilotfish::net
