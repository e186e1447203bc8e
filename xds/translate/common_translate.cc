// Shared conversions for the translators; see common_translate.h.
#include "xds/translate/common_translate.h"

#include <arpa/inet.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "xds/translate/field_check.h"
#include "xds/translate/proto_types.h"
#include "xds/translate/status_macros.h"

namespace pilotfish::xds {

namespace {

// google.protobuf.Duration's documented range: +-10,000 years.
constexpr int64_t kMaxDurationSeconds = 315576000000;

bool ValidHeaderName(absl::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (c == '\0' || c == '\r' || c == '\n') return false;
  }
  return true;
}

bool ValidHeaderValue(absl::string_view value) {
  for (char c : value) {
    if (c == '\0' || c == '\r' || c == '\n') return false;
  }
  return true;
}

// Envoy's HeaderParser refuses to add or remove pseudo-headers and `host`.
bool ModifiableHeader(absl::string_view lower_name) {
  return lower_name[0] != ':' && lower_name != "host";
}

absl::Status TranslateHeadersToAdd(
    const google::protobuf::RepeatedPtrField<envoy::config::core::v3::HeaderValueOption>& in,
    absl::string_view path, std::vector<config::HeaderValueOption>* out) {
  using envoy::config::core::v3::HeaderValueOption;
  for (int i = 0; i < in.size(); ++i) {
    const HeaderValueOption& option = in[i];
    const std::string option_path = absl::StrCat(path, "[", i, "]");
    XDS_RETURN_IF_ERROR(
        CheckFields(option, option_path,
                    {.handled = {"header", "append", "append_action", "keep_empty_value"}}));
    const std::string header_path = FieldPath(option_path, "header");
    XDS_RETURN_IF_ERROR(
        CheckFields(option.header(), header_path, {.handled = {"key", "value", "raw_value"}}));
    config::HeaderValueOption header;
    header.key = absl::AsciiStrToLower(option.header().key());
    if (!ValidHeaderName(header.key)) {
      return InvalidAt(FieldPath(header_path, "key"), "invalid header name");
    }
    if (!ModifiableHeader(header.key)) {
      return InvalidAt(
          FieldPath(header_path, "key"),
          absl::StrCat("':'-prefixed or host headers may not be modified: ", header.key));
    }
    if (!option.header().raw_value().empty()) {
      if (!option.header().value().empty()) {
        return InvalidAt(header_path, "only one of value and raw_value may be set");
      }
      header.value = option.header().raw_value();
    } else {
      header.value = option.header().value();
    }
    if (!ValidHeaderValue(header.value)) {
      return InvalidAt(header_path, "header value contains CR, LF or NUL");
    }
// `append` is deprecated in favour of append_action, but Envoy still honours it.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    const bool has_append = option.has_append();
    const bool append = option.append().value();
#pragma GCC diagnostic pop
    if (has_append) {
      if (option.append_action() != HeaderValueOption::APPEND_IF_EXISTS_OR_ADD) {
        return InvalidAt(option_path, "append and append_action are mutually exclusive");
      }
      header.action = append ? config::HeaderAppendAction::kAppendIfExistsOrAdd
                             : config::HeaderAppendAction::kOverwriteIfExistsOrAdd;
    } else {
      switch (option.append_action()) {
        case HeaderValueOption::APPEND_IF_EXISTS_OR_ADD:
          header.action = config::HeaderAppendAction::kAppendIfExistsOrAdd;
          break;
        case HeaderValueOption::ADD_IF_ABSENT:
          header.action = config::HeaderAppendAction::kAddIfAbsent;
          break;
        case HeaderValueOption::OVERWRITE_IF_EXISTS_OR_ADD:
          header.action = config::HeaderAppendAction::kOverwriteIfExistsOrAdd;
          break;
        case HeaderValueOption::OVERWRITE_IF_EXISTS:
          header.action = config::HeaderAppendAction::kOverwriteIfExists;
          break;
        default:
          return InvalidAt(FieldPath(option_path, "append_action"), "unknown value");
      }
    }
    header.keep_empty_value = option.keep_empty_value();
    out->push_back(std::move(header));
  }
  return absl::OkStatus();
}

absl::Status TranslateHeadersToRemove(const google::protobuf::RepeatedPtrField<std::string>& in,
                                      absl::string_view path, std::vector<std::string>* out) {
  for (int i = 0; i < in.size(); ++i) {
    std::string name = absl::AsciiStrToLower(in[i]);
    if (!ValidHeaderName(name)) {
      return InvalidAt(absl::StrCat(path, "[", i, "]"), "invalid header name");
    }
    if (!ModifiableHeader(name)) {
      return InvalidAt(absl::StrCat(path, "[", i, "]"),
                       absl::StrCat("':'-prefixed or host headers may not be removed: ", name));
    }
    out->push_back(std::move(name));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<config::Millis> ToMillis(const google::protobuf::Duration& duration,
                                        absl::string_view path) {
  if (duration.seconds() < 0 || duration.nanos() < 0 || duration.nanos() > 999999999 ||
      duration.seconds() > kMaxDurationSeconds) {
    return InvalidAt(path, "duration out of range (must be >= 0)");
  }
  return config::Millis(duration.seconds() * 1000 + duration.nanos() / 1000000);
}

absl::StatusOr<config::Millis> ToPositiveMillis(const google::protobuf::Duration& duration,
                                                absl::string_view path) {
  absl::StatusOr<config::Millis> ms = ToMillis(duration, path);
  if (!ms.ok()) return ms.status();
  if (duration.seconds() == 0 && duration.nanos() == 0) {
    return InvalidAt(path, "duration must be greater than 0");
  }
  return ms;
}

absl::StatusOr<config::Millis> InitialFetchTimeout(const envoy::config::core::v3::ConfigSource& s,
                                                   absl::string_view path) {
  if (!s.has_initial_fetch_timeout()) return config::Millis(15000);
  return ToMillis(s.initial_fetch_timeout(), FieldPath(path, "initial_fetch_timeout"));
}

absl::StatusOr<uint32_t> ToPerMillion(const envoy::type::v3::FractionalPercent& fraction,
                                      absl::string_view path) {
  uint64_t scale = 0;
  switch (fraction.denominator()) {
    case envoy::type::v3::FractionalPercent::HUNDRED:
      scale = 10000;
      break;
    case envoy::type::v3::FractionalPercent::TEN_THOUSAND:
      scale = 100;
      break;
    case envoy::type::v3::FractionalPercent::MILLION:
      scale = 1;
      break;
    default:
      return InvalidAt(FieldPath(path, "denominator"), "unknown denominator");
  }
  const uint64_t per_million = static_cast<uint64_t>(fraction.numerator()) * scale;
  return static_cast<uint32_t>(per_million > 1000000 ? 1000000 : per_million);
}

absl::StatusOr<double> ToPercent(const envoy::type::v3::Percent& percent, absl::string_view path) {
  if (!(percent.value() >= 0.0 && percent.value() <= 100.0)) {
    return InvalidAt(FieldPath(path, "value"), "must be between 0 and 100");
  }
  return percent.value();
}

bool IsIpLiteral(absl::string_view address) {
  const std::string s(address);
  unsigned char buf[sizeof(struct in6_addr)];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

absl::StatusOr<config::SocketAddress> TranslateSocketAddress(
    const envoy::config::core::v3::SocketAddress& address, absl::string_view path, AddressUse use) {
  XDS_RETURN_IF_ERROR(
      CheckFields(address, path, {.handled = {"protocol", "address", "port_value"}}));
  if (address.protocol() != envoy::config::core::v3::SocketAddress::TCP) {
    return NotSupported(FieldPath(path, "protocol"), "only TCP");
  }
  if (address.address().empty()) return InvalidAt(FieldPath(path, "address"), "must be set");
  if (use != AddressUse::kDnsEndpoint && !IsIpLiteral(address.address())) {
    return InvalidAt(FieldPath(path, "address"),
                     absl::StrCat("'", address.address(), "' is not an IP address"));
  }
  if (address.port_value() > 65535) {
    return InvalidAt(FieldPath(path, "port_value"), "must be <= 65535");
  }
  config::SocketAddress out;
  out.address = address.address();
  out.port = address.port_value();
  return out;
}

absl::StatusOr<config::SocketAddress> TranslateAddress(
    const envoy::config::core::v3::Address& address, absl::string_view path, AddressUse use) {
  XDS_RETURN_IF_ERROR(CheckFields(address, path, {.handled = {"socket_address", "pipe"}}));
  if (address.has_socket_address()) {
    return TranslateSocketAddress(address.socket_address(), FieldPath(path, "socket_address"), use);
  }
  if (address.has_pipe()) {
    const std::string pipe_path = FieldPath(path, "pipe");
    if (use == AddressUse::kDnsEndpoint || use == AddressUse::kBind) {
      return InvalidAt(pipe_path, "a pipe address is not valid here");
    }
    XDS_RETURN_IF_ERROR(CheckFields(address.pipe(), pipe_path, {.handled = {"path"}}));
    if (address.pipe().path().empty())
      return InvalidAt(FieldPath(pipe_path, "path"), "must be set");
    config::SocketAddress out;
    out.pipe_path = address.pipe().path();
    return out;
  }
  return InvalidAt(path, "one of socket_address or pipe is required");
}

absl::StatusOr<std::string> InlineDataSource(const envoy::config::core::v3::DataSource& source,
                                             absl::string_view path) {
  switch (source.specifier_case()) {
    case envoy::config::core::v3::DataSource::kInlineString:
      return source.inline_string();
    case envoy::config::core::v3::DataSource::kInlineBytes:
      return source.inline_bytes();
    case envoy::config::core::v3::DataSource::kFilename:
      return NotSupported(FieldPath(path, "filename"), "only inline_string / inline_bytes");
    case envoy::config::core::v3::DataSource::kEnvironmentVariable:
      return NotSupported(FieldPath(path, "environment_variable"),
                          "only inline_string / inline_bytes");
    default:
      break;
  }
  if (source.has_watched_directory()) return NotSupported(FieldPath(path, "watched_directory"));
  return std::string();
}

absl::Status TranslateHeaderMutations(
    const google::protobuf::RepeatedPtrField<envoy::config::core::v3::HeaderValueOption>&
        request_add,
    const google::protobuf::RepeatedPtrField<std::string>& request_remove,
    const google::protobuf::RepeatedPtrField<envoy::config::core::v3::HeaderValueOption>&
        response_add,
    const google::protobuf::RepeatedPtrField<std::string>& response_remove, absl::string_view path,
    config::HeaderMutations* out) {
  XDS_RETURN_IF_ERROR(TranslateHeadersToAdd(request_add, FieldPath(path, "request_headers_to_add"),
                                            &out->request_headers_to_add));
  XDS_RETURN_IF_ERROR(TranslateHeadersToRemove(request_remove,
                                               FieldPath(path, "request_headers_to_remove"),
                                               &out->request_headers_to_remove));
  XDS_RETURN_IF_ERROR(TranslateHeadersToAdd(
      response_add, FieldPath(path, "response_headers_to_add"), &out->response_headers_to_add));
  return TranslateHeadersToRemove(response_remove, FieldPath(path, "response_headers_to_remove"),
                                  &out->response_headers_to_remove);
}

absl::Status CheckTransportSocket(const envoy::config::core::v3::TransportSocket& socket,
                                  absl::string_view path) {
  const absl::string_view type =
      socket.has_typed_config() ? TypeNameOf(socket.typed_config()) : absl::string_view();
  if (socket.name() == "envoy.transport_sockets.tls" || absl::StartsWith(type, kTlsTypePrefix)) {
    return InvalidAt(path,
                     "transport_socket envoy.transport_sockets.tls: TLS is not supported yet");
  }
  if (type == kRawBufferType ||
      (type.empty() && socket.name() == "envoy.transport_sockets.raw_buffer")) {
    return absl::OkStatus();
  }
  return NotSupported(path, absl::StrCat("transport socket ", socket.name(),
                                         type.empty() ? "" : absl::StrCat(" (", type, ")")));
}

std::optional<config::Millis> DisabledIfZero(config::Millis ms) {
  if (ms.count() == 0) return std::nullopt;
  return ms;
}

absl::Status TranslateHttpProtocolOptions(
    const envoy::config::core::v3::HttpProtocolOptions& options, absl::string_view path,
    std::optional<config::Millis>* idle_timeout,
    std::optional<config::Millis>* max_connection_duration, uint32_t* max_requests_per_connection) {
  XDS_RETURN_IF_ERROR(CheckFields(
      options, path,
      {.handled = {"idle_timeout", "max_connection_duration", "max_requests_per_connection"}}));
  if (options.has_idle_timeout()) {
    XDS_ASSIGN_OR_RETURN(config::Millis ms,
                         ToMillis(options.idle_timeout(), FieldPath(path, "idle_timeout")));
    *idle_timeout = DisabledIfZero(ms);
  }
  if (options.has_max_connection_duration()) {
    XDS_ASSIGN_OR_RETURN(config::Millis ms, ToMillis(options.max_connection_duration(),
                                                     FieldPath(path, "max_connection_duration")));
    *max_connection_duration = DisabledIfZero(ms);
  }
  if (options.has_max_requests_per_connection()) {
    *max_requests_per_connection = options.max_requests_per_connection().value();
  }
  return absl::OkStatus();
}

}  // namespace pilotfish::xds
