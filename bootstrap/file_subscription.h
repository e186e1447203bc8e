// Filesystem xDS (`path_config_source`): a DiscoveryResponse file (YAML/JSON) re-read whenever
// it changes (Envoy's examples replace it with `mv`), applied with state-of-the-world rules; a
// file that does not parse or validate is reported and the last good config kept.
#pragma once

#include <uv.h>

#include <set>
#include <string>

#include "proxy/event/dispatcher.h"
#include "xds/client/ads_client.h"

namespace pilotfish::bootstrap {

class FileSubscription {
 public:
  FileSubscription(event::Dispatcher& dispatcher, std::string path, std::string type_url,
                   xds::XdsSink& sink);
  ~FileSubscription();

  void Start();  // loads now, then on every change
  bool applied() const { return applied_; }
  const xds::SubscriptionStats& stats() const { return stats_; }

 private:
  static void OnFsEvent(uv_fs_event_t* handle, const char* filename, int events, int status);
  void Reload();

  event::Dispatcher& dispatcher_;
  const std::string path_;
  const std::string type_url_;
  xds::XdsSink& sink_;
  uv_fs_event_t* watch_ = nullptr;
  event::TimerPtr debounce_;  // editors write in bursts: reload once they settle
  std::set<std::string> known_;
  std::string last_content_;
  bool applied_ = false;
  xds::SubscriptionStats stats_;
};

}  // namespace pilotfish::bootstrap
