// See resource_store.h.
#include "tools/xds_server/resource_store.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "bootstrap/config_loader.h"
#include "envoy/service/discovery/v3/discovery.pb.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"

namespace pilotfish::xds_server {
namespace {

constexpr char kClusterLoadAssignment[] = "envoy.config.endpoint.v3.ClusterLoadAssignment";

bool IsResourceFile(absl::string_view name) {
  if (absl::StartsWith(name, ".")) return false;  // editors' and writers' temporary files
  const std::string lower = absl::AsciiStrToLower(name);
  return absl::EndsWith(lower, ".yaml") || absl::EndsWith(lower, ".yml") ||
         absl::EndsWith(lower, ".json");
}

// FNV-1a, 64 bits: stable across runs, so a restarted server gives the same versions.
std::string HashHex(absl::string_view a, absl::string_view b) {
  uint64_t h = 0xcbf29ce484222325ull;
  auto mix = [&h](absl::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 0x100000001b3ull;
    }
  };
  mix(a);
  mix(absl::string_view("\0", 1));
  mix(b);
  char out[17];
  std::snprintf(out, sizeof(out), "%016llx", static_cast<unsigned long long>(h));
  return out;
}

absl::Status ReadFile(const std::string& path, std::string* content) {
  FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("cannot open: ", std::strerror(errno)));
  }
  char buffer[65536];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), file)) > 0) content->append(buffer, n);
  const bool failed = std::ferror(file) != 0;
  std::fclose(file);
  if (failed) return absl::InvalidArgumentError("cannot read");
  return absl::OkStatus();
}

// The resource's name: ClusterLoadAssignment.cluster_name, else a top-level string `name`.
absl::Status ResourceName(const google::protobuf::Any& any, std::string* name) {
  const std::string type(ShortType(any.type_url()));
  const google::protobuf::Descriptor* descriptor =
      google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(type);
  if (descriptor == nullptr) return absl::InvalidArgumentError(absl::StrCat("unknown type ", type));
  std::unique_ptr<google::protobuf::Message> message(
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(descriptor)->New());
  if (!any.UnpackTo(message.get())) {
    return absl::InvalidArgumentError(absl::StrCat("cannot parse ", type));
  }
  const char* field_name = type == kClusterLoadAssignment ? "cluster_name" : "name";
  const google::protobuf::FieldDescriptor* field = descriptor->FindFieldByName(field_name);
  if (field == nullptr || field->is_repeated() ||
      field->type() != google::protobuf::FieldDescriptor::TYPE_STRING) {
    return absl::InvalidArgumentError(absl::StrCat(type, " has no string field ", field_name));
  }
  *name = message->GetReflection()->GetString(*message, field);
  if (name->empty()) return absl::InvalidArgumentError(absl::StrCat("empty ", field_name));
  return absl::OkStatus();
}

bool SameResources(const TypeResources& a, const TypeResources& b) {
  if (a.resources.size() != b.resources.size()) return false;
  for (auto ia = a.resources.begin(), ib = b.resources.begin(); ia != a.resources.end();
       ++ia, ++ib) {
    if (ia->first != ib->first || ia->second.any.value() != ib->second.any.value()) return false;
  }
  return true;
}

}  // namespace

LogFn StdoutLog() {
  auto mu = std::make_shared<std::mutex>();
  return [mu](const std::string& line) {
    std::lock_guard<std::mutex> lock(*mu);
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
  };
}

absl::string_view ShortType(absl::string_view type_url) {
  const size_t slash = type_url.rfind('/');
  return slash == absl::string_view::npos ? type_url : type_url.substr(slash + 1);
}

ResourceStore::ResourceStore(std::string dir, LogFn log)
    : dir_(std::move(dir)), log_(std::move(log)), snapshot_(std::make_shared<Snapshot>()) {}

ResourceStore::~ResourceStore() { StopWatching(); }

