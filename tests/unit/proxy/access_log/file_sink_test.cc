// Access log files: lines buffered by any thread, written by the flusher, the same sink for the
// same path, the buffer cap, reopen after rotation, and the timer/size triggers.
#include "proxy/access_log/file_sink.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

namespace pilotfish::access_log {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

class FileSinkTest : public ::testing::Test {
 protected:
  FileSinkTest() {
    char tmpl[] = "/tmp/pf_access_log_XXXXXX";
    dir_ = mkdtemp(tmpl);
    path_ = dir_ + "/access.log";
  }
  ~FileSinkTest() override {
    std::remove(path_.c_str());
    std::remove((path_ + ".1").c_str());
    rmdir(dir_.c_str());
  }
  // Polls (the writer thread is asynchronous) for at most 5 s.
  bool WaitForContent(const std::string& want) {
    for (int i = 0; i < 500; ++i) {
      if (ReadFile(path_) == want) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
  std::string dir_, path_;
};

TEST_F(FileSinkTest, FlushWritesAndSamePathSharesTheSink) {
  FileManager files;
  auto a = files.Open(path_);
  ASSERT_TRUE(a.ok()) << a.status();
  auto b = files.Open(path_);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a->get(), b->get());
  (*a)->Write("one\n");
  (*b)->Write("two\n");
  EXPECT_EQ(ReadFile(path_), "");  // buffered: nothing written before a flush
  files.Flush();
  EXPECT_EQ(ReadFile(path_), "one\ntwo\n");
  const FileStats s = files.stats();
  EXPECT_EQ(s.write_buffered, 2u);
  EXPECT_EQ(s.write_completed, 1u);
  EXPECT_EQ(s.write_total_buffered, 0u);
}

TEST_F(FileSinkTest, TimerFlushes) {
  FileManager files;
  files.SetFlushInterval(std::chrono::milliseconds(20));
  auto sink = files.Open(path_);
  ASSERT_TRUE(sink.ok());
  (*sink)->Write("tick\n");
  EXPECT_TRUE(WaitForContent("tick\n"));
  EXPECT_GE(files.stats().flushed_by_timer, 1u);
}

TEST_F(FileSinkTest, SizeTriggersAnEarlyFlush) {
  FileManager files;
  files.SetFlushInterval(std::chrono::milliseconds(60000));
  files.SetFlushMinBytes(10);
  auto sink = files.Open(path_);
  ASSERT_TRUE(sink.ok());
  (*sink)->Write("short\n");
  (*sink)->Write("passes ten bytes\n");
  EXPECT_TRUE(WaitForContent("short\npasses ten bytes\n"));
}

TEST_F(FileSinkTest, FullBufferDropsLines) {
  FileManager files;
  files.SetFlushInterval(std::chrono::milliseconds(60000));
  files.SetFlushMinBytes(1 << 20);
  files.SetMaxBufferBytes(10);
  auto sink = files.Open(path_);
  ASSERT_TRUE(sink.ok());
  (*sink)->Write("12345\n");
  (*sink)->Write("678901\n");  // 13 bytes would not fit
  (*sink)->Write("abc\n");
  const FileStats s = files.stats();
  EXPECT_EQ(s.write_buffered, 2u);
  EXPECT_EQ(s.write_dropped, 1u);
  EXPECT_EQ(s.write_total_buffered, 10u);
  files.Flush();
  EXPECT_EQ(ReadFile(path_), "12345\nabc\n");
}

TEST_F(FileSinkTest, ReopenFollowsRotation) {
  FileManager files;
  files.SetFlushInterval(std::chrono::milliseconds(60000));
  auto sink = files.Open(path_);
  ASSERT_TRUE(sink.ok());
  (*sink)->Write("before\n");
  files.Flush();
  ASSERT_EQ(std::rename(path_.c_str(), (path_ + ".1").c_str()), 0);
  (*sink)->Write("after\n");
  files.Reopen();
  EXPECT_TRUE(WaitForContent("after\n"));
  EXPECT_EQ(ReadFile(path_ + ".1"), "before\n");
}

TEST_F(FileSinkTest, ManyThreadsAndStopWritesEverything) {
  {
    FileManager files;
    auto sink = files.Open(path_);
    ASSERT_TRUE(sink.ok());
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < 1000; ++i) (*sink)->Write("0123456789\n");
      });
    }
    for (auto& t : threads) t.join();
  }  // the destructor stops the writer and writes what is left
  EXPECT_EQ(ReadFile(path_).size(), 4u * 1000u * 11u);
}

TEST_F(FileSinkTest, OpenErrors) {
  FileManager files;
  auto bad = files.Open(dir_ + "/no/such/dir/log");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(std::string(bad.status().message()).find("cannot open access log file"),
            std::string::npos);
  EXPECT_TRUE(files.Open("/dev/stderr").ok());
}

}  // namespace
}  // namespace pilotfish::access_log
