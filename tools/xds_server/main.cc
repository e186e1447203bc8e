// pf_xds_server: a file-driven Envoy v3 xDS control plane (ADS and LDS/CDS/RDS/EDS, state of the
// world and delta, over insecure gRPC) for integration tests and standalone pilotfish. Serves
// the DiscoveryResponse-shaped files of --dir, reloading them when they change and on SIGHUP.

#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "tools/xds_server/ads_service.h"
#include "tools/xds_server/resource_store.h"

namespace pilotfish::xds_server {
namespace {

constexpr char kUsage[] =
    "usage: pf_xds_server --dir DIR [--port N (default 18000; 0: any)] [--address A "
    "(default 127.0.0.1)]\n"
    "                     [--unix PATH] [--port-file FILE]\n"
    "Serves every *.yaml, *.yml and *.json file of DIR (Envoy DiscoveryResponse format:\n"
    "version_info, resources: [{\"@type\": ...}]) over xDS; reloads on change and on SIGHUP.\n"
    "--unix alone listens only on the Unix socket; with --port, on both.\n";

struct Options {
  std::string dir;
  int port = 18000;
  bool port_given = false;
  std::string address = "127.0.0.1";
  std::string unix_path;
  std::string port_file;
};

bool ParseArgs(int argc, char** argv, Options* options) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    }
    std::string_view value;
    if (size_t eq = arg.find('='); eq != std::string_view::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      std::fprintf(stderr, "pf_xds_server: %s needs a value\n%s", argv[i], kUsage);
      return false;
    }
    if (arg == "--dir") {
      options->dir = std::string(value);
    } else if (arg == "--port") {
      int port = 0;
      if (!absl::SimpleAtoi(std::string(value), &port) || port < 0 || port > 65535) {
        std::fprintf(stderr, "pf_xds_server: bad --port %s\n", std::string(value).c_str());
        return false;
      }
      options->port = port;
      options->port_given = true;
    } else if (arg == "--address") {
      options->address = std::string(value);
    } else if (arg == "--unix") {
      options->unix_path = std::string(value);
    } else if (arg == "--port-file") {
      options->port_file = std::string(value);
    } else {
      std::fprintf(stderr, "pf_xds_server: unknown flag %s\n%s", std::string(arg).c_str(), kUsage);
      return false;
    }
  }
  if (options->dir.empty()) {
    std::fprintf(stderr, "pf_xds_server: --dir is required\n%s", kUsage);
    return false;
  }
  return true;
}

// Written to FILE.tmp then renamed, so a reader never sees a partial port.
bool WritePortFile(const std::string& path, int port) {
  const std::string tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "w");
  if (f == nullptr) return false;
  const bool ok = std::fprintf(f, "%d\n", port) > 0;
  if (std::fclose(f) != 0 || !ok) return false;
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

int Run(const Options& options) {
  const LogFn log = StdoutLog();
  ResourceStore store(options.dir, log);
  store.Reload();  // a bad directory is logged; the server starts empty and keeps watching
  AdsService service(&store, log);

  grpc::ServerBuilder builder;
  // One server per port (a restarted server must not share it), and a peer's HTTP/2 keepalive
  // pings (Envoy's connection_keepalive) are welcome at any rate.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 1000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  const bool tcp = options.unix_path.empty() || options.port_given;
  const bool v6 = options.address.find(':') != std::string::npos;
  const std::string tcp_address = v6 ? absl::StrCat("[", options.address, "]:", options.port)
                                     : absl::StrCat(options.address, ":", options.port);
  int bound_port = 0;
  if (tcp) {
    builder.AddListeningPort(tcp_address, grpc::InsecureServerCredentials(), &bound_port);
  }
  if (!options.unix_path.empty()) {
    builder.AddListeningPort(absl::StrCat("unix:", options.unix_path),
                             grpc::InsecureServerCredentials());
  }
  service.RegisterWith(&builder);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || (tcp && bound_port == 0)) {
    std::string where = tcp ? tcp_address : "";
    if (!options.unix_path.empty()) {
      absl::StrAppend(&where, tcp ? " and " : "", "unix:", options.unix_path);
    }
    std::fprintf(stderr, "pf_xds_server: cannot listen on %s\n", where.c_str());
    return 1;
  }
  if (tcp && !options.port_file.empty() && !WritePortFile(options.port_file, bound_port)) {
    std::fprintf(stderr, "pf_xds_server: cannot write %s\n", options.port_file.c_str());
    return 1;
  }
  if (tcp) {
    log(v6 ? absl::StrCat("listening on [", options.address, "]:", bound_port)
           : absl::StrCat("listening on ", options.address, ":", bound_port));
  }
  if (!options.unix_path.empty()) log(absl::StrCat("listening on unix:", options.unix_path));
  store.StartWatching(std::chrono::milliseconds(100));

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  while (true) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      store.Reload();
      continue;
    }
    log(absl::StrCat("shutting down on signal ", sig));
    break;
  }
  store.StopWatching();
  service.Shutdown();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  server->Wait();
  return 0;
}

}  // namespace
}  // namespace pilotfish::xds_server

int main(int argc, char** argv) {
  using namespace pilotfish::xds_server;
  // Signals are taken by sigwait() in Run(); blocked before any thread starts, so every thread
  // (gRPC's, the watcher, the streams') inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  Options options;
  if (!ParseArgs(argc, argv, &options)) return 2;
  return Run(options);
}
