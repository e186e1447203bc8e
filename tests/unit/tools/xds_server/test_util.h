// Helpers for the pf_xds_server tests: a temporary resource directory with atomic writes,
// resource builders (JSON, the format of the files) and a log capture with deadline waits.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tools/xds_server/resource_store.h"

namespace pilotfish::xds_server::testing {

using namespace std::chrono_literals;

inline constexpr char kTypePrefix[] = "type.googleapis.com/";

// A fresh directory under the test temp dir, removed with the object.
class TempResourceDir {
 public:
  TempResourceDir() {
    std::string tmpl = ::testing::TempDir() + "/pf-xds-XXXXXX";
    path_ = mkdtemp(tmpl.data()) != nullptr ? tmpl : std::string();
    EXPECT_FALSE(path_.empty()) << "mkdtemp failed";
  }
  ~TempResourceDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

  // Write-to-temp + rename, the way the tests' writers (and the Python helper) replace files.
  void Write(const std::string& name, const std::string& content) const {
    const std::string tmp = File("." + name + ".tmp");
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      out << content;
    }
    ASSERT_EQ(std::rename(tmp.c_str(), File(name).c_str()), 0) << name;
  }
  void Remove(const std::string& name) const {
    ASSERT_EQ(std::remove(File(name).c_str()), 0) << name;
  }

 private:
  std::string path_;
};

// A DiscoveryResponse-shaped JSON file holding `resources` (JSON objects).
inline std::string ResourceFile(const std::vector<std::string>& resources) {
  return absl::StrCat("{\"version_info\": \"ignored\", \"resources\": [",
                      absl::StrJoin(resources, ", "), "]}");
}

inline std::string ListenerJson(const std::string& name, int port) {
  return absl::StrCat(
      "{\"@type\": \"type.googleapis.com/envoy.config.listener.v3.Listener\", \"name\": \"", name,
      "\", \"address\": {\"socket_address\": {\"address\": \"127.0.0.1\", \"port_value\": ", port,
      "}}}");
}

inline std::string ClusterJson(const std::string& name, const std::string& timeout = "1s") {
  return absl::StrCat(
      "{\"@type\": \"type.googleapis.com/envoy.config.cluster.v3.Cluster\", \"name\": \"", name,
      "\", \"connect_timeout\": \"", timeout,
      "\", \"type\": \"EDS\", \"eds_cluster_config\": ", "{\"eds_config\": {\"ads\": {}}}}");
}

inline std::string RouteJson(const std::string& name, const std::string& cluster) {
  return absl::StrCat(
      "{\"@type\": \"type.googleapis.com/envoy.config.route.v3.RouteConfiguration\", \"name\": "
      "\"",
      name, "\", \"virtual_hosts\": [{\"name\": \"vh\", \"domains\": [\"*\"], \"routes\": ",
      "[{\"match\": {\"prefix\": \"/\"}, \"route\": {\"cluster\": \"", cluster, "\"}}]}]}");
}

inline std::string EndpointsJson(const std::string& cluster, int port) {
  return absl::StrCat(
      "{\"@type\": \"type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment\", "
      "\"cluster_name\": \"",
      cluster, "\", \"endpoints\": [{\"lb_endpoints\": [{\"endpoint\": {\"address\": ",
      "{\"socket_address\": {\"address\": \"127.0.0.1\", \"port_value\": ", port, "}}}}]}]}");
}

// Collects log lines; tests wait for a line containing a string, with a deadline.
class LogCapture {
 public:
  LogFn Fn() {
    return [this](const std::string& line) {
      std::lock_guard<std::mutex> lock(mu_);
      lines_.push_back(line);
      cv_.notify_all();
    };
  }
  // The first line (from `from` on) containing every one of `parts`; empty on timeout.
  std::string WaitFor(const std::vector<std::string>& parts,
                      std::chrono::milliseconds timeout = 10s, size_t from = 0) {
    std::unique_lock<std::mutex> lock(mu_);
    std::string found;
    cv_.wait_for(lock, timeout, [&] {
      for (size_t i = from; i < lines_.size(); ++i) {
        bool all = true;
        for (const std::string& part : parts) all = all && absl::StrContains(lines_[i], part);
        if (all) {
          found = lines_[i];
          return true;
        }
      }
      return false;
    });
    return found;
  }
  size_t Size() {
    std::lock_guard<std::mutex> lock(mu_);
    return lines_.size();
  }
  std::string All() {
    std::lock_guard<std::mutex> lock(mu_);
    return absl::StrJoin(lines_, "\n");
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> lines_;
};

}  // namespace pilotfish::xds_server::testing
