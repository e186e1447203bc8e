// Access log files and loggers; see access_logs.h.
#include "bootstrap/access_logs.h"

namespace pilotfish::bootstrap {

access_log::FileManager& AccessLogFiles() {
  static access_log::FileManager* files = new access_log::FileManager();
  return *files;
}

void PublishAccessLogStats(stats::Store& store) {
  struct Counters {
    stats::Counter flushed_by_timer, reopen_failed, write_buffered, write_completed, write_failed,
        write_dropped;
    access_log::FileStats published;  // what the counters already hold
  };
  auto c = std::make_shared<Counters>();
  stats::Scope scope = store.CreateScope("access_log_file.");
  c->flushed_by_timer = scope.CounterFor("flushed_by_timer");
  c->reopen_failed = scope.CounterFor("reopen_failed");
  c->write_buffered = scope.CounterFor("write_buffered");
  c->write_completed = scope.CounterFor("write_completed");
  c->write_failed = scope.CounterFor("write_failed");
  c->write_dropped = scope.CounterFor("write_dropped");
  stats::Gauge total_buffered = scope.GaugeFor("write_total_buffered");
  // On the reading thread: counters grow by what happened since the last read.
  store.AddRefresher([&store, c, total_buffered] {
    const access_log::FileStats now = AccessLogFiles().stats();
    access_log::FileStats& was = c->published;
    auto add = [&store](stats::Counter counter, uint64_t now_value, uint64_t* was_value) {
      if (now_value > *was_value) store.Inc(counter, now_value - *was_value);
      *was_value = now_value;
    };
    add(c->flushed_by_timer, now.flushed_by_timer, &was.flushed_by_timer);
    add(c->reopen_failed, now.reopen_failed, &was.reopen_failed);
    add(c->write_buffered, now.write_buffered, &was.write_buffered);
    add(c->write_completed, now.write_completed, &was.write_completed);
    add(c->write_failed, now.write_failed, &was.write_failed);
    add(c->write_dropped, now.write_dropped, &was.write_dropped);
    if (now.write_buffered != 0) total_buffered.Set(now.write_total_buffered);  // once used
  });
}

absl::StatusOr<access_log::AccessLoggerList> BuildAccessLoggers(
    const std::vector<config::AccessLog>& logs, const std::string& path) {
  access_log::AccessLoggerList out;
  for (size_t i = 0; i < logs.size(); ++i) {
    auto logger = access_log::AccessLogger::Create(logs[i], AccessLogFiles());
    if (!logger.ok()) {
      return absl::InvalidArgumentError(path + "[" + std::to_string(i) +
                                        "]: " + std::string(logger.status().message()));
    }
    out.push_back(*std::move(logger));
  }
  return out;
}

}  // namespace pilotfish::bootstrap
