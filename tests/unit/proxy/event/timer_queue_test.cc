// TimerQueue / QueuedTimer on a real loop: order, cancelling, re-arming, callbacks that change
// other timers, the loop not kept alive by an empty queue, and the fallback past the limit.
#include "proxy/event/timer_queue.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "proxy/event/dispatcher.h"

namespace pilotfish::event {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// A QueuedTimer running a std::function (the tests' convenience; the router uses a plain
// function pointer).
struct Fn {
  explicit Fn(std::function<void()> f) : fn(std::move(f)) {}
  std::function<void()> fn;
  QueuedTimer timer{[](void* self) { static_cast<Fn*>(self)->fn(); }, this};
};

TEST(TimerQueueTest, TimersOfOneDelayFireInTheOrderArmedAfterTheirDelay) {
  Dispatcher d("test");
  std::vector<std::string> fired;
  const auto start = steady_clock::now();
  Fn a([&] { fired.push_back("a"); });
  Fn b([&] { fired.push_back("b"); });
  Fn c([&] {
    fired.push_back("c");
    d.Exit();
  });
  Timer arm_later(d, [&] { c.timer.Enable(d, milliseconds(30)); });
  a.timer.Enable(d, milliseconds(30));
  b.timer.Enable(d, milliseconds(30));
  arm_later.Enable(milliseconds(10));
  EXPECT_TRUE(a.timer.Enabled());
  d.Run();
  EXPECT_EQ(fired, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_GE(steady_clock::now() - start, milliseconds(39));  // c: 10 ms, then its 30 ms
  EXPECT_FALSE(a.timer.Enabled());
}

TEST(TimerQueueTest, CancelledAndReArmedTimers) {
  Dispatcher d("test");
  std::vector<std::string> fired;
  Fn head([&] { fired.push_back("head"); });  // cancelled: the queue's handle was armed for it
  Fn middle([&] { fired.push_back("middle"); });
  Fn rearmed([&] { fired.push_back("rearmed"); });
  Fn last([&] {
    fired.push_back("last");
    d.Exit();
  });
  head.timer.Enable(d, milliseconds(20));
  rearmed.timer.Enable(d, milliseconds(20));
  middle.timer.Enable(d, milliseconds(20));
  Timer later(d, [&] {
    head.timer.Disable();
    rearmed.timer.Enable(d, milliseconds(20));  // now after middle
    last.timer.Enable(d, milliseconds(20));
  });
  later.Enable(milliseconds(5));
  d.Run();
  EXPECT_EQ(fired, (std::vector<std::string>{"middle", "rearmed", "last"}));
}

// A callback may cancel, re-arm or destroy other queued timers, and destroy its own.
TEST(TimerQueueTest, CallbacksMayChangeOtherTimersAndDestroyTheirOwn) {
  Dispatcher d("test");
  std::vector<std::string> fired;
  auto victim = std::make_unique<Fn>([&] { fired.push_back("victim"); });
  std::unique_ptr<Fn> self_destroying;
  Fn cancelled([&] { fired.push_back("cancelled"); });
  Fn again([&] {
    fired.push_back("again");
    d.Exit();
  });
  self_destroying = std::make_unique<Fn>([&] {
    fired.push_back("first");
    victim.reset();                           // queued after it: destroyed, never fires
    cancelled.timer.Disable();                // queued after it: cancelled
    again.timer.Enable(d, milliseconds(15));  // same queue, armed from inside a callback
    self_destroying.reset();
  });
  self_destroying->timer.Enable(d, milliseconds(15));
  victim->timer.Enable(d, milliseconds(15));
  cancelled.timer.Enable(d, milliseconds(15));
  d.Run();
  EXPECT_EQ(fired, (std::vector<std::string>{"first", "again"}));
}

// An emptied queue stops its handle: with nothing else alive the loop returns at once.
TEST(TimerQueueTest, AnEmptyQueueDoesNotKeepTheLoopAlive) {
  Dispatcher d("test");
  Fn t([] { ADD_FAILURE() << "cancelled timer fired"; });
  t.timer.Enable(d, milliseconds(10000));
  t.timer.Disable();
  const auto start = steady_clock::now();
  uv_run(d.loop(), UV_RUN_DEFAULT);  // not Run(), which keeps the loop alive until Exit()
  EXPECT_LT(steady_clock::now() - start, milliseconds(1000));
}

// Past kMaxTimerQueues distinct delays a timer falls back to a plain Timer and still fires.
TEST(TimerQueueTest, DelaysBeyondTheQueueLimitUseAPlainTimer) {
  Dispatcher d("test");
  for (size_t i = 0; i < Dispatcher::kMaxTimerQueues; ++i) {
    EXPECT_NE(d.TimerQueueFor(milliseconds(100000 + i)), nullptr);
  }
  EXPECT_EQ(d.TimerQueueFor(milliseconds(20)), nullptr);
  EXPECT_NE(d.TimerQueueFor(milliseconds(100000)), nullptr);  // existing delays still have one
  int fired = 0;
  Fn t([&] {
    ++fired;
    d.Exit();
  });
  t.timer.Enable(d, milliseconds(20));
  EXPECT_TRUE(t.timer.Enabled());
  d.Run();
  EXPECT_EQ(fired, 1);
  EXPECT_FALSE(t.timer.Enabled());
}

// Timers still queued when the dispatcher goes first read as disabled and destroy cleanly.
TEST(TimerQueueTest, TimersOutlivingTheDispatcherAreDetached) {
  auto d = std::make_unique<Dispatcher>("test");
  Fn t([] { ADD_FAILURE() << "fired after its dispatcher went"; });
  t.timer.Enable(*d, milliseconds(10000));
  d.reset();
  EXPECT_FALSE(t.timer.Enabled());
}

}  // namespace
}  // namespace pilotfish::event
