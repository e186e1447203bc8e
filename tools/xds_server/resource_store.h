// The xDS server's resources: every Envoy DiscoveryResponse-shaped file of a directory, grouped
// by type URL and keyed by name, with versions; reloaded when the directory changes.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/any.pb.h"

namespace pilotfish::xds_server {

// Where the server's log lines go (one line, no newline). Must be thread-safe.
using LogFn = std::function<void(const std::string& line)>;

// Writes each line to stdout and flushes it at once, so tests can follow the log.
LogFn StdoutLog();

// "type.googleapis.com/envoy.config.listener.v3.Listener" -> "envoy.config.listener.v3.Listener".
absl::string_view ShortType(absl::string_view type_url);

struct Resource {
  std::string name;
  std::string version;  // hex hash of the serialized resource: the same bytes, the same version
  google::protobuf::Any any;
};

struct TypeResources {
  uint64_t version = 0;                       // +1 each time a resource of the type changes
  std::map<std::string, Resource> resources;  // by name
};

// Type URL -> its resources. A type once loaded stays (empty) when its files go away, so its
// version keeps counting and clients see the removal.
using Snapshot = std::map<std::string, TypeResources, std::less<>>;
using SnapshotPtr = std::shared_ptr<const Snapshot>;

struct ReloadResult {
  absl::Status status;                     // not OK: the previous snapshot is kept
  std::string file;                        // the file that failed (or the directory)
  std::vector<std::string> changed_types;  // type URLs whose resources changed
};

class ResourceStore {
 public:
  using Listener = std::function<void(const std::vector<std::string>& changed_types)>;

  ResourceStore(std::string dir, LogFn log);
  ~ResourceStore();

  // Re-reads every *.yaml, *.yml and *.json file of the directory (not recursive, sorted by
  // name, dot-files skipped). On success publishes the new snapshot and calls the listeners
  // with the changed types (if any); on failure keeps the previous one. Logs a RELOAD line.
  ReloadResult Reload();

  // Reloads if a file was added, removed, replaced or modified since the last Reload.
  void ReloadIfChanged();

  // Polls the directory every `interval` on a thread of its own until StopWatching().
  void StartWatching(std::chrono::milliseconds interval);
  void StopWatching();

  SnapshotPtr snapshot() const;

  // Listeners run on the reloading thread, after the snapshot is published. RemoveListener
  // waits for a call in progress.
  int AddListener(Listener listener);
  void RemoveListener(int id);

 private:
  std::string Signature(std::vector<std::string>* files, std::string* error) const;

  const std::string dir_;
  const LogFn log_;

  std::mutex reload_mu_;  // one reload at a time
  std::string signature_;

  mutable std::mutex mu_;
  SnapshotPtr snapshot_;

  std::mutex listeners_mu_;
  std::map<int, Listener> listeners_;
  int next_listener_id_ = 1;

  std::mutex watch_mu_;
  std::condition_variable watch_cv_;
  bool watch_stop_ = false;
  std::thread watcher_;
};

}  // namespace pilotfish::xds_server
