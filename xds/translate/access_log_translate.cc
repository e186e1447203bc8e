// Access log translation; see access_log_translate.h.
#include "xds/translate/access_log_translate.h"

#include <google/protobuf/unknown_field_set.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "envoy/config/core/v3/substitution_format_string.pb.h"
#include "envoy/extensions/access_loggers/file/v3/file.pb.h"
#include "google/protobuf/struct.pb.h"
#include "proxy/access_log/filter.h"
#include "proxy/access_log/formatter.h"
#include "xds/translate/common_translate.h"
#include "xds/translate/field_check.h"
#include "xds/translate/proto_types.h"
#include "xds/translate/status_macros.h"

namespace pilotfish::xds {

namespace {

using envoy::config::accesslog::v3::AccessLogFilter;
using envoy::config::accesslog::v3::ComparisonFilter;
using envoy::config::core::v3::SubstitutionFormatString;

// A format string is compiled here once so that an unknown operator is a config error naming
// the field (Envoy rejects them at load); the runtime compiles it again when building loggers.
absl::Status ValidateFormat(const std::string& format, absl::string_view path) {
  if (auto pieces = access_log::ParseFormat(format); !pieces.ok()) {
    return InvalidAt(path, pieces.status().message());
  }
  return absl::OkStatus();
}

// json_format: flat {"key": "%OPERATOR%"} objects only, keys sorted for a stable output.
absl::Status TranslateJsonFormat(const google::protobuf::Struct& format, absl::string_view path,
                                 config::AccessLog* out) {
  for (const auto& [key, value] : format.fields()) {
    if (value.kind_case() != google::protobuf::Value::kStringValue) {
      return NotSupported(FieldPath(path, key),
                          "only string values in json_format (no nesting, numbers or bools)");
    }
    XDS_RETURN_IF_ERROR(ValidateFormat(value.string_value(), FieldPath(path, key)));
    out->json_format.emplace_back(key, value.string_value());
  }
  std::sort(out->json_format.begin(), out->json_format.end());
  return absl::OkStatus();
}

absl::Status TranslateLogFormat(const SubstitutionFormatString& format, absl::string_view path,
                                config::AccessLog* out, std::vector<std::string>* warnings) {
  // content_type only matters to local reply formats; json_format_options.sort_properties is
  // what pilotfish always does.
  XDS_RETURN_IF_ERROR(
      CheckFields(format, path,
                  {.handled = {"text_format", "json_format", "text_format_source", "content_type",
                               "omit_empty_values", "json_format_options"}},
                  warnings));
  out->omit_empty_values = format.omit_empty_values();
  switch (format.format_case()) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    case SubstitutionFormatString::kTextFormat:
      out->text_format = format.text_format();
      return ValidateFormat(out->text_format, FieldPath(path, "text_format"));
#pragma GCC diagnostic pop
    case SubstitutionFormatString::kTextFormatSource: {
      const std::string source_path = FieldPath(path, "text_format_source");
      XDS_ASSIGN_OR_RETURN(out->text_format,
                           InlineDataSource(format.text_format_source(), source_path));
      return ValidateFormat(out->text_format, source_path);
    }
    case SubstitutionFormatString::kJsonFormat:
      out->json_typed = true;
      return TranslateJsonFormat(format.json_format(), FieldPath(path, "json_format"), out);
    default:
      break;
  }
  return absl::OkStatus();
}

absl::Status TranslateFileLog(const google::protobuf::Any& any, absl::string_view path,
                              config::AccessLog* out, std::vector<std::string>* warnings) {
  using envoy::extensions::access_loggers::file::v3::FileAccessLog;
  FileAccessLog file;
  if (!any.UnpackTo(&file)) return InvalidAt(path, "cannot parse FileAccessLog");
  XDS_RETURN_IF_ERROR(CheckFields(
      file, path,
      {.handled = {"path", "format", "json_format", "typed_json_format", "log_format"}}));
  if (file.path().empty()) return InvalidAt(FieldPath(path, "path"), "must not be empty");
  out->path = file.path();
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  switch (file.access_log_format_case()) {
    case FileAccessLog::kFormat:
      out->text_format = file.format();
      return ValidateFormat(out->text_format, FieldPath(path, "format"));
    case FileAccessLog::kJsonFormat:  // the v2-era dictionary: every value a string
      out->json_typed = false;
      return TranslateJsonFormat(file.json_format(), FieldPath(path, "json_format"), out);
    case FileAccessLog::kTypedJsonFormat:
      out->json_typed = true;
      return TranslateJsonFormat(file.typed_json_format(), FieldPath(path, "typed_json_format"),
                                 out);
    case FileAccessLog::kLogFormat:
      return TranslateLogFormat(file.log_format(), FieldPath(path, "log_format"), out, warnings);
    default:
      return absl::OkStatus();  // Envoy's default format
  }
#pragma GCC diagnostic pop
}

// Stdout/StderrAccessLog { SubstitutionFormatString log_format = 1; }, decoded from the wire
// format so that it works whether or not stream.proto is compiled into this build.
absl::Status TranslateStreamLog(const google::protobuf::Any& any, absl::string_view path,
                                config::AccessLog* out, std::vector<std::string>* warnings) {
  google::protobuf::UnknownFieldSet fields;
  if (!fields.ParseFromString(any.value())) return InvalidAt(path, "cannot parse access logger");
  for (int i = 0; i < fields.field_count(); ++i) {
    const google::protobuf::UnknownField& field = fields.field(i);
    if (field.number() != 1 ||
        field.type() != google::protobuf::UnknownField::TYPE_LENGTH_DELIMITED) {
      return NotSupported(path, absl::StrCat("field number ", field.number()));
    }
    SubstitutionFormatString format;
    if (!format.ParseFromString(field.length_delimited())) {
      return InvalidAt(FieldPath(path, "log_format"), "cannot parse");
    }
    XDS_RETURN_IF_ERROR(TranslateLogFormat(format, FieldPath(path, "log_format"), out, warnings));
  }
  return absl::OkStatus();
}

absl::Status TranslateComparison(const ComparisonFilter& c, absl::string_view path,
                                 config::AccessLogFilter* out, std::vector<std::string>* warnings) {
  XDS_RETURN_IF_ERROR(CheckFields(c, path, {.handled = {"op", "value"}}));
  if (!c.has_value()) return InvalidAt(FieldPath(path, "value"), "is required");
  // No runtime in pilotfish: Envoy's value with no runtime override is default_value.
  XDS_RETURN_IF_ERROR(CheckFields(c.value(), FieldPath(path, "value"),
                                  {.handled = {"default_value", "runtime_key"}}));
  switch (c.op()) {
    case ComparisonFilter::EQ:
      out->op = config::AccessLogFilter::Op::kEq;
      break;
    case ComparisonFilter::GE:
      out->op = config::AccessLogFilter::Op::kGe;
      break;
    case ComparisonFilter::LE:
      out->op = config::AccessLogFilter::Op::kLe;
      break;
    default:
      return InvalidAt(FieldPath(path, "op"), "unknown comparison");
  }
  out->value = c.value().default_value();
  return absl::OkStatus();
}

absl::StatusOr<config::AccessLogFilter> TranslateFilter(const AccessLogFilter& f,
                                                        absl::string_view path,
                                                        std::vector<std::string>* warnings) {
  using Kind = config::AccessLogFilter::Kind;
  XDS_RETURN_IF_ERROR(
      CheckFields(f, path,
                  {.handled = {"status_code_filter", "duration_filter", "not_health_check_filter",
                               "response_flag_filter", "and_filter", "or_filter"}}));
  config::AccessLogFilter out;
  switch (f.filter_specifier_case()) {
    case AccessLogFilter::kStatusCodeFilter: {
      out.kind = Kind::kStatusCode;
      const std::string p = FieldPath(path, "status_code_filter");
      XDS_RETURN_IF_ERROR(CheckFields(f.status_code_filter(), p, {.handled = {"comparison"}}));
      XDS_RETURN_IF_ERROR(TranslateComparison(f.status_code_filter().comparison(),
                                              FieldPath(p, "comparison"), &out, warnings));
      break;
    }
    case AccessLogFilter::kDurationFilter: {
      out.kind = Kind::kDuration;
      const std::string p = FieldPath(path, "duration_filter");
      XDS_RETURN_IF_ERROR(CheckFields(f.duration_filter(), p, {.handled = {"comparison"}}));
      XDS_RETURN_IF_ERROR(TranslateComparison(f.duration_filter().comparison(),
                                              FieldPath(p, "comparison"), &out, warnings));
      break;
    }
    case AccessLogFilter::kNotHealthCheckFilter:
      out.kind = Kind::kNotHealthCheck;
      break;
    case AccessLogFilter::kResponseFlagFilter: {
      out.kind = Kind::kResponseFlag;
      const auto& flags = f.response_flag_filter().flags();
      for (int i = 0; i < flags.size(); ++i) {
        if (!access_log::IsEnvoyResponseFlagName(flags[i])) {
          return InvalidAt(IndexPath(FieldPath(path, "response_flag_filter"), "flags", i),
                           absl::StrCat("unknown response flag '", flags[i], "'"));
        }
        out.flags.push_back(flags[i]);
      }
      break;
    }
    case AccessLogFilter::kAndFilter:
    case AccessLogFilter::kOrFilter: {
      const bool is_and = f.filter_specifier_case() == AccessLogFilter::kAndFilter;
      out.kind = is_and ? Kind::kAnd : Kind::kOr;
      const std::string p = FieldPath(path, is_and ? "and_filter" : "or_filter");
      const auto& children = is_and ? f.and_filter().filters() : f.or_filter().filters();
      if (children.size() < 2) return InvalidAt(FieldPath(p, "filters"), "needs 2 or more");
      for (int i = 0; i < children.size(); ++i) {
        XDS_ASSIGN_OR_RETURN(config::AccessLogFilter child,
                             TranslateFilter(children[i], IndexPath(p, "filters", i), warnings));
        out.filters.push_back(std::move(child));
      }
      break;
    }
    default:
      return InvalidAt(path, "a filter is required");
  }
  return out;
}

}  // namespace

