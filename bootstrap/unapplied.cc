// Warnings for translated-but-not-yet-applied route and cluster features.
#include "bootstrap/unapplied.h"

#include "absl/strings/str_cat.h"

namespace pilotfish::bootstrap {
namespace {
void Warn(std::vector<std::string>* warnings, const std::string& path, const char* what) {
  if (warnings != nullptr) {
    warnings->push_back(
        absl::StrCat(path, ": ", what, " is not applied by pilotfish yet; ignored"));
  }
}
}  // namespace

void WarnUnappliedRouteFeatures(const config::RouteConfiguration& routes, const std::string& path,
                                std::vector<std::string>* warnings) {
  if (!routes.internal_only_headers.empty()) {
    Warn(warnings, path + ".internal_only_headers", "removing internal-only headers");
  }
  for (size_t i = 0; i < routes.virtual_hosts.size(); ++i) {
    const config::VirtualHost& vh = routes.virtual_hosts[i];
    const std::string vp = absl::StrCat(path, ".virtual_hosts[", i, "]");
    for (size_t j = 0; j < vh.routes.size(); ++j) {
      const config::Route& r = vh.routes[j];
      const std::string rp = absl::StrCat(vp, ".routes[", j, "]");
      if (r.kind != config::Route::Kind::kRoute) continue;
      const config::RouteAction& a = r.route;
      for (size_t k = 0; k < a.hash_policy->size(); ++k) {
        const config::HashPolicy& hp = (*a.hash_policy)[k];
        const std::string hpath = absl::StrCat(rp, ".route.hash_policy[", k, "]");
        if (hp.kind == config::HashPolicy::Kind::kCookie && hp.cookie_ttl) {
          Warn(warnings, hpath + ".cookie.ttl", "generating the cookie when the request has none");
        }
        if (hp.kind == config::HashPolicy::Kind::kFilterState) {
          Warn(warnings, hpath + ".filter_state", "filter_state hashing");
        }
      }
    }
  }
}

void WarnUnappliedClusterFeatures(const config::Cluster& c, const std::string& path,
                                  std::vector<std::string>* warnings) {
  if (c.max_connection_duration) {
    Warn(warnings, path + ".max_connection_duration", "max_connection_duration");
  }
  if (c.respect_dns_ttl) {
    Warn(warnings, path + ".respect_dns_ttl",
         "re-resolving at the record's TTL (dns_refresh_rate is used)");
  }
}

}  // namespace pilotfish::bootstrap
