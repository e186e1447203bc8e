// One libuv loop and the lifetime machinery around it: deferred delete, cross-thread posts,
// timers and a time source that tests can replace.
#pragma once

#include <uv.h>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "proxy/event/timer_queue.h"

namespace pilotfish::event {

using MonotonicTime = std::chrono::steady_clock::time_point;

// The seam for time: logic asks this, never the wall clock directly.
class TimeSource {
 public:
  virtual ~TimeSource() = default;
  virtual MonotonicTime Now() const = 0;
  virtual std::chrono::system_clock::time_point SystemNow() const = 0;
};
TimeSource& RealTimeSource();

// Objects that may be finished inside their own callbacks are handed here and destroyed in the
// loop's check phase, after the current callback stack has unwound.
class DeferredDeletable {
 public:
  virtual ~DeferredDeletable() = default;
};

// Something with output to write at the end of the current loop iteration (a connection).
class Flushable {
 public:
  virtual void Flush() = 0;

 protected:
  ~Flushable() = default;

 private:
  friend class Dispatcher;
  bool flush_scheduled_ = false;
};

class Dispatcher {
 public:
  explicit Dispatcher(std::string name, TimeSource& time = RealTimeSource());
  ~Dispatcher();  // closes every handle it owns and the loop (uv_loop_close must succeed)
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  uv_loop_t* loop() { return &loop_; }
  const std::string& name() const { return name_; }
  TimeSource& time() { return time_; }
  // The loop's cached clock (ms), refreshed once per iteration: free to read on the data path,
  // and the clock libuv timers run on.
  uint64_t LoopNowMs() const { return uv_now(&loop_); }

  // Thread-safe. Runs `cb` on this dispatcher's thread; posts coalesce into one wake-up.
  void Post(std::function<void()> cb);
  // Destroys `obj` later, on this thread, after the current callbacks return.
  void DeferredDelete(std::unique_ptr<DeferredDeletable> obj);
  // Calls f->Flush() once at the end of this loop iteration (before deferred deletes), however
  // many times it is scheduled. CancelFlush before `f` goes away.
  void ScheduleFlush(Flushable* f);
  void CancelFlush(Flushable* f);

  // The queue for timers of `delay` (see timer_queue.h), made on first use; nullptr once
  // kMaxTimerQueues distinct delays have one (the caller then uses a plain Timer).
  TimerQueue* TimerQueueFor(std::chrono::milliseconds delay);
  static constexpr size_t kMaxTimerQueues = 16;

  // Runs until Exit(). Records the running thread for IsThreadSafe().
  void Run();
  // Thread-safe: stops Run() after the current iteration.
  void Exit();
  bool IsThreadSafe() const { return std::this_thread::get_id() == thread_id_; }

  // Closes `handle` and frees it with `delete` once libuv is done with it.
  template <typename UvHandle>
  static void CloseAndDelete(UvHandle* handle) {
    handle->data = nullptr;
    if (uv_is_closing(reinterpret_cast<uv_handle_t*>(handle))) return;
    uv_close(reinterpret_cast<uv_handle_t*>(handle),
             [](uv_handle_t* h) { delete reinterpret_cast<UvHandle*>(h); });
  }

 private:
  friend class Timer;
  // Timer handles are recycled: a request makes and drops a few timers, and a spare handle
  // saves a malloc, a uv_close and its close callback each time.
  uv_timer_t* AcquireTimerHandle();
  void ReleaseTimerHandle(uv_timer_t* handle);
  static constexpr size_t kMaxSpareTimers = 256;

  static void OnAsync(uv_async_t* handle);
  static void OnCheck(uv_check_t* handle);
  void RunPosted();
  void RunFlushes();
  void ClearDeferred();
  void StartIdle();
  void StopIdleIfDone();  // once nothing is left to flush or delete

  std::string name_;
  TimeSource& time_;
  uv_loop_t loop_;
  uv_async_t* async_;  // heap: closed before the loop
  uv_check_t* check_;
  // Active while flushes or deferred deletes are pending, so the loop does not block in poll
  // before its check phase runs them. (Not the async handle: waking through it costs an
  // eventfd write and read per loop iteration.)
  uv_idle_t* idle_;
  std::mutex post_mu_;
  std::vector<std::function<void()>> posted_;
  std::vector<std::unique_ptr<DeferredDeletable>> deferred_;
  std::vector<Flushable*> to_flush_;
  std::vector<std::unique_ptr<TimerQueue>> timer_queues_;
  std::vector<uv_timer_t*> spare_timers_;  // stopped, initialized, data == nullptr
  bool keep_spare_timers_ = true;          // false once the destructor has closed them
  std::thread::id thread_id_;
  bool exiting_ = false;
};

// A one-shot timer. Destroying it cancels it, also from inside its own callback; its handle goes
// back to the dispatcher (which must outlive it) for the next timer.
class Timer {
 public:
  Timer(Dispatcher& dispatcher, std::function<void()> cb);
  ~Timer();
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  void Enable(std::chrono::milliseconds delay);
  void Disable();
  bool Enabled() const;

 private:
  static void OnTimer(uv_timer_t* handle);
  Dispatcher& dispatcher_;
  uv_timer_t* handle_;
  std::function<void()> cb_;
};
using TimerPtr = std::unique_ptr<Timer>;

}  // namespace pilotfish::event
