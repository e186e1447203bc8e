// Filter chain selection by destination/source address and port.
#include "proxy/server/filter_chain_match.h"

#include <arpa/inet.h>

#include <cstring>

namespace pilotfish::server {

bool CidrContains(const config::CidrRange& range, const net::Address& address) {
  unsigned char want[16] = {0};
  int family = AF_INET;
  size_t bytes = 4;
  if (inet_pton(AF_INET, range.address_prefix.c_str(), want) != 1) {
    if (inet_pton(AF_INET6, range.address_prefix.c_str(), want) != 1) return false;
    family = AF_INET6;
    bytes = 16;
  }
  if (address.family() != family) return false;
  const unsigned char* have =
      family == AF_INET
          ? reinterpret_cast<const unsigned char*>(
                &reinterpret_cast<const sockaddr_in*>(address.sockaddr_ptr())->sin_addr)
          : reinterpret_cast<const unsigned char*>(
                &reinterpret_cast<const sockaddr_in6*>(address.sockaddr_ptr())->sin6_addr);
  uint32_t bits = range.prefix_len;
  if (bits > bytes * 8) bits = static_cast<uint32_t>(bytes * 8);
  size_t full = bits / 8;
  if (memcmp(want, have, full) != 0) return false;
  if (bits % 8 == 0) return true;
  unsigned char mask = static_cast<unsigned char>(0xff << (8 - bits % 8));
  return (want[full] & mask) == (have[full] & mask);
}

namespace {
// -1: does not match; otherwise the length of the longest matching range (0 if none given).
int BestPrefix(const std::vector<config::CidrRange>& ranges, const net::Address& a) {
  if (ranges.empty()) return 0;
  int best = -1;
  for (const auto& r : ranges) {
    if (CidrContains(r, a)) best = std::max(best, static_cast<int>(r.prefix_len) + 1);
  }
  return best;
}
}  // namespace

const config::FilterChain* SelectFilterChain(const config::Listener& listener,
                                             const net::Address& local,
                                             const net::Address& remote) {
  const config::FilterChain* best = nullptr;
  int64_t best_score = -1;
  for (const config::FilterChain& chain : listener.filter_chains) {
    const config::FilterChainMatch& m = chain.match;
    if (m.destination_port && *m.destination_port != local.port()) continue;
    int dst = BestPrefix(m.prefix_ranges, local);
    if (dst < 0) continue;
    // Without TLS inspection there is no SNI or ALPN: chains that require them never match.
    if (!m.server_names.empty() || !m.application_protocols.empty()) continue;
    if (!m.transport_protocol.empty() && m.transport_protocol != "raw_buffer") continue;
    int src = BestPrefix(m.source_prefix_ranges, remote);
    if (src < 0) continue;
    if (!m.source_ports.empty()) {
      bool found = false;
      for (uint32_t p : m.source_ports) found = found || p == remote.port();
      if (!found) continue;
    }
    int64_t score = (m.destination_port ? (int64_t{1} << 40) : 0) + (int64_t{dst} << 24) +
                    (m.transport_protocol.empty() ? 0 : (int64_t{1} << 20)) + (int64_t{src} << 8) +
                    (m.source_ports.empty() ? 0 : 1);
    if (score > best_score) {
      best_score = score;
      best = &chain;
    }
  }
  if (best == nullptr && listener.default_filter_chain) return &*listener.default_filter_chain;
  return best;
}

}  // namespace pilotfish::server
