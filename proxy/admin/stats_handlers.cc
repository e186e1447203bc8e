// /stats, /stats/prometheus and /reset_counters.
#include "proxy/admin/stats_handlers.h"

#include <re2/re2.h>

#include <memory>

#include "proxy/stats/render.h"

namespace pilotfish::admin {
namespace {

constexpr char kPrometheusContentType[] = "text/plain; version=0.0.4; charset=utf-8";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 && HexValue(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

AdminResponse BadRequest(std::string message) {
  return AdminResponse{400, "text/plain; charset=UTF-8", std::move(message)};
}

}  // namespace

std::map<std::string, std::string> ParseQuery(std::string_view query) {
  std::map<std::string, std::string> out;
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view kv = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (kv.empty()) continue;
    const size_t eq = kv.find('=');
    out[PercentDecode(kv.substr(0, eq))] =
        eq == std::string_view::npos ? "" : PercentDecode(kv.substr(eq + 1));
  }
  return out;
}

AdminResponse HandleStats(stats::Store& store, std::string_view path, std::string_view query) {
  const std::map<std::string, std::string> params = ParseQuery(query);
  stats::RenderOptions options;
  options.used_only = params.contains("usedonly");

  std::unique_ptr<RE2> filter;
  if (auto it = params.find("filter"); it != params.end() && !it->second.empty()) {
    RE2::Options re_options;
    re_options.set_log_errors(false);
    filter = std::make_unique<RE2>(it->second, re_options);
    if (!filter->ok()) return BadRequest("Invalid re2 regex\n");
  }

  std::string format = path == "/stats/prometheus" ? "prometheus" : "text";
  if (auto it = params.find("format"); it != params.end()) format = it->second;
  if (format != "text" && format != "json" && format != "prometheus") {
    return BadRequest("usage: /stats?format=(json|prometheus|text)\n");
  }

  if (auto it = params.find("type"); it != params.end()) {
    const std::string& t = it->second;
    if (t == "All") {
      options.type = stats::RenderOptions::Type::kAll;
    } else if (t == "Counters") {
      options.type = stats::RenderOptions::Type::kCounters;
    } else if (t == "Gauges") {
      options.type = stats::RenderOptions::Type::kGauges;
    } else if (t == "Histograms") {
      options.type = stats::RenderOptions::Type::kHistograms;
    } else {
      return BadRequest("usage: /stats?type=(All|Counters|Gauges|Histograms)\n");
    }
  }
  if (auto it = params.find("histogram_buckets"); it != params.end()) {
    const std::string& b = it->second;
    if (b == "cumulative") {
      options.buckets = stats::RenderOptions::Buckets::kCumulative;
    } else if (b == "disjoint") {
      options.buckets = stats::RenderOptions::Buckets::kDisjoint;
    } else if (b == "none") {
      options.buckets = stats::RenderOptions::Buckets::kNone;
    } else {
      return BadRequest("usage: /stats?histogram_buckets=(cumulative|disjoint|none)\n");
    }
  }

  const stats::StatsSnapshot snapshot =
      store.Collect(filter == nullptr ? std::function<bool(std::string_view)>()
                                      : [&filter](std::string_view name) {
                                          return RE2::PartialMatch(
                                              re2::StringPiece(name.data(), name.size()), *filter);
                                        });
  AdminResponse r;
  if (format == "json") {
    r.content_type = "application/json";
    r.body = stats::RenderJson(snapshot, options);
  } else if (format == "prometheus") {
    r.content_type = kPrometheusContentType;
    r.body =
        stats::RenderPrometheus(snapshot, store.tag_producer(), store.custom_namespaces(), options);
  } else {
    r.body = stats::RenderText(snapshot, options);
  }
  return r;
}

void InstallStatsHandlers(AdminServer& admin, stats::Store& store) {
  admin.AddHandler("/stats", "print server stats", false, [&store](const AdminRequest& request) {
    return HandleStats(store, request.path, request.query);
  });
  admin.AddHandler("/stats/prometheus", "print server stats in prometheus format", false,
                   [&store](const AdminRequest& request) {
                     return HandleStats(store, request.path, request.query);
                   });
  admin.AddHandler("/reset_counters", "reset all counters to zero", true,
                   [&store](const AdminRequest&) {
                     store.ResetCounters();
                     return AdminResponse{200, "text/plain; charset=UTF-8", "OK\n"};
                   });
}

}  // namespace pilotfish::admin
