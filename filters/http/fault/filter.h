// The HTTP fault injection filter (envoy.filters.http.fault): delays a request on a timer and/or
// aborts it with a local reply, per its settings or the route's per-filter override.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "filters/http/fault/config.h"
#include "proxy/event/dispatcher.h"
#include "proxy/http/filter.h"

namespace pilotfish::filters::fault {

// State shared by every stream of one fault filter in one HCM config, on every worker.
struct FaultFilterConfig {
  FaultFilterConfig(std::string name, FaultConfigSharedPtr settings)
      : name(std::move(name)), settings(std::move(settings)) {}
  // The filter's name in the HCM chain: routes key their per-filter overrides by it.
  const std::string name;
  const FaultConfigSharedPtr settings;  // filter level; never null
  // Faults in progress across all workers (Envoy's active_faults gauge, which
  // max_active_faults bounds). Touched only by requests that get a fault.
  std::atomic<uint64_t> active_faults{0};
};
using FaultFilterConfigSharedPtr = std::shared_ptr<FaultFilterConfig>;

class FaultFilter : public http::DecoderFilter {
 public:
  explicit FaultFilter(FaultFilterConfigSharedPtr config) : config_(std::move(config)) {}
  ~FaultFilter() override;

  void SetDecoderFilterCallbacks(http::DecoderFilterCallbacks& callbacks) override {
    callbacks_ = &callbacks;
  }
  http::FilterHeadersStatus DecodeHeaders(http::RequestHeaders& headers, bool end_stream) override;
  http::FilterDataStatus DecodeData(std::string_view data, bool end_stream) override {
    return http::FilterDataStatus::kContinue;
  }
  void OnDestroy() override;

 private:
  // The route's override, else the virtual host's, else the filter-level settings.
  const FaultConfig& EffectiveSettings();
  // Counts this stream against max_active_faults (once, however many faults it gets).
  bool TryIncActiveFaults();
  void ReleaseActiveFault();
  bool MaybeAbort(const http::RequestHeaders& headers);
  void OnDelayDone();

  FaultFilterConfigSharedPtr config_;
  http::DecoderFilterCallbacks* callbacks_ = nullptr;
  const FaultConfig* settings_ = nullptr;  // owned by config_ or the stream's route table
  event::TimerPtr delay_timer_;
  bool fault_active_ = false;
};

class FaultFilterFactory : public http::HttpFilterFactory {
 public:
  FaultFilterFactory(std::string name, FaultConfigSharedPtr settings)
      : config_(std::make_shared<FaultFilterConfig>(std::move(name), std::move(settings))) {}
  http::DecoderFilterPtr Create() const override { return std::make_unique<FaultFilter>(config_); }

 private:
  FaultFilterConfigSharedPtr config_;
};

}  // namespace pilotfish::filters::fault
