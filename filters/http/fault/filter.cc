// FaultFilter: Envoy's fault filter flow (match, delay, then abort) on the decoder path.
#include "filters/http/fault/filter.h"

#include "proxy/router/route_table.h"
#include "proxy/server/worker.h"

namespace pilotfish::filters::fault {
namespace {

const FaultConfig* FindOverride(const config::PerFilterConfigMap& configs,
                                const std::string& name) {
  for (const auto& [key, value] : configs) {
    if (key == name) return dynamic_cast<const FaultConfig*>(value.get());
  }
  return nullptr;
}

}  // namespace

FaultFilter::~FaultFilter() { ReleaseActiveFault(); }

const FaultConfig& FaultFilter::EffectiveSettings() {
  if (const router::CompiledRoute* route = callbacks_->route(); route != nullptr) {
    if (const FaultConfig* c =
            FindOverride(route->config().typed_per_filter_config, config_->name)) {
      return *c;
    }
  }
  if (const router::CompiledVirtualHost* vhost = callbacks_->virtual_host();
      vhost != nullptr && vhost->config != nullptr) {
    if (const FaultConfig* c =
            FindOverride(vhost->config->typed_per_filter_config, config_->name)) {
      return *c;
    }
  }
  return *config_->settings;
}

http::FilterHeadersStatus FaultFilter::DecodeHeaders(http::RequestHeaders& headers, bool) {
  settings_ = &EffectiveSettings();
  if (!settings_->delay && !settings_->abort) return http::FilterHeadersStatus::kContinue;
  if (!settings_->Matches(headers, callbacks_->route())) {
    return http::FilterHeadersStatus::kContinue;
  }
  const auto delay = settings_->DelayFor(headers, callbacks_->worker().Random());
  if (delay && TryIncActiveFaults()) {
    delay_timer_ =
        std::make_unique<event::Timer>(callbacks_->dispatcher(), [this] { OnDelayDone(); });
    delay_timer_->Enable(*delay);
    callbacks_->stream_info().SetFlag(http::kDelayInjected);
    return http::FilterHeadersStatus::kStopIteration;
  }
  if (MaybeAbort(headers)) return http::FilterHeadersStatus::kStopIteration;
  return http::FilterHeadersStatus::kContinue;
}

void FaultFilter::OnDelayDone() {
  // A delay can be followed by an abort (drawn now, as Envoy does). The timer is not destroyed
  // here: this runs inside its callback.
  if (!MaybeAbort(callbacks_->request_headers())) callbacks_->ContinueDecoding();
}

bool FaultFilter::MaybeAbort(const http::RequestHeaders& headers) {
  const auto status = settings_->AbortFor(headers, callbacks_->worker().Random());
  if (!status || !TryIncActiveFaults()) return false;
  callbacks_->SendLocalReply(*status, "fault filter abort", http::kFaultInjected,
                             "fault_filter_abort");
  return true;
}

bool FaultFilter::TryIncActiveFaults() {
  if (fault_active_) return true;
  // Unlike Envoy's check-then-increment, the limit is exact across workers.
  uint64_t active = config_->active_faults.load(std::memory_order_relaxed);
  do {
    if (active >= settings_->max_active_faults) return false;
  } while (
      !config_->active_faults.compare_exchange_weak(active, active + 1, std::memory_order_relaxed));
  fault_active_ = true;
  return true;
}

void FaultFilter::ReleaseActiveFault() {
  if (!fault_active_) return;
  fault_active_ = false;
  config_->active_faults.fetch_sub(1, std::memory_order_relaxed);
}

void FaultFilter::OnDestroy() {
  // Disable, not destroy: OnDestroy may run inside the timer's own callback (an abort after the
  // delay completes the stream); the timer goes with the filter.
  if (delay_timer_) delay_timer_->Disable();
  ReleaseActiveFault();
}

}  // namespace pilotfish::filters::fault
