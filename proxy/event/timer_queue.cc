// TimerQueue / QueuedTimer: fixed-delay timers in FIFO lists, one libuv timer per list.
#include "proxy/event/timer_queue.h"

#include "proxy/event/dispatcher.h"

namespace pilotfish::event {

QueuedTimer::QueuedTimer(Callback cb, void* arg) : cb_(cb), arg_(arg) {}

QueuedTimer::~QueuedTimer() { Disable(); }

void QueuedTimer::Enable(Dispatcher& dispatcher, std::chrono::milliseconds delay) {
  Disable();
  if (TimerQueue* q = dispatcher.TimerQueueFor(delay); q != nullptr) {
    q->Push(*this);
    return;
  }
  if (fallback_ == nullptr) {  // kept for this timer's life: it is always the same dispatcher
    fallback_ = std::make_unique<Timer>(dispatcher, [this] { cb_(arg_); });
  }
  fallback_->Enable(delay);
}

void QueuedTimer::Disable() {
  if (queue_ != nullptr) queue_->Unlink(*this);
  if (fallback_ != nullptr) fallback_->Disable();
}

bool QueuedTimer::Enabled() const {
  return queue_ != nullptr || (fallback_ != nullptr && fallback_->Enabled());
}

TimerQueue::TimerQueue(Dispatcher& dispatcher, std::chrono::milliseconds delay)
    : dispatcher_(dispatcher), delay_(delay), handle_(new uv_timer_t) {
  uv_timer_init(dispatcher.loop(), handle_);
  handle_->data = this;
}

TimerQueue::~TimerQueue() {
  for (QueuedTimer* t = head_; t != nullptr;) {
    QueuedTimer* next = t->next_;
    t->queue_ = nullptr;
    t->prev_ = t->next_ = nullptr;
    t = next;
  }
  head_ = tail_ = nullptr;
  Dispatcher::CloseAndDelete(handle_);
}

void TimerQueue::Push(QueuedTimer& t) {
  // The loop clock never goes back and the delay is fixed: the list stays ordered by expiry.
  t.deadline_ms_ = dispatcher_.LoopNowMs() + static_cast<uint64_t>(delay_.count());
  t.queue_ = this;
  t.prev_ = tail_;
  t.next_ = nullptr;
  if (tail_ != nullptr) {
    tail_->next_ = &t;
  } else {
    head_ = &t;
    uv_timer_start(handle_, &TimerQueue::OnTimer, static_cast<uint64_t>(delay_.count()), 0);
  }
  tail_ = &t;
}

void TimerQueue::Unlink(QueuedTimer& t) {
  (t.prev_ != nullptr ? t.prev_->next_ : head_) = t.next_;
  (t.next_ != nullptr ? t.next_->prev_ : tail_) = t.prev_;
  t.prev_ = t.next_ = nullptr;
  t.queue_ = nullptr;
  // The handle stays armed for a removed head (Expire re-arms for the next); only an empty
  // list stops it, so an idle queue never keeps the loop alive.
  if (head_ == nullptr) uv_timer_stop(handle_);
}

void TimerQueue::OnTimer(uv_timer_t* handle) {
  auto* self = static_cast<TimerQueue*>(handle->data);
  if (self != nullptr) self->Expire();
}

void TimerQueue::Expire() {
  const uint64_t now = dispatcher_.LoopNowMs();
  // Unlinked before its callback runs, which may cancel, re-arm or destroy any timer.
  while (head_ != nullptr && head_->deadline_ms_ <= now) {
    QueuedTimer* t = head_;
    Unlink(*t);
    t->cb_(t->arg_);
  }
  if (head_ != nullptr) {
    uv_timer_start(handle_, &TimerQueue::OnTimer, head_->deadline_ms_ - now, 0);
  }
}

}  // namespace pilotfish::event
