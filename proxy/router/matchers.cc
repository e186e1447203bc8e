// HeaderMatcherImpl: compilation and matching against request and response headers.
#include "proxy/router/matchers.h"

#include "absl/strings/str_cat.h"
#include "proxy/common/str_util.h"

namespace pilotfish::router {

absl::StatusOr<HeaderMatcherImpl> HeaderMatcherImpl::Create(const config::HeaderMatcher& m) {
  HeaderMatcherImpl impl;
  impl.config_ = m;
  if (m.kind == config::HeaderMatcher::Kind::kString) {
    auto s = StringMatcherImpl::Create(m.string_match);
    if (!s.ok()) return s.status();
    impl.string_ = std::move(*s);
  }
  return impl;
}

bool HeaderMatcherImpl::MatchesValue(const std::string* value) const {
  static const std::string kEmpty;
  if (value == nullptr && config_.treat_missing_header_as_empty) value = &kEmpty;
  // A missing header fails every value matcher, inverted or not (Envoy: "the header matcher
  // rule ... will be ignored so it will not match"); only presence matching sees absence.
  if (value == nullptr && config_.kind != config::HeaderMatcher::Kind::kPresent) return false;
  bool match;
  switch (config_.kind) {
    case config::HeaderMatcher::Kind::kPresent:
      match = (value != nullptr) == config_.present_match;
      break;
    case config::HeaderMatcher::Kind::kString:
      match = value != nullptr && string_->Matches(*value);
      break;
    case config::HeaderMatcher::Kind::kRange: {
      int64_t v;
      match = value != nullptr && ParseInt(std::string_view(*value), &v) &&
              v >= config_.range_start && v < config_.range_end;
      break;
    }
    default:
      match = false;
  }
  return match != config_.invert_match;
}

bool HeaderMatcherImpl::MatchesResponse(const http::ResponseHeaders& headers) const {
  if (config_.name == ":status") {
    const std::string status = std::to_string(headers.status);
    return MatchesValue(&status);
  }
  return MatchesValue(headers.headers.Get(config_.name));
}

bool HeaderMatcherImpl::Matches(const http::RequestHeaders& headers) const {
  const std::string* value = headers.GetAny(config_.name);
  if (value != nullptr && config_.name[0] != ':' && headers.headers.Count(config_.name) > 1) {
    // Multiple values are matched joined with ',' as Envoy does.
    std::string joined;
    for (const auto& e : headers.headers.entries()) {
      if (http::EqualsIgnoreCase(e.first, config_.name)) {
        if (!joined.empty()) joined.push_back(',');
        joined += e.second;
      }
    }
    return MatchesValue(&joined);
  }
  return MatchesValue(value);
}

}  // namespace pilotfish::router
