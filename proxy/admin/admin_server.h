// The admin HTTP endpoint (:15000 in Istio) on the main thread: a path -> handler table served
// with the same HTTP/1 codec as the data path. Handlers never touch worker state directly.
#pragma once

#include <functional>
#include <list>
#include <map>
#include <memory>
#include <string>

#include "proxy/event/dispatcher.h"
#include "proxy/net/address.h"

namespace pilotfish::admin {

struct AdminRequest {
  std::string method;
  std::string path;   // without query
  std::string query;  // after '?', raw
};
struct AdminResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=UTF-8";
  std::string body;
};
using AdminHandler = std::function<AdminResponse(const AdminRequest&)>;

class AdminServer {
 public:
  explicit AdminServer(event::Dispatcher& dispatcher);
  ~AdminServer();

  // `mutating` handlers answer any other method than POST with 405 as Envoy does
  // ("Method GET not allowed, POST required.").
  void AddHandler(const std::string& path, const std::string& help, bool mutating,
                  AdminHandler handler);
  // Binds and listens; returns the bound address or an error message.
  bool Listen(const net::Address& address, std::string* error);
  const net::Address& bound_address() const { return bound_; }
  AdminResponse Handle(const AdminRequest& request) const;

 private:
  class AdminConnection;
  struct Entry {
    std::string help;
    bool mutating;
    AdminHandler handler;
  };
  static void OnConnection(uv_stream_t* server, int status);
  // After a large response (/stats/prometheus of a big mesh, /config_dump): once it has been
  // written, hand the memory that built it back to the system (malloc keeps freed chunks).
  void TrimSoon();

  event::Dispatcher& dispatcher_;
  uv_tcp_t* tcp_ = nullptr;
  net::Address bound_;
  std::map<std::string, Entry> handlers_;
  std::list<std::unique_ptr<AdminConnection>> connections_;
  event::TimerPtr trim_timer_;
};

}  // namespace pilotfish::admin
