// AdminServer: accepts on the main loop and answers each request from the handler table.
#include "proxy/admin/admin_server.h"

#include <malloc.h>

#include "proxy/http1/codec.h"
#include "proxy/net/connection.h"

namespace pilotfish::admin {

constexpr size_t kTrimAfterBytes = 1 << 20;

class AdminServer::AdminConnection : public net::ConnectionCallbacks,
                                     public http1::ServerCodecCallbacks {
 public:
  AdminConnection(AdminServer& server, net::ConnectionPtr conn)
      : server_(server), conn_(std::move(conn)), codec_(*this, http1::CodecLimits{}) {}
  void Start(std::list<std::unique_ptr<AdminConnection>>::iterator pos) {
    pos_ = pos;
    conn_->SetCallbacks(this);
    conn_->StartReading();
  }

  void OnData(std::string_view data) override {
    while (!data.empty() && !done_) {
      size_t consumed = 0;
      auto st = codec_.Dispatch(data, &consumed);
      data.remove_prefix(consumed);
      if (st == http1::DispatchStatus::kError || st == http1::DispatchStatus::kUpgrade) {
        Reply(AdminResponse{400, "text/plain", "bad request\n"}, false);
        return;
      }
      if (st == http1::DispatchStatus::kPaused) codec_.Resume();
    }
  }
  void OnEof() override { conn_->Close(net::Connection::CloseType::kFlushWrite); }
  void OnClose(net::CloseReason) override {
    done_ = true;
    auto owned = std::move(*pos_);
    server_.connections_.erase(pos_);
    server_.dispatcher_.DeferredDelete(
        std::unique_ptr<event::DeferredDeletable>(new Holder(std::move(owned))));
  }

  void OnRequestHeaders(http::RequestHeadersPtr headers, bool end_stream) override {
    request_ = std::move(headers);
    if (end_stream) Respond();
  }
  void OnRequestData(std::string_view, bool end_stream) override {
    if (end_stream) Respond();
  }

 private:
  struct Holder : event::DeferredDeletable {
    explicit Holder(std::unique_ptr<AdminConnection> c) : c(std::move(c)) {}
    std::unique_ptr<AdminConnection> c;
  };

  void Respond() {
    AdminRequest req;
    req.method = request_->method;
    std::string_view target = request_->path;
    size_t q = target.find('?');
    req.path = std::string(target.substr(0, q));
    if (q != std::string_view::npos) req.query = std::string(target.substr(q + 1));
    Reply(server_.Handle(req), codec_.request_keep_alive());
  }

  void Reply(const AdminResponse& r, bool keep_alive) {
    http::ResponseHeaders h;
    h.status = r.status;
    h.headers.Add("content-type", r.content_type);
    h.headers.Add("content-length", std::to_string(r.body.size()));
    h.headers.Add("cache-control", "no-cache, max-age=0");
    h.headers.Add("x-content-type-options", "nosniff");
    std::string out;
    http1::BodyFraming framing;
    http1::EncodeResponseHeaders(h, request_ ? request_->version_minor : 1,
                                 request_ && request_->method == "HEAD", keep_alive, out, &framing);
    if (!(request_ && request_->method == "HEAD")) out += r.body;
    conn_->Write(std::move(out));
    if (r.body.size() >= kTrimAfterBytes) server_.TrimSoon();
    if (!keep_alive) conn_->Close(net::Connection::CloseType::kFlushWrite);
  }

  AdminServer& server_;
  net::ConnectionPtr conn_;
  http1::ServerCodec codec_;
  http::RequestHeadersPtr request_;
  std::list<std::unique_ptr<AdminConnection>>::iterator pos_;
  bool done_ = false;
};

void AdminServer::TrimSoon() {
  if (trim_timer_ == nullptr) {
    trim_timer_ = std::make_unique<event::Timer>(dispatcher_, [] { malloc_trim(0); });
  }
  if (!trim_timer_->Enabled()) trim_timer_->Enable(std::chrono::milliseconds(500));
}

AdminServer::AdminServer(event::Dispatcher& dispatcher) : dispatcher_(dispatcher) {
  AddHandler("/help", "print out list of admin commands", false, [this](const AdminRequest&) {
    AdminResponse r;
    r.body = "admin commands are:\n";
    for (const auto& [path, e] : handlers_) r.body += "  " + path + ": " + e.help + "\n";
    return r;
  });
}

AdminServer::~AdminServer() {
  for (auto& c : connections_) c.reset();
  connections_.clear();
  if (tcp_ != nullptr) event::Dispatcher::CloseAndDelete(tcp_);
}

void AdminServer::AddHandler(const std::string& path, const std::string& help, bool mutating,
                             AdminHandler handler) {
  handlers_[path] = Entry{help, mutating, std::move(handler)};
}

AdminResponse AdminServer::Handle(const AdminRequest& request) const {
  std::string path = request.path == "/" ? "/help" : request.path;
  auto it = handlers_.find(path);
  if (it == handlers_.end()) {
    AdminResponse r = handlers_.at("/help").handler(request);
    r.status = 404;
    r.body = "invalid path. " + r.body;
    return r;
  }
  if (it->second.mutating && request.method != "POST") {
    return AdminResponse{405, "text/plain; charset=UTF-8",
                         "Method " + request.method + " not allowed, POST required."};
  }
  return it->second.handler(request);
}

bool AdminServer::Listen(const net::Address& address, std::string* error) {
  tcp_ = new uv_tcp_t;
  uv_tcp_init(dispatcher_.loop(), tcp_);
  tcp_->data = this;
  int rc = uv_tcp_bind(tcp_, address.sockaddr_ptr(), 0);
  if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(tcp_), 128, &OnConnection);
  if (rc != 0) {
    *error = "admin: cannot listen on " + address.ToString() + ": " + uv_strerror(rc);
    return false;
  }
  sockaddr_storage ss{};
  int len = sizeof(ss);
  uv_tcp_getsockname(tcp_, reinterpret_cast<sockaddr*>(&ss), &len);
  if (auto a = net::Address::FromSockaddr(reinterpret_cast<sockaddr*>(&ss))) bound_ = *a;
  return true;
}

void AdminServer::OnConnection(uv_stream_t* server, int status) {
  auto* self = static_cast<AdminServer*>(server->data);
  if (self == nullptr || status != 0) return;
  auto conn = net::Connection::Accept(self->dispatcher_, server);
  if (conn == nullptr) return;
  self->connections_.push_back(std::make_unique<AdminConnection>(*self, std::move(conn)));
  self->connections_.back()->Start(std::prev(self->connections_.end()));
}

}  // namespace pilotfish::admin
