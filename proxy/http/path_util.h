// Request path normalization as the HCM's normalize_path and merge_slashes ask for it
// (RFC 3986 section 6 as Envoy applies it: percent-decoding of unreserved characters, upper-case
// hex in the escapes left, backslashes as slashes, dot-segment removal; then runs of slashes
// merged). Routing, rewrites and the upstream all see the normalized path.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace pilotfish::http {

// `path` is :path (origin form, query included; the query is left as it is). nullopt when the
// path cannot be normalized (it does not start with '/'): the request gets a 400.
std::optional<std::string> NormalizePath(std::string_view path, bool normalize, bool merge_slashes);

}  // namespace pilotfish::http