absl::StatusOr<std::vector<config::AccessLog>> TranslateAccessLogs(
    const google::protobuf::RepeatedPtrField<envoy::config::accesslog::v3::AccessLog>& logs,
    absl::string_view path, std::vector<std::string>* warnings) {
  std::vector<config::AccessLog> out;
  for (int i = 0; i < logs.size(); ++i) {
    const auto& log = logs[i];
    const std::string log_path = absl::StrCat(path, "[", i, "]");
    XDS_RETURN_IF_ERROR(
        CheckFields(log, log_path, {.handled = {"name", "typed_config", "filter"}}));
    config::AccessLog sink;
    if (log.has_filter()) {
      XDS_ASSIGN_OR_RETURN(sink.filter,
                           TranslateFilter(log.filter(), FieldPath(log_path, "filter"), warnings));
    }
    const std::string config_path = FieldPath(log_path, "typed_config");
    if (!log.has_typed_config()) {
      // Envoy builds a logger named without typed_config from its default (empty) config.
      if (log.name() == "envoy.access_loggers.stdout") {
        sink.path = "/dev/stdout";
      } else if (log.name() == "envoy.access_loggers.stderr") {
        sink.path = "/dev/stderr";
      } else {
        return InvalidAt(log_path,
                         absl::StrCat("access logger '", log.name(), "' needs a typed_config"));
      }
    } else {
      const absl::string_view type = TypeNameOf(log.typed_config());
      if (type == kFileAccessLogType) {
        XDS_RETURN_IF_ERROR(TranslateFileLog(log.typed_config(), config_path, &sink, warnings));
      } else if (type == kStdoutAccessLogType || type == kStderrAccessLogType) {
        sink.path = type == kStdoutAccessLogType ? "/dev/stdout" : "/dev/stderr";
        XDS_RETURN_IF_ERROR(TranslateStreamLog(log.typed_config(), config_path, &sink, warnings));
      } else {
        return InvalidAt(log_path,
                         absl::StrCat("access logger type ", log.typed_config().type_url(),
                                      " is not supported by pilotfish (only file, "
                                      "stdout and stderr loggers)"));
      }
    }
    out.push_back(std::move(sink));
  }
  return out;
}

}  // namespace pilotfish::xds
