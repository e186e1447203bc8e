// Timers of one fixed delay, kept in a queue instead of libuv's heap.
//
// Timers that all run the same delay expire in the order they were armed, so a FIFO list with
// one libuv timer armed for its oldest entry does the heap's job with O(1) arming and
// cancelling. The router's route timeout (one per request, nearly always the route's
// configured value) is the user: a libuv heap insert and removal per request cost about 400
// instructions. A dispatcher keeps at most kMaxTimerQueues queues (one per distinct delay);
// a QueuedTimer whose delay finds no queue falls back to a plain Timer.
#pragma once

#include <uv.h>

#include <chrono>
#include <cstdint>
#include <memory>

namespace pilotfish::event {

class Dispatcher;
class Timer;
class TimerQueue;

// A one-shot timer like Timer, for delays that repeat. Destroying it cancels it, also from
// inside its own callback. The dispatcher it is enabled on must outlive it.
class QueuedTimer {
 public:
  using Callback = void (*)(void* arg);
  QueuedTimer(Callback cb, void* arg);
  ~QueuedTimer();
  QueuedTimer(const QueuedTimer&) = delete;
  QueuedTimer& operator=(const QueuedTimer&) = delete;

  // Arms the timer `delay` from `dispatcher`'s loop time (re-arming an armed one).
  void Enable(Dispatcher& dispatcher, std::chrono::milliseconds delay);
  void Disable();
  bool Enabled() const;

 private:
  friend class TimerQueue;
  Callback cb_;
  void* arg_;
  // Queued: the links and the expiry (loop ms) in queue_'s list.
  TimerQueue* queue_ = nullptr;
  QueuedTimer* prev_ = nullptr;
  QueuedTimer* next_ = nullptr;
  uint64_t deadline_ms_ = 0;
  std::unique_ptr<Timer> fallback_;  // used when the dispatcher had no queue for the delay
};

class TimerQueue {
 public:
  TimerQueue(Dispatcher& dispatcher, std::chrono::milliseconds delay);
  ~TimerQueue();  // detaches every queued timer (they read as disabled) and closes its handle
  TimerQueue(const TimerQueue&) = delete;
  TimerQueue& operator=(const TimerQueue&) = delete;

  std::chrono::milliseconds delay() const { return delay_; }
  void Push(QueuedTimer& t);    // t must not be queued
  void Unlink(QueuedTimer& t);  // t must be queued here

 private:
  static void OnTimer(uv_timer_t* handle);
  void Expire();

  Dispatcher& dispatcher_;
  const std::chrono::milliseconds delay_;
  uv_timer_t* handle_;  // heap: closed before the loop; armed for head_ while the list is not empty
  QueuedTimer* head_ = nullptr;
  QueuedTimer* tail_ = nullptr;
};

}  // namespace pilotfish::event
