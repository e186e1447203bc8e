// Something that watches streams and connections end to end without touching their bytes: the
// Istio stats filter (request metrics). Access loggers are the other watcher, kept apart because
// they have their own filters and files.
#pragma once

#include <memory>
#include <vector>

#include "proxy/access_log/log_context.h"

namespace pilotfish::access_log {

class StreamObserver {
 public:
  virtual ~StreamObserver() = default;
  // A TCP session reached its upstream (ctx.info.upstream_cluster is set). Worker thread.
  virtual void OnConnectionOpen(const LogContext& ctx) const { (void)ctx; }
  // An HTTP stream or a TCP session ended (complete or reset), once. Worker thread; no I/O.
  virtual void OnStreamComplete(const LogContext& ctx) const = 0;
};
using StreamObserverSharedPtr = std::shared_ptr<const StreamObserver>;
using StreamObserverList = std::vector<StreamObserverSharedPtr>;

}  // namespace pilotfish::access_log
