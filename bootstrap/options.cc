// Command-line parsing: Envoy's flag names (long and short), values as "--f v" or "--f=v".
#include "bootstrap/options.h"

#include <map>

#include "proxy/common/str_util.h"

namespace pilotfish::bootstrap {
namespace {
// Flags accepted for compatibility with Envoy/Istio command lines that change nothing here.
const char* const kIgnoredWithValue[] = {
    "--base-id",  "--local-address-ip-version", "--component-log-level", "--log-format",
    "--log-path", "--parent-shutdown-time-s",   "--service-zone",        "--restart-epoch"};
const char* const kIgnoredBool[] = {"--disable-hot-restart", "--skip-deprecated-logs",
                                    "--log-format-escaped", "--enable-core-dump"};
}  // namespace

std::string Usage() {
  return "usage: pilotfish -c <bootstrap.yaml|json> [options]\n"
         "  -c, --config-path PATH         Envoy v3 bootstrap (YAML or JSON)\n"
         "      --config-yaml YAML         merged over the file's bootstrap\n"
         "      --concurrency N            worker threads (default: cores)\n"
         "  -l, --log-level LEVEL          trace|debug|info|warning|error|critical|off\n"
         "      --drain-time-s S           drain time on shutdown (default 600)\n"
         "      --drain-strategy S         gradual|immediate\n"
         "      --file-flush-interval-msec MS  access log flush interval (default 10000)\n"
         "      --file-flush-min-size-kb KB    early flush at this many buffered KiB (64)\n"
         "      --mode serve|validate      validate: check the config and exit 0/1\n"
         "      --service-node ID          node.id\n"
         "      --service-cluster NAME     node.cluster\n"
         "      --allow-unknown-static-fields\n"
         "      --demo                     serve the embedded demo bootstrap\n"
         "      --version\n";
}

absl::StatusOr<Options> ParseOptions(int argc, char** argv) {
  Options o;
  std::vector<std::string> args(argv + 1, argv + argc);
  for (size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i], value;
    bool has_inline = false;
    if (StartsWith(flag, "--")) {
      if (size_t eq = flag.find('='); eq != std::string::npos) {
        value = flag.substr(eq + 1);
        flag.resize(eq);
        has_inline = true;
      }
    }
    auto take = [&](std::string* out) -> absl::Status {
      if (has_inline) {
        *out = value;
        return absl::OkStatus();
      }
      if (i + 1 >= args.size()) return absl::InvalidArgumentError(flag + " needs a value");
      *out = args[++i];
      return absl::OkStatus();
    };
    auto take_int = [&](int* out) -> absl::Status {
      std::string v;
      if (auto s = take(&v); !s.ok()) return s;
      if (!ParseInt(std::string_view(v), out)) {
        return absl::InvalidArgumentError(flag + ": not a number: " + v);
      }
      return absl::OkStatus();
    };
    absl::Status s;
    if (flag == "-c" || flag == "--config-path") {
      s = take(&o.config_path);
    } else if (flag == "--config-yaml") {
      s = take(&o.config_yaml);
    } else if (flag == "--concurrency") {
      s = take_int(&o.concurrency);
    } else if (flag == "-l" || flag == "--log-level") {
      s = take(&o.log_level);
    } else if (flag == "--drain-time-s") {
      s = take_int(&o.drain_time_s);
    } else if (flag == "--file-flush-interval-msec") {
      s = take_int(&o.file_flush_interval_msec);
      if (s.ok() && o.file_flush_interval_msec <= 0) {
        s = absl::InvalidArgumentError("--file-flush-interval-msec must be > 0");
      }
    } else if (flag == "--file-flush-min-size-kb") {
      s = take_int(&o.file_flush_min_size_kb);
      if (s.ok() && o.file_flush_min_size_kb < 0) {
        s = absl::InvalidArgumentError("--file-flush-min-size-kb must be >= 0");
      }
    } else if (flag == "--drain-strategy") {
      s = take(&o.drain_strategy);
      if (s.ok() && o.drain_strategy != "gradual" && o.drain_strategy != "immediate") {
        s = absl::InvalidArgumentError("--drain-strategy must be gradual or immediate");
      }
    } else if (flag == "--mode") {
      s = take(&o.mode);
      if (s.ok() && o.mode != "serve" && o.mode != "validate") {
        s = absl::InvalidArgumentError("--mode " + o.mode +
                                       ": pilotfish supports serve and validate");
      }
    } else if (flag == "--service-node") {
      s = take(&o.service_node);
    } else if (flag == "--service-cluster") {
      s = take(&o.service_cluster);
    } else if (flag == "--allow-unknown-static-fields" || flag == "--allow-unknown-fields") {
      o.allow_unknown_static_fields = true;
    } else if (flag == "--demo") {
      o.demo = true;
    } else if (flag == "--version") {
      o.version = true;
    } else if (flag == "-h" || flag == "--help") {
      o.help = true;
    } else {
      bool known = false;
      for (const char* f : kIgnoredWithValue) {
        if (flag == f) {
          std::string ignored;
          s = take(&ignored);
          known = true;
        }
      }
      for (const char* f : kIgnoredBool) known = known || flag == f;
      if (!known) return absl::InvalidArgumentError("unknown flag: " + args[i]);
    }
    if (!s.ok()) return s;
  }
  if (o.concurrency < 0) return absl::InvalidArgumentError("--concurrency must be >= 0");
  return o;
}

}  // namespace pilotfish::bootstrap
