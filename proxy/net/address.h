// Socket addresses: parse, format, and recover the pre-REDIRECT destination.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <optional>
#include <string>
#include <string_view>

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