std::string ResourceStore::Signature(std::vector<std::string>* files, std::string* error) const {
  DIR* d = opendir(dir_.c_str());
  if (d == nullptr) {
    *error = absl::StrCat("cannot list the directory: ", std::strerror(errno));
    return *error;
  }
  std::vector<std::string> names;
  while (const dirent* entry = readdir(d)) {
    if (IsResourceFile(entry->d_name)) names.emplace_back(entry->d_name);
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  std::string signature;
  for (const std::string& name : names) {
    const std::string path = absl::StrCat(dir_, "/", name);
    struct stat st;
    if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;  // gone, dangling, dir
    files->push_back(path);
    absl::StrAppend(&signature, name, "|", st.st_dev, ":", st.st_ino, ":", st.st_size, ":",
                    st.st_mtim.tv_sec, ".", st.st_mtim.tv_nsec, ":", st.st_ctim.tv_sec, ".",
                    st.st_ctim.tv_nsec, "\n");
  }
  return signature;
}

ReloadResult ResourceStore::Reload() {
  std::lock_guard<std::mutex> reload_lock(reload_mu_);
  ReloadResult result;
  auto fail = [&](const std::string& file, absl::string_view message) {
    std::string text(message);
    if (absl::StartsWith(text, file + ": ")) text.erase(0, file.size() + 2);
    text = absl::StrReplaceAll(text, {{"\n", " "}, {"\r", " "}});
    log_(absl::StrCat("RELOAD error file=", file, " ", text));
    result.status = absl::InvalidArgumentError(absl::StrCat(file, ": ", text));
    result.file = file;
    return result;
  };

  std::vector<std::string> files;
  std::string error;
  signature_ = Signature(&files, &error);  // a broken state is not retried until it changes
  if (!error.empty()) return fail(dir_, error);

  // type URL -> name -> (resource, file it came from)
  std::map<std::string, std::map<std::string, std::pair<Resource, std::string>>> loaded;
  size_t count = 0;
  for (const std::string& path : files) {
    std::string content;
    if (absl::Status s = ReadFile(path, &content); !s.ok()) return fail(path, s.message());
    envoy::service::discovery::v3::DiscoveryResponse response;
    if (absl::Status s = bootstrap::ParseConfig(content, bootstrap::FormatForPath(path),
                                                /*allow_unknown_fields=*/false, path, &response);
        !s.ok()) {
      return fail(path, s.message());
    }
    for (int i = 0; i < response.resources_size(); ++i) {
      const google::protobuf::Any& any = response.resources(i);
      Resource resource;
      if (absl::Status s = ResourceName(any, &resource.name); !s.ok()) {
        return fail(path, absl::StrCat("resources[", i, "]: ", s.message()));
      }
      auto& of_type = loaded[any.type_url()];
      if (auto it = of_type.find(resource.name); it != of_type.end()) {
        return fail(path,
                    absl::StrCat("resources[", i, "]: duplicate ", ShortType(any.type_url()), " \"",
                                 resource.name, "\" (also in ", it->second.second, ")"));
      }
      resource.version = HashHex(any.type_url(), any.value());
      resource.any = any;
      std::string name = resource.name;
      of_type.emplace(std::move(name), std::make_pair(std::move(resource), path));
      ++count;
    }
  }

  const SnapshotPtr old = snapshot();
  auto next = std::make_shared<Snapshot>();
  std::set<std::string> types;
  for (const auto& [type, unused] : *old) types.insert(type);
  for (const auto& [type, unused] : loaded) types.insert(type);
  std::vector<std::string> summary;
  for (const std::string& type : types) {
    TypeResources& resources = (*next)[type];
    if (auto it = loaded.find(type); it != loaded.end()) {
      for (auto& [name, resource_and_file] : it->second) {
        resources.resources.emplace(name, std::move(resource_and_file.first));
      }
    }
    auto previous = old->find(type);
    if (previous != old->end() && SameResources(previous->second, resources)) {
      resources.version = previous->second.version;
      continue;
    }
    resources.version = previous == old->end() ? 1 : previous->second.version + 1;
    result.changed_types.push_back(type);
    summary.push_back(absl::StrCat(ShortType(type), ":", resources.version));
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    snapshot_ = std::move(next);
  }
  if (!result.changed_types.empty()) {
    std::lock_guard<std::mutex> lock(listeners_mu_);
    for (const auto& [id, listener] : listeners_) listener(result.changed_types);
  }
  // After the listeners: whoever sees this line knows every stream has been told.
  log_(absl::StrCat("RELOAD ok types=", summary.empty() ? "none" : absl::StrJoin(summary, ","),
                    " files=", files.size(), " resources=", count));
  return result;
}

void ResourceStore::ReloadIfChanged() {
  std::vector<std::string> files;
  std::string error;
  const std::string signature = Signature(&files, &error);
  {
    std::lock_guard<std::mutex> lock(reload_mu_);
    if (signature == signature_) return;
  }
  Reload();
}

void ResourceStore::StartWatching(std::chrono::milliseconds interval) {
  StopWatching();
  {
    std::lock_guard<std::mutex> lock(watch_mu_);
    watch_stop_ = false;
  }
  watcher_ = std::thread([this, interval] {
    std::unique_lock<std::mutex> lock(watch_mu_);
    while (!watch_cv_.wait_for(lock, interval, [this] { return watch_stop_; })) {
      lock.unlock();
      ReloadIfChanged();
      lock.lock();
    }
  });
}

void ResourceStore::StopWatching() {
  {
    std::lock_guard<std::mutex> lock(watch_mu_);
    watch_stop_ = true;
  }
  watch_cv_.notify_all();
  if (watcher_.joinable()) watcher_.join();
}

SnapshotPtr ResourceStore::snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return snapshot_;
}

int ResourceStore::AddListener(Listener listener) {
  std::lock_guard<std::mutex> lock(listeners_mu_);
  listeners_.emplace(next_listener_id_, std::move(listener));
  return next_listener_id_++;
}

void ResourceStore::RemoveListener(int id) {
  std::lock_guard<std::mutex> lock(listeners_mu_);
  listeners_.erase(id);
}

}  // namespace pilotfish::xds_server
