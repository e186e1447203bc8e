// Tests for ResourceStore: directory loading, names per type, per-type versions that move only
// on change, stable per-resource versions, and errors that keep the previous set.
#include "tools/xds_server/resource_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/unit/tools/xds_server/test_util.h"
#include "tools/xds_server/discovery_state.h"

namespace pilotfish::xds_server {
namespace {

using testing::ClusterJson;
using testing::EndpointsJson;
using testing::ListenerJson;
using testing::LogCapture;
using testing::ResourceFile;
using testing::RouteJson;
using testing::TempResourceDir;
using namespace std::chrono_literals;

std::vector<std::string> Names(const SnapshotPtr& snapshot, const std::string& type) {
  std::vector<std::string> names;
  auto it = snapshot->find(type);
  if (it == snapshot->end()) return names;
  for (const auto& [name, resource] : it->second.resources) names.push_back(name);
  return names;
}

uint64_t Version(const SnapshotPtr& snapshot, const std::string& type) {
  auto it = snapshot->find(type);
  return it == snapshot->end() ? 0 : it->second.version;
}

class ResourceStoreTest : public ::testing::Test {
 protected:
  TempResourceDir dir_;
  LogCapture log_;
  ResourceStore store_{dir_.path(), log_.Fn()};
};

TEST_F(ResourceStoreTest, LoadsEveryTypeKeyedByName) {
  dir_.Write("a.json", ResourceFile({ListenerJson("l2", 2), ListenerJson("l1", 1)}));
  dir_.Write("b.yaml",
             "resources:\n"
             "- \"@type\": type.googleapis.com/envoy.config.cluster.v3.Cluster\n"
             "  name: c1\n"
             "  connect_timeout: 1s\n");
  dir_.Write("c.yml", ResourceFile({RouteJson("r1", "c1"), EndpointsJson("c1", 8080)}));
  const ReloadResult result = store_.Reload();
  ASSERT_TRUE(result.status.ok()) << result.status;
  EXPECT_EQ(result.changed_types.size(), 4u);
  const SnapshotPtr snapshot = store_.snapshot();
  EXPECT_EQ(Names(snapshot, kListenerType), (std::vector<std::string>{"l1", "l2"}));
  EXPECT_EQ(Names(snapshot, kClusterType), (std::vector<std::string>{"c1"}));
  EXPECT_EQ(Names(snapshot, kRouteType), (std::vector<std::string>{"r1"}));
  EXPECT_EQ(Names(snapshot, kEndpointType), (std::vector<std::string>{"c1"}));
  EXPECT_EQ(Version(snapshot, kListenerType), 1u);
  EXPECT_FALSE(log_.WaitFor({"RELOAD ok types=", "files=3 resources=5"}, 0ms).empty())
      << log_.All();
}

TEST_F(ResourceStoreTest, IgnoresDotFilesOtherExtensionsAndSubdirectories) {
  dir_.Write("a.json", ResourceFile({ListenerJson("l1", 1)}));
  dir_.Write(".hidden.json", ResourceFile({ListenerJson("hidden", 1)}));
  dir_.Write("notes.txt", "not a resource file");
  std::filesystem::create_directory(dir_.File("sub.json"));
  std::filesystem::create_directory(dir_.File("sub"));
  std::ofstream(dir_.File("sub/x.json")) << ResourceFile({ListenerJson("nested", 1)});
  ASSERT_TRUE(store_.Reload().status.ok());
  EXPECT_EQ(Names(store_.snapshot(), kListenerType), (std::vector<std::string>{"l1"}));
}

TEST_F(ResourceStoreTest, VersionsMoveOnlyForChangedTypes) {
  dir_.Write("l.json", ResourceFile({ListenerJson("l1", 1)}));
  dir_.Write("c.json", ResourceFile({ClusterJson("c1")}));
  ASSERT_TRUE(store_.Reload().status.ok());
  const std::string l1_version = store_.snapshot()->at(kListenerType).resources.at("l1").version;
  EXPECT_EQ(l1_version.size(), 16u);

  dir_.Write("l.json", ResourceFile({ListenerJson("l1", 2)}));
  ReloadResult result = store_.Reload();
  ASSERT_TRUE(result.status.ok());
  EXPECT_EQ(result.changed_types, (std::vector<std::string>{kListenerType}));
  SnapshotPtr snapshot = store_.snapshot();
  EXPECT_EQ(Version(snapshot, kListenerType), 2u);
  EXPECT_EQ(Version(snapshot, kClusterType), 1u);
  EXPECT_NE(snapshot->at(kListenerType).resources.at("l1").version, l1_version);

  // The same content again (a new file): nothing changes.
  dir_.Write("c.json", ResourceFile({ClusterJson("c1")}));
  result = store_.Reload();
  EXPECT_TRUE(result.changed_types.empty());
  EXPECT_EQ(Version(store_.snapshot(), kClusterType), 1u);
  EXPECT_FALSE(log_.WaitFor({"RELOAD ok types=none"}, 0ms).empty()) << log_.All();

  // A type whose last file goes away stays, empty, with a new version.
  dir_.Remove("c.json");
  result = store_.Reload();
  EXPECT_EQ(result.changed_types, (std::vector<std::string>{kClusterType}));
  EXPECT_TRUE(Names(store_.snapshot(), kClusterType).empty());
  EXPECT_EQ(Version(store_.snapshot(), kClusterType), 2u);
}

TEST_F(ResourceStoreTest, ResourceVersionsAreStableAcrossStores) {
  dir_.Write("l.json", ResourceFile({ListenerJson("l1", 1)}));
  ASSERT_TRUE(store_.Reload().status.ok());
  ResourceStore other(dir_.path(), [](const std::string&) {});
  ASSERT_TRUE(other.Reload().status.ok());
  EXPECT_EQ(store_.snapshot()->at(kListenerType).resources.at("l1").version,
            other.snapshot()->at(kListenerType).resources.at("l1").version);
}

TEST_F(ResourceStoreTest, BadFileKeepsThePreviousSet) {
  dir_.Write("l.json", ResourceFile({ListenerJson("l1", 1)}));
  ASSERT_TRUE(store_.Reload().status.ok());
  const SnapshotPtr before = store_.snapshot();

  dir_.Write("bad.yaml",
             "resources:\n- \"@type\": type.googleapis.com/envoy.config.listener.v3."
             "Listener\n  name: l2\n  no_such_field: 1\n");
  ReloadResult result = store_.Reload();
  EXPECT_FALSE(result.status.ok());
  EXPECT_EQ(result.file, dir_.File("bad.yaml"));
  EXPECT_EQ(store_.snapshot(), before);
  EXPECT_FALSE(
      log_.WaitFor({"RELOAD error file=" + dir_.File("bad.yaml") + " ", "no_such_field"}, 0ms)
          .empty())
      << log_.All();

  dir_.Write("bad.yaml", "{not json");
  EXPECT_FALSE(store_.Reload().status.ok());
  dir_.Write("bad.yaml", ResourceFile({ListenerJson("", 1)}));
  result = store_.Reload();
  EXPECT_NE(result.status.message().find("resources[0]: empty name"), std::string::npos)
      << result.status;
  EXPECT_EQ(store_.snapshot(), before);
}

TEST_F(ResourceStoreTest, DuplicateNameAcrossFilesIsAnError) {
  dir_.Write("a.json", ResourceFile({ListenerJson("l1", 1)}));
  ASSERT_TRUE(store_.Reload().status.ok());
  dir_.Write("b.json", ResourceFile({ClusterJson("l1"), ListenerJson("l1", 2)}));
  const ReloadResult result = store_.Reload();
  EXPECT_FALSE(result.status.ok());
  EXPECT_EQ(result.file, dir_.File("b.json"));
  EXPECT_NE(result.status.message().find("resources[1]: duplicate envoy.config.listener.v3."
                                         "Listener \"l1\" (also in " +
                                         dir_.File("a.json") + ")"),
            std::string::npos)
      << result.status;
  EXPECT_EQ(Names(store_.snapshot(), kClusterType).size(), 0u);
}

TEST_F(ResourceStoreTest, WatcherReloadsOnReplaceAndNotifiesListeners) {
  dir_.Write("l.json", ResourceFile({ListenerJson("l1", 1)}));
  ASSERT_TRUE(store_.Reload().status.ok());
  std::mutex mu;
  std::vector<std::string> notified;
  const int id = store_.AddListener([&](const std::vector<std::string>& types) {
    std::lock_guard<std::mutex> lock(mu);
    notified.insert(notified.end(), types.begin(), types.end());
  });
  store_.StartWatching(std::chrono::milliseconds(10));
  const size_t mark = log_.Size();
  dir_.Write("l.json", ResourceFile({ListenerJson("l1", 2)}));
  EXPECT_FALSE(
      log_.WaitFor({"RELOAD ok types=envoy.config.listener.v3.Listener:2"}, 10s, mark).empty())
      << log_.All();
  store_.StopWatching();
  store_.RemoveListener(id);
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(notified, (std::vector<std::string>{kListenerType}));
}

TEST_F(ResourceStoreTest, MissingDirectoryIsAnError) {
  ResourceStore missing(dir_.File("nope"), log_.Fn());
  const ReloadResult result = missing.Reload();
  EXPECT_FALSE(result.status.ok());
  EXPECT_FALSE(log_.WaitFor({"RELOAD error file=" + dir_.File("nope")}, 0ms).empty());
  EXPECT_TRUE(missing.snapshot()->empty());
}

}  // namespace
}  // namespace pilotfish::xds_server
