// Dispatcher: deferred delete, end-of-iteration flushes and cross-thread posts, on a real loop.
#include "proxy/event/dispatcher.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

namespace pilotfish::event {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// Runs its callback when destroyed.
class OnDestroy : public DeferredDeletable {
 public:
  explicit OnDestroy(std::function<void()> cb) : cb_(std::move(cb)) {}
  ~OnDestroy() override { cb_(); }

 private:
  std::function<void()> cb_;
};

class CountingFlush : public Flushable {
 public:
  void Flush() override { ++flushes; }
  int flushes = 0;
};

// Counts loop iterations: a loop that spins instead of blocking in poll runs millions.
class IterationCounter {
 public:
  explicit IterationCounter(Dispatcher& d) : handle_(new uv_prepare_t) {
    uv_prepare_init(d.loop(), handle_);
    handle_->data = this;
    uv_prepare_start(handle_,
                     [](uv_prepare_t* h) { ++static_cast<IterationCounter*>(h->data)->n; });
    uv_unref(reinterpret_cast<uv_handle_t*>(handle_));
  }
  ~IterationCounter() { Dispatcher::CloseAndDelete(handle_); }
  uint64_t n = 0;

 private:
  uv_prepare_t* handle_;
};

// A loop kept alive (and blocked in poll) by a far timer that fails the test if it fires.
struct BlockedLoop {
  Dispatcher d{"test"};
  Timer guard{d, [this] {
                ADD_FAILURE() << "the loop blocked until the guard timer";
                d.Exit();
              }};
  BlockedLoop() { guard.Enable(milliseconds(10000)); }
};

TEST(DispatcherTest, DeferredDeleteRunsAfterTheCallbackWithoutWaitingForEvents) {
  BlockedLoop loop;
  bool deleted = false;
  bool deleted_inside_callback = true;
  Timer start(loop.d, [&] {
    loop.d.DeferredDelete(std::make_unique<OnDestroy>([&] {
      deleted = true;
      loop.d.Exit();
    }));
    deleted_inside_callback = deleted;
  });
  start.Enable(milliseconds(0));
  const auto t0 = steady_clock::now();
  loop.d.Run();
  EXPECT_TRUE(deleted);
  EXPECT_FALSE(deleted_inside_callback);
  EXPECT_LT(steady_clock::now() - t0, milliseconds(5000));
}

// A close callback runs after the check phase: the object it defers must still go without the
// loop blocking in poll first.
TEST(DispatcherTest, DeferredDeleteFromACloseCallbackDoesNotBlock) {
  BlockedLoop loop;
  bool deleted = false;
  struct Ctx {
    Dispatcher* d;
    bool* deleted;
  } ctx{&loop.d, &deleted};
  Timer start(loop.d, [&] {
    auto* h = new uv_timer_t;
    uv_timer_init(loop.d.loop(), h);
    h->data = &ctx;
    uv_close(reinterpret_cast<uv_handle_t*>(h), [](uv_handle_t* handle) {
      auto* c = static_cast<Ctx*>(handle->data);
      delete reinterpret_cast<uv_timer_t*>(handle);
      Dispatcher* d = c->d;
      bool* flag = c->deleted;
      d->DeferredDelete(std::make_unique<OnDestroy>([d, flag] {
        *flag = true;
        d->Exit();
      }));
    });
  });
  start.Enable(milliseconds(0));
  loop.d.Run();
  EXPECT_TRUE(deleted);
}

TEST(DispatcherTest, DestructorThatDefersMoreIsDrainedInTheSamePass) {
  BlockedLoop loop;
  std::vector<int> order;
  Timer start(loop.d, [&] {
    loop.d.DeferredDelete(std::make_unique<OnDestroy>([&] {
      order.push_back(1);
      loop.d.DeferredDelete(std::make_unique<OnDestroy>([&] {
        order.push_back(2);
        loop.d.Exit();
      }));
    }));
  });
  start.Enable(milliseconds(0));
  loop.d.Run();
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
}

TEST(DispatcherTest, FlushRunsOnceBeforeDeferredDeletes) {
  BlockedLoop loop;
  CountingFlush f;
  int flushes_when_deleted = -1;
  Timer start(loop.d, [&] {
    loop.d.ScheduleFlush(&f);
    loop.d.ScheduleFlush(&f);
    loop.d.ScheduleFlush(&f);
    loop.d.DeferredDelete(std::make_unique<OnDestroy>([&] {
      flushes_when_deleted = f.flushes;
      loop.d.Exit();
    }));
    EXPECT_EQ(f.flushes, 0);
  });
  start.Enable(milliseconds(0));
  loop.d.Run();
  EXPECT_EQ(f.flushes, 1);
  EXPECT_EQ(flushes_when_deleted, 1);
}

TEST(DispatcherTest, CancelledFlushDoesNotRun) {
  BlockedLoop loop;
  CountingFlush kept, cancelled;
  Timer start(loop.d, [&] {
    loop.d.ScheduleFlush(&cancelled);
    loop.d.ScheduleFlush(&kept);
    loop.d.CancelFlush(&cancelled);
    loop.d.DeferredDelete(std::make_unique<OnDestroy>([&] { loop.d.Exit(); }));
  });
  start.Enable(milliseconds(0));
  loop.d.Run();
  EXPECT_EQ(kept.flushes, 1);
  EXPECT_EQ(cancelled.flushes, 0);
}

// Once nothing is pending the loop goes back to blocking in poll: it must not keep spinning.
TEST(DispatcherTest, LoopStopsSpinningOnceNothingIsPending) {
  BlockedLoop loop;
  IterationCounter iterations(loop.d);
  CountingFlush f;
  uint64_t at_quiet = 0;
  Timer stop(loop.d, [&] { loop.d.Exit(); });
  Timer start(loop.d, [&] {
    loop.d.ScheduleFlush(&f);
    loop.d.DeferredDelete(std::make_unique<OnDestroy>([&] {
      at_quiet = iterations.n;
      stop.Enable(milliseconds(300));
    }));
  });
  start.Enable(milliseconds(0));
  loop.d.Run();
  EXPECT_EQ(f.flushes, 1);
  // Blocked in poll for 300 ms: a handful of iterations, not the millions of a spinning loop.
  EXPECT_LT(iterations.n - at_quiet, 20u);
}

TEST(DispatcherTest, PostFromAnotherThreadRunsOnTheLoopThread) {
  BlockedLoop loop;
  std::atomic<bool> ran_on_loop{false};
  std::thread poster([&] {
    loop.d.Post([&] {
      ran_on_loop = loop.d.IsThreadSafe();
      loop.d.Exit();
    });
  });
  loop.d.Run();
  poster.join();
  EXPECT_TRUE(ran_on_loop);
}

}  // namespace
}  // namespace pilotfish::event
