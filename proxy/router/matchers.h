// Envoy's StringMatcher and HeaderMatcher, compiled once (RE2 for safe_regex) and matched per
// request. Used by routes and by retry policies.
#pragma once

#include <re2/re2.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "proxy/config/types.h"
#include "proxy/http/header_map.h"

namespace pilotfish::router {

// An RE2 compiled for matching; the error names the pattern.
absl::StatusOr<std::shared_ptr<const RE2>> CompileRegex(const std::string& pattern,
                                                        bool case_sensitive = true);

class StringMatcherImpl {
 public:
  static absl::StatusOr<StringMatcherImpl> Create(const config::StringMatcher& m);
  bool Matches(std::string_view value) const;

 private:
  config::StringMatcher config_;
  std::shared_ptr<const RE2> regex_;
};

class HeaderMatcherImpl {
 public:
  static absl::StatusOr<HeaderMatcherImpl> Create(const config::HeaderMatcher& m);
  bool Matches(const http::RequestHeaders& headers) const;
  // Same matcher against a response (retriable_headers); ":status" is the status code.
  bool MatchesResponse(const http::ResponseHeaders& headers) const;
  bool MatchesValue(const std::string* value) const;

 private:
  config::HeaderMatcher config_;
  std::optional<StringMatcherImpl> string_;
};

}  // namespace pilotfish::router
