// A worker thread: its own libuv loop, listener sockets, downstream sessions and upstream pools.
// Everything here is touched only on the worker's thread; the main thread talks to it by Post().
#pragma once

#include <list>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "proxy/event/dispatcher.h"
#include "proxy/server/snapshot.h"
#include "proxy/stats/store.h"
#include "proxy/upstream/cluster_manager.h"

namespace pilotfish::server {

// A downstream connection's owner (an HCM or tcp_proxy session), registered with the worker so
// draining and shutdown can reach it.
class Session : public event::DeferredDeletable {
 public:
  // Finish in-flight work, accept no more (HTTP: "connection: close" on the next response).
  virtual void StartDrain() = 0;
  // Close now (shutdown after the drain time).
  virtual void CloseNow() = 0;

 private:
  friend class Worker;
  std::list<std::unique_ptr<Session>>::iterator pos_;
  std::string listener_name_;  // the listener whose filter chain made it (drained on change)
  bool registered_ = false;
};

class Worker {
 public:
  Worker(int index, uint64_t seed);
  ~Worker();

  int index() const { return index_; }
  event::Dispatcher& dispatcher() { return dispatcher_; }
  upstream::WorkerClusterManager& cluster_manager() { return cluster_manager_; }
  const SnapshotSharedPtr& snapshot() const { return snapshot_; }
  uint64_t Random() { return rng_(); }
  void set_stats(stats::Store* store) { stats_ = store; }  // before Start()
  stats::Store* stats() const { return stats_; }

  // Thread start/stop (called on the main thread).
  void Start();
  void StopAndJoin();

  // --- worker thread only ---
  // Installs a new snapshot. Listeners present in both keep their sockets (unless `listen_fds`
  // brings a new socket for the name: the address changed); `listen_fds` maps listener name ->
  // this worker's bound socket for new listeners. Connections of a listener whose config object
  // changed, or that is gone, start draining; the others are left alone.
  void ApplySnapshot(SnapshotSharedPtr snapshot,
                     std::vector<std::pair<std::string, int>> listen_fds);
  void AddSession(std::unique_ptr<Session> session);
  void RemoveSession(Session* session);  // deferred delete
  // Stop accepting; sessions drain. Then CloseAllSessions() at the end of the drain time.
  void StopListeners();
  void DrainSessions();
  // Admin /drain_listeners: stop accepting on the named listeners only; drain the sessions the
  // named listeners have now (not later ones) while the others carry on.
  void StopListeners(const absl::flat_hash_set<std::string>& names);
  void DrainListeners(const absl::flat_hash_set<std::string>& names);
  void CloseAllSessions();
  bool draining() const { return draining_; }
  // Admin /healthcheck/fail and /healthcheck/ok, posted by the main thread: connections of
  // DEFAULT drain_type listeners drain-close (Connection: close) while it is set.
  void set_health_check_failed(bool failed) { health_check_failed_ = failed; }
  bool health_check_failed() const { return health_check_failed_; }
  size_t session_count() const { return sessions_.size(); }

 private:
  class ActiveListener;
  void OnNewConnection(ActiveListener& listener, net::ConnectionPtr connection);

  int index_;
  event::Dispatcher dispatcher_;
  upstream::WorkerClusterManager cluster_manager_;
  SnapshotSharedPtr snapshot_;
  std::vector<std::unique_ptr<ActiveListener>> listeners_;
  std::list<std::unique_ptr<Session>> sessions_;
  stats::Store* stats_ = nullptr;
  std::string accepting_listener_;  // set while a terminal filter creates its session
  std::mt19937_64 rng_;
  std::thread thread_;
  bool draining_ = false;
  bool health_check_failed_ = false;
};

}  // namespace pilotfish::server
