// Tests for InitialFetchTimeouts: deadlines per subscription on an injected clock.
#include "bootstrap/initial_fetch.h"

#include <gtest/gtest.h>

namespace pilotfish::bootstrap {
namespace {

using std::chrono::milliseconds;

class FakeTime : public event::TimeSource {
 public:
  event::MonotonicTime Now() const override { return now; }
  std::chrono::system_clock::time_point SystemNow() const override { return {}; }
  void Advance(milliseconds d) { now += d; }
  event::MonotonicTime now{std::chrono::seconds(100)};
};

constexpr char kCds[] = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
constexpr char kEds[] = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";

TEST(InitialFetchTimeoutsTest, ExpiresAtTheDeadlineOnly) {
  FakeTime time;
  InitialFetchTimeouts t(time);
  t.Start({kCds, ""}, milliseconds(1000));
  t.Start({kEds, "c1"}, milliseconds(300));
  EXPECT_EQ(t.NextDelay(), milliseconds(300));
  time.Advance(milliseconds(299));
  EXPECT_TRUE(t.TakeExpired().empty());
  EXPECT_EQ(t.NextDelay(), milliseconds(1));
  time.Advance(milliseconds(1));
  auto expired = t.TakeExpired();
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0], InitialFetchTimeouts::Key(kEds, "c1"));
  EXPECT_FALSE(t.Waiting({kEds, "c1"}));
  EXPECT_TRUE(t.Waiting({kCds, ""}));
  EXPECT_EQ(t.NextDelay(), milliseconds(700));
  time.Advance(milliseconds(5000));  // a late timer still reports it once
  EXPECT_EQ(t.TakeExpired().size(), 1u);
  EXPECT_TRUE(t.TakeExpired().empty());
  EXPECT_EQ(t.NextDelay(), std::nullopt);
}

TEST(InitialFetchTimeoutsTest, ZeroWaitsForeverAndStartIsIdempotent) {
  FakeTime time;
  InitialFetchTimeouts t(time);
  t.Start({kCds, ""}, milliseconds(0));  // Istio's lds/cds setting
  EXPECT_TRUE(t.Waiting({kCds, ""}));
  EXPECT_EQ(t.NextDelay(), std::nullopt);
  time.Advance(std::chrono::hours(24));
  EXPECT_TRUE(t.TakeExpired().empty());
  EXPECT_TRUE(t.Waiting({kCds, ""}));

  t.Start({kEds, "a"}, milliseconds(100));
  time.Advance(milliseconds(60));
  t.Start({kEds, "a"}, milliseconds(100));  // already waiting: the deadline does not move
  EXPECT_EQ(t.NextDelay(), milliseconds(40));
  EXPECT_EQ(t.WaitingOfType(kEds).size(), 1u);
  EXPECT_EQ(t.WaitingOfType(kCds).size(), 1u);
}

TEST(InitialFetchTimeoutsTest, StopEndsTheWaitAndARestartWaitsAnew) {
  FakeTime time;
  InitialFetchTimeouts t(time);
  t.Start({kEds, "a"}, milliseconds(100));
  time.Advance(milliseconds(90));
  t.Stop({kEds, "a"});  // the first answer arrived
  EXPECT_FALSE(t.Waiting({kEds, "a"}));
  EXPECT_EQ(t.NextDelay(), std::nullopt);
  t.Start({kEds, "a"}, milliseconds(100));  // the cluster changed: a new subscription
  time.Advance(milliseconds(90));
  EXPECT_TRUE(t.TakeExpired().empty());
  time.Advance(milliseconds(10));
  EXPECT_EQ(t.TakeExpired().size(), 1u);
}

}  // namespace
}  // namespace pilotfish::bootstrap
