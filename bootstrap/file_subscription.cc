// FileSubscription: watch the file's directory (inotify via libuv), parse, decode, apply.
#include "bootstrap/file_subscription.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "bootstrap/config_loader.h"
#include "envoy/service/discovery/v3/discovery.pb.h"
#include "proxy/common/log.h"

namespace pilotfish::bootstrap {

FileSubscription::FileSubscription(event::Dispatcher& dispatcher, std::string path,
                                   std::string type_url, xds::XdsSink& sink)
    : dispatcher_(dispatcher),
      path_(std::move(path)),
      type_url_(std::move(type_url)),
      sink_(sink),
      debounce_(std::make_unique<event::Timer>(dispatcher, [this] { Reload(); })) {}

FileSubscription::~FileSubscription() {
  if (watch_ != nullptr) {
    uv_fs_event_stop(watch_);
    event::Dispatcher::CloseAndDelete(watch_);
  }
}

void FileSubscription::Start() {
  // Watch the directory: a `mv` over the file replaces its inode, which a watch on the file
  // itself would lose.
  const size_t slash = path_.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path_.substr(0, slash + 1);
  watch_ = new uv_fs_event_t;
  uv_fs_event_init(dispatcher_.loop(), watch_);
  watch_->data = this;
  if (int rc = uv_fs_event_start(watch_, &OnFsEvent, dir.c_str(), 0); rc != 0) {
    PF_LOG(kWarning, "filesystem xDS: cannot watch %s: %s (changes will not be seen)", dir.c_str(),
           uv_strerror(rc));
  }
  Reload();
}

void FileSubscription::OnFsEvent(uv_fs_event_t* handle, const char* filename, int, int status) {
  auto* self = static_cast<FileSubscription*>(handle->data);
  if (self == nullptr || status != 0) return;
  const size_t slash = self->path_.rfind('/');
  const std::string base = slash == std::string::npos ? self->path_ : self->path_.substr(slash + 1);
  if (filename != nullptr && base != filename) return;
  self->debounce_->Enable(std::chrono::milliseconds(20));
}

void FileSubscription::Reload() {
  std::ifstream in(path_, std::ios::binary);
  if (!in) {
    if (!applied_) PF_LOG(kWarning, "filesystem xDS: cannot read %s", path_.c_str());
    return;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string content = ss.str();
  if (applied_ && content == last_content_) return;
  ++stats_.update_attempt;
  auto fail = [this](const absl::Status& s) {
    ++stats_.update_rejected;
    sink_.OnOutcome(type_url_, xds::XdsSink::Outcome::kRejected, stats_.version_text);
    stats_.last_error = std::string(s.message());
    PF_LOG(kWarning, "filesystem xDS: %s rejected, keeping the previous config: %s", path_.c_str(),
           stats_.last_error.c_str());
  };
  envoy::service::discovery::v3::DiscoveryResponse response;
  if (auto s = ParseConfig(content, FormatForPath(path_), false, path_, &response); !s.ok()) {
    fail(s);
    return;
  }
  std::vector<xds::Resource> updated;
  std::set<std::string> seen;
  for (int i = 0; i < response.resources_size(); ++i) {
    auto r = xds::DecodeResource(response.resources(i), type_url_);
    if (!r.ok()) {
      fail(absl::InvalidArgumentError(
          absl::StrCat(path_, ": resources[", i, "]: ", r.status().message())));
      return;
    }
    if (!seen.insert(r->name).second) {
      fail(absl::InvalidArgumentError(
          absl::StrCat(path_, ": duplicate resource name '", r->name, "'")));
      return;
    }
    r->version = response.version_info();
    updated.push_back(*std::move(r));
  }
  std::vector<std::string> removed;
  for (const auto& name : known_) {
    if (!seen.contains(name)) removed.push_back(name);
  }
  if (auto s = sink_.OnUpdate(type_url_, updated, removed); !s.ok()) {
    fail(s);
    return;
  }
  ++stats_.update_success;
  stats_.version_text = response.version_info();
  sink_.OnOutcome(type_url_, xds::XdsSink::Outcome::kSuccess, stats_.version_text);
  known_ = std::move(seen);
  last_content_ = std::move(content);
  applied_ = true;
  PF_LOG(kInfo, "filesystem xDS: %s applied (%zu resources)", path_.c_str(), updated.size());
}

}  // namespace pilotfish::bootstrap
