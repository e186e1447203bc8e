// Socket addresses: parse, format, and recover the pre-REDIRECT destination.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace pilotfish::net {

class Address {
 public:
  Address() = default;
  static std::optional<Address> FromSockaddr(const sockaddr* sa);
  // "1.2.3.4" or "::1" plus a port; nullopt when `ip` is not a literal address.
  static std::optional<Address> FromIpPort(std::string_view ip, uint32_t port);

  const sockaddr* sockaddr_ptr() const { return reinterpret_cast<const sockaddr*>(&storage_); }
  socklen_t sockaddr_len() const;
  int family() const { return storage_.sa.sa_family; }
  uint16_t port() const;
  std::string ip() const;
  // "1.2.3.4:80" or "[::1]:80".
  std::string ToString() const;
  // The same, appended to `out` (IPv4 without inet_ntop, which formats with sprintf: the
  // router and access logs format addresses on every request).
  void AppendIp(std::string& out) const;
  void AppendTo(std::string& out) const;
  bool IsAnyAddress() const;  // 0.0.0.0 or ::
  bool operator==(const Address& other) const;
  template <typename H>
  friend H AbslHashValue(H h, const Address& a) {  // consistent with ==
    h = H::combine(std::move(h), a.family(), a.port());
    if (a.family() == AF_INET) return H::combine(std::move(h), a.storage_.v4.sin_addr.s_addr);
    if (a.family() == AF_INET6) {
      return H::combine_contiguous(std::move(h), a.storage_.v6.sin6_addr.s6_addr, 16);
    }
    return h;
  }

 private:
  // IPv4 or IPv6 only: 28 bytes rather than sockaddr_storage's 128 (an endpoint holds one, and
  // a mesh has tens of thousands of endpoints).
  union Storage {
    sockaddr sa;
    sockaddr_in v4;
    sockaddr_in6 v6;
  } storage_{};
};

// SO_ORIGINAL_DST (IPv4) / IP6T_SO_ORIGINAL_DST (IPv6) on an accepted socket: the destination
// the client dialled before iptables REDIRECT rewrote it. nullopt when not redirected.
std::optional<Address> GetOriginalDst(int fd);

}  // namespace pilotfish::net
