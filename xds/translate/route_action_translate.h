// What a route does once matched: forward (RouteAction with retries, hashing, mirroring,
// rewrites), redirect, or answer directly.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "envoy/config/route/v3/route_components.pb.h"
#include "proxy/config/types.h"

namespace pilotfish::xds {

absl::StatusOr<config::RetryPolicy> TranslateRetryPolicy(
    const envoy::config::route::v3::RetryPolicy& policy, absl::string_view path);

absl::StatusOr<std::vector<config::RequestMirrorPolicy>> TranslateMirrorPolicies(
    const google::protobuf::RepeatedPtrField<
        envoy::config::route::v3::RouteAction::RequestMirrorPolicy>& policies,
    absl::string_view path);

absl::StatusOr<config::RouteAction> TranslateRouteAction(
    const envoy::config::route::v3::RouteAction& action, absl::string_view path,
    std::vector<std::string>* warnings);

absl::StatusOr<config::RedirectAction> TranslateRedirect(
    const envoy::config::route::v3::RedirectAction& redirect, absl::string_view path);

// `max_body_bytes`: the route configuration's max_direct_response_body_size_bytes.
absl::StatusOr<config::DirectResponseAction> TranslateDirectResponse(
    const envoy::config::route::v3::DirectResponseAction& response, absl::string_view path,
    uint32_t max_body_bytes);

}  // namespace pilotfish::xds
