// Buffered access log files and their writer thread; see file_sink.h.
#include "proxy/access_log/file_sink.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "proxy/common/log.h"

namespace pilotfish::access_log {
namespace {

int OpenForAppend(const std::string& path) {
  return ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}

// Writes all of `data`; false on an error other than EINTR.
bool WriteAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

void WriterSignal::Notify() {
  {
    std::lock_guard<std::mutex> lock(mu);
    pending = true;
  }
  cv.notify_one();
}

// ------------------------------------------------------------------------------------ FileSink
FileSink::FileSink(std::shared_ptr<WriterSignal> signal, std::string path, int fd, bool reopenable)
    : signal_(std::move(signal)), path_(std::move(path)), reopenable_(reopenable), fd_(fd) {}

FileSink::~FileSink() {
  if (fd_ >= 0) ::close(fd_);
}

void FileSink::Write(std::string_view line) {
  bool notify = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (buffer_.size() + line.size() > signal_->max_buffer_bytes.load(std::memory_order_relaxed)) {
      ++dropped_;
      return;
    }
    buffer_.append(line);
    ++buffered_;
    if (!flush_requested_ &&
        buffer_.size() >= signal_->flush_min_bytes.load(std::memory_order_relaxed)) {
      flush_requested_ = true;
      notify = true;
    }
  }
  if (notify) signal_->Notify();
}

void FileSink::FlushNow(bool reopen) {
  std::lock_guard<std::mutex> io(io_mu_);
  if (reopen && reopenable_) {
    const int fd = OpenForAppend(path_);
    if (fd < 0) {
      ++reopen_failed_;
      PF_LOG(kWarning, "access log: cannot reopen %s: %s", path_.c_str(), strerror(errno));
    } else {
      if (fd_ >= 0) ::close(fd_);
      fd_ = fd;
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    out_.swap(buffer_);  // the workers keep appending into the (cleared) previous buffer
    flush_requested_ = false;
  }
  if (out_.empty()) return;
  if (fd_ >= 0 && WriteAll(fd_, out_)) {
    ++completed_;
  } else {
    ++failed_;
  }
  out_.clear();
}

void FileSink::AddStats(FileStats* stats) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stats->write_buffered += buffered_;
    stats->write_dropped += dropped_;
    stats->write_total_buffered += buffer_.size();
  }
  std::lock_guard<std::mutex> io(io_mu_);
  stats->write_completed += completed_;
  stats->write_failed += failed_;
  stats->reopen_failed += reopen_failed_;
}

// --------------------------------------------------------------------------------- FileManager
FileManager::FileManager() : signal_(std::make_shared<WriterSignal>()) {}

FileManager::~FileManager() { Stop(); }

absl::StatusOr<FileSinkSharedPtr> FileManager::Open(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = sinks_.find(path); it != sinks_.end()) return it->second;
  int fd;
  bool reopenable = false;
  if (path == "/dev/stdout") {
    fd = ::fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 0);
  } else if (path == "/dev/stderr") {
    fd = ::fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 0);
  } else {
    fd = OpenForAppend(path);
    reopenable = true;
  }
  if (fd < 0) {
    return absl::InvalidArgumentError("cannot open access log file '" + path +
                                      "': " + strerror(errno));
  }
  FileSinkSharedPtr sink(new FileSink(signal_, path, fd, reopenable));
  sinks_.emplace(path, sink);
  if (!writer_.joinable() && !stopped_) writer_ = std::thread([this] { Run(); });
  return sink;
}

void FileManager::SetFlushInterval(std::chrono::milliseconds interval) {
  interval_ms_.store(interval.count() > 0 ? interval.count() : 1);  // from the next wait on
}

void FileManager::SetFlushMinBytes(size_t bytes) { signal_->flush_min_bytes.store(bytes); }

void FileManager::SetMaxBufferBytes(size_t bytes) { signal_->max_buffer_bytes.store(bytes); }

void FileManager::Reopen() {
  reopen_.store(true);
  signal_->Notify();
}

void FileManager::Flush() { FlushAll(false); }

void FileManager::Stop() {
  std::thread writer;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
    writer = std::move(writer_);
  }
  {
    std::lock_guard<std::mutex> lock(signal_->mu);
    signal_->stop = true;
  }
  signal_->cv.notify_one();
  if (writer.joinable()) writer.join();
  FlushAll(reopen_.exchange(false));
}

FileStats FileManager::stats() {
  FileStats s;
  std::lock_guard<std::mutex> lock(mu_);
  s = retired_;
  s.write_total_buffered = 0;
  for (auto& [path, sink] : sinks_) sink->AddStats(&s);
  s.flushed_by_timer = flushed_by_timer_.load(std::memory_order_relaxed);
  return s;
}

void FileManager::Run() {
  std::unique_lock<std::mutex> lock(signal_->mu);
  while (!signal_->stop) {
    const auto interval = std::chrono::milliseconds(interval_ms_.load());
    const bool woken =
        signal_->cv.wait_for(lock, interval, [this] { return signal_->pending || signal_->stop; });
    signal_->pending = false;
    if (signal_->stop) break;
    lock.unlock();
    if (!woken) flushed_by_timer_.fetch_add(1, std::memory_order_relaxed);
    FlushAll(reopen_.exchange(false));
    lock.lock();
  }
}

void FileManager::FlushAll(bool reopen) {
  std::vector<FileSinkSharedPtr> sinks;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [path, sink] : sinks_) sinks.push_back(sink);
  }
  for (auto& sink : sinks) sink->FlushNow(reopen);
  sinks.clear();
  // A file no logger uses any more is closed (its last lines were just written). Only this map
  // holds such a sink, and Open() hands out copies under the same lock.
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = sinks_.begin(); it != sinks_.end();) {
    if (it->second.use_count() == 1) {
      it->second->FlushNow(false);
      FileStats s;
      it->second->AddStats(&s);
      retired_.write_buffered += s.write_buffered;
      retired_.write_completed += s.write_completed;
      retired_.write_failed += s.write_failed;
      retired_.reopen_failed += s.reopen_failed;
      retired_.write_dropped += s.write_dropped;
      it = sinks_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace pilotfish::access_log
