// Dispatcher: a libuv loop with deferred delete (check phase) and a coalescing post queue.
#include "proxy/event/dispatcher.h"

#include <cstdio>
#include <cstdlib>

namespace pilotfish::event {
namespace {
class RealTime : public TimeSource {
 public:
  MonotonicTime Now() const override { return std::chrono::steady_clock::now(); }
  std::chrono::system_clock::time_point SystemNow() const override {
    return std::chrono::system_clock::now();
  }
};
}  // namespace

TimeSource& RealTimeSource() {
  static RealTime* real = new RealTime();
  return *real;
}

Dispatcher::Dispatcher(std::string name, TimeSource& time)
    : name_(std::move(name)), time_(time), thread_id_(std::this_thread::get_id()) {
  if (uv_loop_init(&loop_) != 0) abort();
  async_ = new uv_async_t;
  uv_async_init(&loop_, async_, &Dispatcher::OnAsync);
  async_->data = this;
  check_ = new uv_check_t;
  uv_check_init(&loop_, check_);
  check_->data = this;
  uv_check_start(check_, &Dispatcher::OnCheck);
  idle_ = new uv_idle_t;
  uv_idle_init(&loop_, idle_);
  idle_->data = this;
  // Internal handles must not keep the loop alive on their own.
  uv_unref(reinterpret_cast<uv_handle_t*>(async_));
  uv_unref(reinterpret_cast<uv_handle_t*>(check_));
}

Dispatcher::~Dispatcher() {
  RunPosted();
  RunFlushes();
  ClearDeferred();
  to_flush_.clear();
  timer_queues_.clear();       // detaches timers still queued; closes the handles
  keep_spare_timers_ = false;  // timers destroyed from here on close their handles
  for (uv_timer_t* h : spare_timers_) CloseAndDelete(h);
  spare_timers_.clear();
  CloseAndDelete(async_);
  CloseAndDelete(check_);
  uv_idle_stop(idle_);
  CloseAndDelete(idle_);
  // Let close callbacks (ours and those of objects destroyed above) run.
  for (int i = 0; i < 8 && uv_loop_alive(&loop_); ++i) uv_run(&loop_, UV_RUN_NOWAIT);
  RunPosted();
  ClearDeferred();
  uv_run(&loop_, UV_RUN_NOWAIT);
  int rc = uv_loop_close(&loop_);
  if (rc != 0) {
    fprintf(stderr, "dispatcher %s: loop closed with live handles:\n", name_.c_str());
    uv_print_all_handles(&loop_, stderr);
#ifndef NDEBUG
    abort();
#endif
  }
}

void Dispatcher::Post(std::function<void()> cb) {
  bool wake;
  {
    std::lock_guard<std::mutex> lock(post_mu_);
    wake = posted_.empty();
    posted_.push_back(std::move(cb));
  }
  if (wake) uv_async_send(async_);
}

void Dispatcher::DeferredDelete(std::unique_ptr<DeferredDeletable> obj) {
  // The loop must reach its check phase even if nothing else is pending.
  if (deferred_.empty()) StartIdle();
  deferred_.push_back(std::move(obj));
}

void Dispatcher::ScheduleFlush(Flushable* f) {
  if (f->flush_scheduled_) return;
  f->flush_scheduled_ = true;
  if (to_flush_.empty()) StartIdle();
  to_flush_.push_back(f);
}

void Dispatcher::CancelFlush(Flushable* f) {
  if (!f->flush_scheduled_) return;
  f->flush_scheduled_ = false;
  std::erase(to_flush_, f);
  StopIdleIfDone();
}

void Dispatcher::StartIdle() {
  uv_idle_start(idle_, [](uv_idle_t*) {});
}

void Dispatcher::StopIdleIfDone() {
  if (to_flush_.empty() && deferred_.empty()) uv_idle_stop(idle_);
}

void Dispatcher::RunFlushes() {
  // One at a time from the live list: a flush may cancel (destroy) another pending one.
  while (!to_flush_.empty()) {
    Flushable* f = to_flush_.back();
    to_flush_.pop_back();
    f->flush_scheduled_ = false;
    f->Flush();
  }
}

void Dispatcher::Run() {
  thread_id_ = std::this_thread::get_id();
  exiting_ = false;
  // The async handle keeps the loop alive while running so posts are served.
  uv_ref(reinterpret_cast<uv_handle_t*>(async_));
  while (!exiting_) {
    uv_run(&loop_, UV_RUN_DEFAULT);
    // uv_run returns when uv_stop was called or nothing is alive.
    if (!uv_loop_alive(&loop_)) break;
  }
  uv_unref(reinterpret_cast<uv_handle_t*>(async_));
  RunPosted();
  RunFlushes();
  ClearDeferred();
}

void Dispatcher::Exit() {
  Post([this] {
    exiting_ = true;
    uv_stop(&loop_);
  });
}

void Dispatcher::OnAsync(uv_async_t* handle) {
  auto* self = static_cast<Dispatcher*>(handle->data);
  if (self != nullptr) self->RunPosted();
}

void Dispatcher::OnCheck(uv_check_t* handle) {
  auto* self = static_cast<Dispatcher*>(handle->data);
  if (self == nullptr) return;
  self->RunFlushes();
  self->ClearDeferred();
  self->StopIdleIfDone();
}

void Dispatcher::RunPosted() {
  std::vector<std::function<void()>> batch;
  {
    std::lock_guard<std::mutex> lock(post_mu_);
    batch.swap(posted_);
  }
  for (auto& cb : batch) cb();
}

void Dispatcher::ClearDeferred() {
  // Destructors may defer more objects; loop until stable. The emptied batch's buffer becomes
  // the list's again, so steady traffic does not reallocate it every iteration.
  std::vector<std::unique_ptr<DeferredDeletable>> batch;
  while (!deferred_.empty()) {
    batch.swap(deferred_);
    batch.clear();
  }
  if (deferred_.capacity() < batch.capacity()) deferred_.swap(batch);
}

TimerQueue* Dispatcher::TimerQueueFor(std::chrono::milliseconds delay) {
  for (const auto& q : timer_queues_) {
    if (q->delay() == delay) return q.get();
  }
  if (timer_queues_.size() >= kMaxTimerQueues) return nullptr;
  return timer_queues_.emplace_back(std::make_unique<TimerQueue>(*this, delay)).get();
}

uv_timer_t* Dispatcher::AcquireTimerHandle() {
  if (!spare_timers_.empty()) {
    uv_timer_t* h = spare_timers_.back();
    spare_timers_.pop_back();
    return h;
  }
  auto* h = new uv_timer_t;
  uv_timer_init(&loop_, h);
  return h;
}

void Dispatcher::ReleaseTimerHandle(uv_timer_t* handle) {
  uv_timer_stop(handle);
  handle->data = nullptr;
  if (keep_spare_timers_ && spare_timers_.size() < kMaxSpareTimers) {
    spare_timers_.push_back(handle);
  } else {
    CloseAndDelete(handle);
  }
}

Timer::Timer(Dispatcher& dispatcher, std::function<void()> cb)
    : dispatcher_(dispatcher), handle_(dispatcher.AcquireTimerHandle()), cb_(std::move(cb)) {
  handle_->data = this;
}

Timer::~Timer() { dispatcher_.ReleaseTimerHandle(handle_); }

void Timer::Enable(std::chrono::milliseconds delay) {
  uv_timer_start(handle_, &Timer::OnTimer, static_cast<uint64_t>(delay.count()), 0);
}

void Timer::Disable() { uv_timer_stop(handle_); }

bool Timer::Enabled() const {
  return uv_is_active(reinterpret_cast<const uv_handle_t*>(handle_)) != 0;
}

void Timer::OnTimer(uv_timer_t* handle) {
  auto* self = static_cast<Timer*>(handle->data);
  if (self == nullptr) return;
  // The callback may destroy this timer (an owner resetting it, or finishing, from inside it):
  // run a copy, so the closure being run is not the one freed.
  std::function<void()> cb = self->cb_;
  cb();
}

}  // namespace pilotfish::event
