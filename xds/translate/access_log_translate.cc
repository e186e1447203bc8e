// Access log translation; see access_log_translate.h.
#include "xds/translate/access_log_translate.h"

#include <google/protobuf/unknown_field_set.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "envoy/config/core/v3/substitution_format_string.pb.h"
#include "envoy/extensions/access_loggers/file/v3/file.pb.h"
#include "google/protobuf/struct.pb.h"
#include "xds/translate/common_translate.h"
#include "xds/translate/field_check.h"
#include "xds/translate/proto_types.h"
#include "xds/translate/status_macros.h"

namespace pilotfish::xds {

namespace {

using envoy::config::core::v3::SubstitutionFormatString;

// json_format: flat {"key": "%OPERATOR%"} objects only, keys sorted for a stable output.
absl::Status TranslateJsonFormat(const google::protobuf::Struct& format, absl::string_view path,
                                 config::AccessLog* out) {
  for (const auto& [key, value] : format.fields()) {
    if (value.kind_case() != google::protobuf::Value::kStringValue) {
      return NotSupported(FieldPath(path, key),
                          "only string values in json_format (no nesting, numbers or bools)");
    }
    out->json_format.emplace_back(key, value.string_value());
  }
  std::sort(out->json_format.begin(), out->json_format.end());
  return absl::OkStatus();
}

absl::Status TranslateLogFormat(const SubstitutionFormatString& format, absl::string_view path,
                                config::AccessLog* out, std::vector<std::string>* warnings) {
  XDS_RETURN_IF_ERROR(
      CheckFields(format, path,
                  {.handled = {"text_format", "json_format", "text_format_source", "content_type"},
                   .ignored = {"json_format_options"}},
                  warnings));
  switch (format.format_case()) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    case SubstitutionFormatString::kTextFormat:
      out->text_format = format.text_format();
      break;
#pragma GCC diagnostic pop
    case SubstitutionFormatString::kTextFormatSource: {
      XDS_ASSIGN_OR_RETURN(
          out->text_format,
          InlineDataSource(format.text_format_source(), FieldPath(path, "text_format_source")));
      break;
    }
    case SubstitutionFormatString::kJsonFormat:
      return TranslateJsonFormat(format.json_format(), FieldPath(path, "json_format"), out);
    default:
      break;
  }
  return absl::OkStatus();
}

absl::Status TranslateFileLog(const google::protobuf::Any& any, absl::string_view path,
                              config::AccessLog* out, std::vector<std::string>* warnings) {
  envoy::extensions::access_loggers::file::v3::FileAccessLog file;
  if (!any.UnpackTo(&file)) return InvalidAt(path, "cannot parse FileAccessLog");
  XDS_RETURN_IF_ERROR(
      CheckFields(file, path, {.handled = {"path", "format", "json_format", "log_format"}}));
  if (file.path().empty()) return InvalidAt(FieldPath(path, "path"), "must not be empty");
  out->path = file.path();
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  if (file.has_json_format()) {
    return TranslateJsonFormat(file.json_format(), FieldPath(path, "json_format"), out);
  }
  out->text_format = file.format();
#pragma GCC diagnostic pop
  if (file.has_log_format()) {
    return TranslateLogFormat(file.log_format(), FieldPath(path, "log_format"), out, warnings);
  }
  return absl::OkStatus();
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

}  // namespace

absl::StatusOr<std::vector<config::AccessLog>> TranslateAccessLogs(
    const google::protobuf::RepeatedPtrField<envoy::config::accesslog::v3::AccessLog>& logs,
    absl::string_view path, std::vector<std::string>* warnings) {
  std::vector<config::AccessLog> out;
  for (int i = 0; i < logs.size(); ++i) {
    const auto& log = logs[i];
    const std::string log_path = absl::StrCat(path, "[", i, "]");
    XDS_RETURN_IF_ERROR(CheckFields(log, log_path, {.handled = {"name", "typed_config"}}));
    config::AccessLog sink;
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
