// Loads an Envoy v3 Bootstrap from a file (-c: YAML, JSON, text or binary proto) and/or an
// inline YAML override (--config-yaml), with errors that name the file and the field.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "envoy/config/bootstrap/v3/bootstrap.pb.h"
#include "google/protobuf/message.h"

namespace pilotfish::bootstrap {

struct LoadOptions {
  std::string config_path = {};       // -c; may be empty when config_yaml is set
  std::string config_yaml = {};       // --config-yaml, merged over the file (MergeFrom)
  bool allow_unknown_fields = false;  // --allow-unknown-static-fields
};

absl::StatusOr<envoy::config::bootstrap::v3::Bootstrap> LoadBootstrap(const LoadOptions& options);

enum class ConfigFormat { kYaml, kJson, kTextProto, kBinaryProto };

// The format Envoy infers from a file name: .yaml/.yml, .json, .pb_text/.txt, .pb; else YAML.
ConfigFormat FormatForPath(absl::string_view path);

// Parses `content` into `message` (any config message: Bootstrap, or later an LDS/CDS file).
// `source` (a file name, or "--config-yaml") prefixes every error. Every JSON/YAML "@type" must
// name a type compiled into this binary.
absl::Status ParseConfig(absl::string_view content, ConfigFormat format, bool allow_unknown_fields,
                         absl::string_view source, google::protobuf::Message* message);

// YAML -> JSON text. Plain scalars become JSON numbers / true / false / null when they read as
// such (YAML 1.2 core schema: yes/on/... stay strings), quoted scalars stay strings; where the
// target field of `root` is a string, bytes or enum, scalars are always emitted as strings.
// `root` may be null (no schema: pure YAML 1.2 core typing).
absl::StatusOr<std::string> YamlToJson(absl::string_view yaml,
                                       const google::protobuf::Descriptor* root);

}  // namespace pilotfish::bootstrap
