// One bidirectional xDS gRPC stream (SotW or delta, aggregated or not) on gRPC's callback API.
// gRPC's threads run the callbacks; they only hand messages over (on_message / on_close) and
// never touch proxy state. Send() may be called from any thread; writes are queued in order.
#pragma once

#include <google/protobuf/arena.h>
#include <grpcpp/grpcpp.h>

#include <deque>
#include <functional>
#include <memory>
#include <mutex>

namespace pilotfish::xds {

template <typename Request, typename Response>
class GrpcStream : public grpc::ClientBidiReactor<Request, Response> {
 public:
  // A received message lives in its own protobuf arena, which the pointer keeps alive. It is parsed
  // on a gRPC thread: in an arena, its thousands of small allocations (a resource, a string each)
  // become a few large blocks freed together wherever the message is dropped, rather than
  // fragmenting that thread's malloc arena (~0.5 MiB left resident per gRPC thread after a
  // 1,000-cluster push, which malloc_trim cannot return).
  using Message = std::shared_ptr<const Response>;
  using OnMessage = std::function<void(Message)>;
  using OnClose = std::function<void(grpc::Status)>;
  // Starts the RPC on `context` with `reactor` (e.g. stub->async()->DeltaAggregatedResources).
  using StartRpc =
      std::function<void(grpc::ClientContext*, grpc::ClientBidiReactor<Request, Response>*)>;

  // Both callbacks run on a gRPC thread; on_close runs exactly once, last.
  static std::shared_ptr<GrpcStream> Start(const StartRpc& start, OnMessage on_message,
                                           OnClose on_close) {
    std::shared_ptr<GrpcStream> stream(new GrpcStream(std::move(on_message), std::move(on_close)));
    stream->self_ = stream;  // released in OnDone
    start(&stream->context_, stream.get());
    // Send() starts writes from outside gRPC's callbacks. gRPC destroys the call's stream object
    // before OnDone, so a write started then would run on a dead object ("pure virtual method
    // called" when a connect fails at once). The hold keeps the call alive until the pending
    // read fails (the stream is ending), and from then on Send() starts nothing.
    stream->AddHold();
    stream->StartNextRead();
    stream->StartCall();
    return stream;
  }

  void Send(Request request) {
    std::lock_guard<std::mutex> lock(mu_);
    if (done_) return;
    queue_.push_back(std::move(request));
    if (!writing_) {
      writing_ = true;
      this->StartWrite(&queue_.front());
    }
  }

  // Ends the stream; on_close follows (with CANCELLED).
  void Cancel() { context_.TryCancel(); }

  void OnWriteDone(bool ok) override {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.pop_front();
    if (!ok || done_ || queue_.empty()) {
      writing_ = false;
      return;
    }
    this->StartWrite(&queue_.front());
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the stream is ending; OnDone follows once the hold is gone
      {
        std::lock_guard<std::mutex> lock(mu_);
        done_ = true;  // no write starts after this
      }
      this->RemoveHold();
      return;
    }
    on_message_(Message(std::move(arena_), response_));  // shares the arena's ownership
    StartNextRead();
  }

  void OnDone(const grpc::Status& status) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
    }
    on_close_(status);
    self_.reset();  // may destroy this
  }

 private:
  GrpcStream(OnMessage on_message, OnClose on_close)
      : on_message_(std::move(on_message)), on_close_(std::move(on_close)) {}

  void StartNextRead() {
    google::protobuf::ArenaOptions options;
    options.start_block_size = 4 * 1024;
    options.max_block_size = 64 * 1024;
    arena_ = std::make_shared<google::protobuf::Arena>(options);
    response_ = google::protobuf::Arena::CreateMessage<Response>(arena_.get());
    this->StartRead(response_);
  }

  grpc::ClientContext context_;
  std::shared_ptr<google::protobuf::Arena> arena_;  // owns response_
  Response* response_ = nullptr;                    // being read into
  OnMessage on_message_;
  OnClose on_close_;
  std::mutex mu_;
  std::deque<Request> queue_;  // front is being written
  bool writing_ = false;
  bool done_ = false;
  std::shared_ptr<GrpcStream> self_;
};

}  // namespace pilotfish::xds
