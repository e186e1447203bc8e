// Address helpers and original-destination recovery.
#include "proxy/net/address.h"

#include <arpa/inet.h>
#include <linux/netfilter_ipv4.h>

#include <cstring>

namespace pilotfish::net {
namespace {
constexpr int kSoOriginalDst = 80;  // SO_ORIGINAL_DST and IP6T_SO_ORIGINAL_DST share the number.
}

std::optional<Address> Address::FromSockaddr(const sockaddr* sa) {
  Address a;
  if (sa->sa_family == AF_INET) {
    memcpy(&a.storage_, sa, sizeof(sockaddr_in));
  } else if (sa->sa_family == AF_INET6) {
    memcpy(&a.storage_, sa, sizeof(sockaddr_in6));
  } else {
    return std::nullopt;
  }
  return a;
}

std::optional<Address> Address::FromIpPort(std::string_view ip, uint32_t port) {
  if (port > 65535) return std::nullopt;
  std::string s(ip);
  if (s.size() > 2 && s.front() == '[' && s.back() == ']') s = s.substr(1, s.size() - 2);
  Address a;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage_);
  if (inet_pton(AF_INET, s.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    return a;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage_);
  if (inet_pton(AF_INET6, s.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    return a;
  }
  return std::nullopt;
}

socklen_t Address::sockaddr_len() const {
  return family() == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
}

uint16_t Address::port() const {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
  if (family() == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
  }
  return 0;
}

void Address::AppendIp(std::string& out) const {
  if (family() == AF_INET) {
    const auto* b = reinterpret_cast<const unsigned char*>(&storage_.v4.sin_addr.s_addr);
    char buf[16];
    char* p = buf;
    for (int i = 0; i < 4; ++i) {
      const unsigned v = b[i];
      if (v >= 100) *p++ = static_cast<char>('0' + v / 100);
      if (v >= 10) *p++ = static_cast<char>('0' + v / 10 % 10);
      *p++ = static_cast<char>('0' + v % 10);
      *p++ = '.';
    }
    out.append(buf, p - 1);
  } else if (family() == AF_INET6) {
    char buf[INET6_ADDRSTRLEN] = {0};
    inet_ntop(AF_INET6, &storage_.v6.sin6_addr, buf, sizeof(buf));
    out.append(buf);
  }
}

void Address::AppendTo(std::string& out) const {
  if (family() == AF_INET6) out.push_back('[');
  AppendIp(out);
  if (family() == AF_INET6) out.push_back(']');
  out.push_back(':');
  char digits[8];
  char* end = digits + sizeof(digits);
  char* p = end;
  unsigned v = port();
  do {
    *--p = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  out.append(p, end);
}

std::string Address::ip() const {
  std::string out;
  AppendIp(out);
  return out;
}

std::string Address::ToString() const {
  std::string out;
  out.reserve(24);
  AppendTo(out);
  return out;
}

bool Address::IsAnyAddress() const {
  if (family() == AF_INET) {
    return reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr.s_addr == INADDR_ANY;
  }
  if (family() == AF_INET6) {
    return IN6_IS_ADDR_UNSPECIFIED(&reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr);
  }
  return false;
}

// Family, port and address bytes: what ip() and port() print, without formatting either side
// (hosts are compared in loops over whole endpoint sets).
bool Address::operator==(const Address& other) const {
  if (family() != other.family() || port() != other.port()) return false;
  if (family() == AF_INET) return storage_.v4.sin_addr.s_addr == other.storage_.v4.sin_addr.s_addr;
  if (family() == AF_INET6) {
    return memcmp(&storage_.v6.sin6_addr, &other.storage_.v6.sin6_addr, sizeof(in6_addr)) == 0;
  }
  return true;
}

std::optional<Address> GetOriginalDst(int fd) {
  sockaddr_storage local{};
  socklen_t len = sizeof(local);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) != 0) return std::nullopt;
  sockaddr_storage orig{};
  len = sizeof(orig);
  int level = local.ss_family == AF_INET6 ? SOL_IPV6 : SOL_IP;
  if (getsockopt(fd, level, kSoOriginalDst, &orig, &len) != 0) return std::nullopt;
  return Address::FromSockaddr(reinterpret_cast<sockaddr*>(&orig));
}

}  // namespace pilotfish::net
