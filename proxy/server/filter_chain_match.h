// Picks a listener's filter chain for a connection as Envoy does: most specific match wins
// (destination port, then destination IP prefix, then source IP prefix / port).
#pragma once

#include "proxy/config/listener.h"
#include "proxy/net/address.h"

namespace pilotfish::server {

bool CidrContains(const config::CidrRange& range, const net::Address& address);

// nullptr when no chain matches and there is no default chain.
const config::FilterChain* SelectFilterChain(const config::Listener& listener,
                                             const net::Address& local, const net::Address& remote);

}  // namespace pilotfish::server
