// The retry circuit breaker's limit: max_retries, or a retry budget (budget_percent of the
// outstanding requests, at least min_retry_concurrency) that replaces it.
#include <gtest/gtest.h>

#include "proxy/upstream/host.h"

namespace pilotfish::upstream {
namespace {

config::CircuitBreakerThresholds Budget(double percent, uint32_t min_concurrency) {
  config::CircuitBreakerThresholds cb;
  cb.max_retries = 1000;  // must be ignored once a budget is set
  cb.retry_budget_percent = percent;
  cb.retry_budget_min_concurrency = min_concurrency;
  return cb;
}

TEST(RetryBudgetTest, WithoutBudgetTheLimitIsMaxRetries) {
  config::CircuitBreakerThresholds cb;
  cb.max_retries = 7;
  EXPECT_EQ(MaxConcurrentRetries(cb, 0), 7u);
  EXPECT_EQ(MaxConcurrentRetries(cb, 100000), 7u);
}

TEST(RetryBudgetTest, BudgetReplacesMaxRetries) {
  // Envoy's defaults (20%, 3): few requests leave the minimum, more scale the budget.
  const auto cb = Budget(20.0, 3);
  EXPECT_EQ(MaxConcurrentRetries(cb, 0), 3u);
  EXPECT_EQ(MaxConcurrentRetries(cb, 10), 3u);  // 2 < 3
  EXPECT_EQ(MaxConcurrentRetries(cb, 15), 3u);
  EXPECT_EQ(MaxConcurrentRetries(cb, 20), 4u);
  EXPECT_EQ(MaxConcurrentRetries(cb, 100), 20u);
  EXPECT_EQ(MaxConcurrentRetries(cb, 5000), 1000u);  // not capped by max_retries
}

TEST(RetryBudgetTest, FractionsAreTruncated) {
  const auto cb = Budget(25.0, 0);
  EXPECT_EQ(MaxConcurrentRetries(cb, 3), 0u);  // 0.75
  EXPECT_EQ(MaxConcurrentRetries(cb, 7), 1u);  // 1.75
  EXPECT_EQ(MaxConcurrentRetries(cb, 8), 2u);
  EXPECT_EQ(MaxConcurrentRetries(Budget(33.3, 1), 10), 3u);  // 3.33
}

TEST(RetryBudgetTest, ZeroPercentLeavesOnlyTheMinimum) {
  EXPECT_EQ(MaxConcurrentRetries(Budget(0.0, 2), 1000000), 2u);
  EXPECT_EQ(MaxConcurrentRetries(Budget(0.0, 0), 1000000), 0u);
}

TEST(RetryBudgetTest, HundredPercentAllowsOneRetryPerRequest) {
  EXPECT_EQ(MaxConcurrentRetries(Budget(100.0, 3), 50), 50u);
  EXPECT_EQ(MaxConcurrentRetries(Budget(100.0, 3), 2), 3u);
}

TEST(RetryBudgetTest, ClusterLimitFollowsItsOutstandingRequests) {
  config::Cluster c;
  c.name = "budget";
  c.circuit_breakers = Budget(50.0, 1);
  ClusterInfo info(c);
  EXPECT_EQ(info.RetryLimit(), 1u);
  info.resources().requests.store(10);
  EXPECT_EQ(info.RetryLimit(), 5u);
  info.resources().requests.store(3);
  EXPECT_EQ(info.RetryLimit(), 1u);
}

}  // namespace
}  // namespace pilotfish::upstream
