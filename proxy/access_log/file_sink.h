// Access log files. Workers append formatted lines to a per-file buffer (a short lock, no I/O);
// one writer thread flushes every buffer each flush interval (--file-flush-interval-msec), or
// sooner when a buffer passes the minimum flush size (--file-flush-min-size-kb). A slow disk
// never stalls a worker: a buffer over its cap drops lines, and counts them.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"

namespace pilotfish::access_log {

// Envoy's access_log_file.* stats, summed over the files (write_dropped is pilotfish's).
struct FileStats {
  uint64_t write_buffered = 0;        // lines accepted into a buffer
  uint64_t write_completed = 0;       // buffers written
  uint64_t write_failed = 0;          // writes that failed (the buffer is lost)
  uint64_t flushed_by_timer = 0;      // flushes started by the interval
  uint64_t reopen_failed = 0;         // reopen (SIGUSR1) that could not open the path
  uint64_t write_dropped = 0;         // lines dropped: the file's buffer was full
  uint64_t write_total_buffered = 0;  // bytes waiting to be written (a gauge)
};

// What the sinks share with the writer thread: its wake-up and the buffer limits.
struct WriterSignal {
  std::mutex mu;
  std::condition_variable cv;
  bool pending = false;  // a buffer passed the minimum flush size, or a reopen was asked
  bool stop = false;
  std::atomic<size_t> flush_min_bytes{64 * 1024};
  std::atomic<size_t> max_buffer_bytes{16 * 1024 * 1024};
  void Notify();
};

class FileSink {
 public:
  ~FileSink();
  FileSink(const FileSink&) = delete;
  FileSink& operator=(const FileSink&) = delete;

  // Any thread. Appends `line` to the buffer, or drops it when the buffer is full.
  void Write(std::string_view line);
  const std::string& path() const { return path_; }

 private:
  friend class FileManager;
  FileSink(std::shared_ptr<WriterSignal> signal, std::string path, int fd, bool reopenable);
  // Writes what is buffered; `reopen` first reopens the path (log rotation).
  void FlushNow(bool reopen);
  void AddStats(FileStats* stats);

  const std::shared_ptr<WriterSignal> signal_;
  const std::string path_;
  const bool reopenable_;  // a regular path (not /dev/stdout or /dev/stderr)

  std::mutex mu_;  // the buffer; held by workers only to append
  std::string buffer_;
  bool flush_requested_ = false;
  uint64_t buffered_ = 0, dropped_ = 0;

  std::mutex io_mu_;  // the descriptor and the write side; one flusher at a time
  int fd_;
  std::string out_;
  uint64_t completed_ = 0, failed_ = 0, reopen_failed_ = 0;
};
using FileSinkSharedPtr = std::shared_ptr<FileSink>;

class FileManager {
 public:
  FileManager();
  ~FileManager();  // Stop()
  FileManager(const FileManager&) = delete;
  FileManager& operator=(const FileManager&) = delete;

  // The sink for `path` (the same one for the same path), opening the file for appending.
  // "/dev/stdout" and "/dev/stderr" write to the process's own descriptors.
  absl::StatusOr<FileSinkSharedPtr> Open(const std::string& path);

  void SetFlushInterval(std::chrono::milliseconds interval);
  void SetFlushMinBytes(size_t bytes);
  void SetMaxBufferBytes(size_t bytes);
  // Log rotation (SIGUSR1): the writer reopens every file before its next write.
  void Reopen();
  // Writes everything buffered now, on the calling thread.
  void Flush();
  // Writes everything buffered and stops the writer thread (later lines stay buffered).
  void Stop();
  FileStats stats();

 private:
  void Run();
  void FlushAll(bool reopen);

  std::shared_ptr<WriterSignal> signal_;
  std::mutex mu_;  // sinks_ and the thread
  std::map<std::string, FileSinkSharedPtr> sinks_;
  FileStats retired_;  // counters of sinks closed since (no logger used them any more)
  std::thread writer_;
  bool stopped_ = false;
  std::atomic<int64_t> interval_ms_{10000};  // Envoy's default
  std::atomic<bool> reopen_{false};
  std::atomic<uint64_t> flushed_by_timer_{0};
};

}  // namespace pilotfish::access_log
