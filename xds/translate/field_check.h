// The generic "every set field is either handled or reported" check used by all translators,
// plus the field-path and error helpers that keep their messages uniform.
#pragma once

#include <initializer_list>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace google::protobuf {
class Message;
}

namespace pilotfish::xds {

// Field paths as written in YAML/JSON: "a.b", "a.b[3]", "a.b[\"key\"]".
std::string FieldPath(absl::string_view parent, absl::string_view field);
std::string IndexPath(absl::string_view parent, absl::string_view field, size_t index);
std::string KeyPath(absl::string_view parent, absl::string_view field, absl::string_view key);

// "<path>: not supported by pilotfish" (with an optional " (<detail>)").
absl::Status NotSupported(absl::string_view path, absl::string_view detail = {});
// "<path>: <message>" as InvalidArgument.
absl::Status InvalidAt(absl::string_view path, absl::string_view message);
// Adds "<path>: <message>" to `warnings` when it is non-null.
void Warn(std::vector<std::string>* warnings, absl::string_view path, absl::string_view message);

// How a translator treats the fields of one message type.
struct FieldRules {
  // Fields the translator reads (or that are purely cosmetic: names, metadata, ...).
  std::initializer_list<absl::string_view> handled = {};
  // Fields accepted but ignored, with a warning naming them.
  std::initializer_list<absl::string_view> ignored = {};
};

// Checks every field set on `message` (Reflection::ListFields) against `rules`: a field in
// neither list is an error "<path>.<field>: not supported by pilotfish"; a field in `ignored`
// adds the warning "<path>.<field>: ignored by pilotfish". Unknown (newer-proto) fields add a
// warning. A name in `rules` that the message type does not have is an internal error (a typo
// in a translator, caught by its tests).
absl::Status CheckFields(const google::protobuf::Message& message, absl::string_view path,
                         const FieldRules& rules, std::vector<std::string>* warnings = nullptr);

// Collapses warnings that differ only in list indices ("routes[3]" -> "routes[*]") into one
// line with a count, for logging a large xDS update without flooding the log.
std::vector<std::string> SummarizeWarnings(const std::vector<std::string>& warnings);

}  // namespace pilotfish::xds
