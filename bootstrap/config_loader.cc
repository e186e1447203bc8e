// Bootstrap loading: file reading, YAML -> JSON (schema-guided), "@type" checks and protobuf
// parsing with errors that name the file and the field; see config_loader.h.
#include "bootstrap/config_loader.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/text_format.h>
#include <google/protobuf/util/json_util.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "proxy/common/json.h"
#include "xds/translate/proto_types.h"

namespace pilotfish::bootstrap {

namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

constexpr int kMaxDepth = 100;

// --------------------------------------------------------------------------- YAML -> JSON

// What the schema expects for one value.
struct Target {
  enum Kind {
    kUntyped,  // no schema (Struct / Value / unknown field): YAML 1.2 core typing
    kString,   // string, bytes, enum, Duration, Timestamp, FieldMask: scalars become strings
    kScalar,   // number or bool: YAML core typing (protobuf also accepts quoted numbers)
    kMessage,  // a message: map keys are its fields
    kAny,      // google.protobuf.Any: "@type" selects the message for the other keys
  } kind = kUntyped;
  const Descriptor* message = nullptr;
};

Target TargetForMessage(const Descriptor* descriptor) {
  const std::string& name = descriptor->full_name();
  if (name == "google.protobuf.Any") return {Target::kAny, descriptor};
  if (name == "google.protobuf.Struct" || name == "google.protobuf.Value" ||
      name == "google.protobuf.ListValue") {
    return {Target::kUntyped, nullptr};
  }
  if (name == "google.protobuf.Duration" || name == "google.protobuf.Timestamp" ||
      name == "google.protobuf.FieldMask" || name == "google.protobuf.StringValue" ||
      name == "google.protobuf.BytesValue") {
    return {Target::kString, nullptr};
  }
  if (absl::StartsWith(name, "google.protobuf.") && absl::EndsWith(name, "Value")) {
    return {Target::kScalar, nullptr};  // the numeric and bool wrappers
  }
  return {Target::kMessage, descriptor};
}

// Target for one element of `field` (the field itself when it is singular).
Target TargetForField(const FieldDescriptor* field) {
  switch (field->type()) {
    case FieldDescriptor::TYPE_STRING:
    case FieldDescriptor::TYPE_BYTES:
    case FieldDescriptor::TYPE_ENUM:
      return {Target::kString, nullptr};
    case FieldDescriptor::TYPE_MESSAGE:
    case FieldDescriptor::TYPE_GROUP:
      return TargetForMessage(field->message_type());
    default:
      return {Target::kScalar, nullptr};
  }
}

bool IsNullScalar(absl::string_view s) {
  return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

bool AllOf(absl::string_view s, bool (*pred)(unsigned char)) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!pred(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bool IsOctal(unsigned char c) { return c >= '0' && c <= '7'; }
bool IsDigit(unsigned char c) { return absl::ascii_isdigit(c); }
bool IsHex(unsigned char c) { return absl::ascii_isxdigit(c); }

// A YAML 1.2 core-schema integer as canonical JSON (decimal, no sign '+', no leading zeros).
bool CoreInteger(absl::string_view s, std::string* json) {
  bool negative = false;
  absl::string_view digits = s;
  if (!digits.empty() && (digits[0] == '-' || digits[0] == '+')) {
    negative = digits[0] == '-';
    digits.remove_prefix(1);
  }
  uint64_t value = 0;
  if (absl::StartsWith(s, "0o") && AllOf(s.substr(2), IsOctal)) {
    for (char c : s.substr(2)) {
      if (value > (UINT64_MAX >> 3)) return false;
      value = value * 8 + static_cast<uint64_t>(c - '0');
    }
  } else if (absl::StartsWith(s, "0x") && AllOf(s.substr(2), IsHex)) {
    if (!absl::SimpleHexAtoi(s.substr(2), &value)) return false;
  } else if (AllOf(digits, IsDigit)) {
    if (!absl::SimpleAtoi(digits, &value)) return false;
  } else {
    return false;
  }
  if (negative && value > static_cast<uint64_t>(INT64_MAX) + 1) return false;
  *json = negative && value != 0 ? absl::StrCat("-", value) : absl::StrCat(value);
  return true;
}

// A YAML 1.2 core-schema float as a JSON number or, for inf/nan, protobuf's string spelling.
bool CoreFloat(absl::string_view s, std::string* json) {
  if (s == ".inf" || s == ".Inf" || s == ".INF" || s == "+.inf" || s == "+.Inf" || s == "+.INF") {
    *json = "\"Infinity\"";
    return true;
  }
  if (s == "-.inf" || s == "-.Inf" || s == "-.INF") {
    *json = "\"-Infinity\"";
    return true;
  }
  if (s == ".nan" || s == ".NaN" || s == ".NAN") {
    *json = "\"NaN\"";
    return true;
  }
  // [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
  std::string sign;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    if (s[0] == '-') sign = "-";
    s.remove_prefix(1);
  }
  size_t i = 0;
  std::string int_part, frac_part, exp_part;
  while (i < s.size() && absl::ascii_isdigit(s[i])) int_part.push_back(s[i++]);
  bool has_dot = false;
  if (i < s.size() && s[i] == '.') {
    has_dot = true;
    ++i;
    while (i < s.size() && absl::ascii_isdigit(s[i])) frac_part.push_back(s[i++]);
  }
  if (int_part.empty() && frac_part.empty()) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) exp_part.push_back(s[i++]);
    const size_t digits_start = exp_part.size();
    while (i < s.size() && absl::ascii_isdigit(s[i])) exp_part.push_back(s[i++]);
    if (exp_part.size() == digits_start) return false;
  }
  if (i != s.size()) return false;
  if (!has_dot && exp_part.empty()) return false;  // an integer, not a float
  const size_t first_nonzero = int_part.find_first_not_of('0');
  int_part = first_nonzero == std::string::npos ? "0" : int_part.substr(first_nonzero);
  if (frac_part.empty()) frac_part = "0";
  std::string number =
      absl::StrCat(sign, int_part, ".", frac_part, exp_part.empty() ? "" : "e", exp_part);
  // JSON parsers reject numbers beyond a double's range: leave those as strings.
  errno = 0;
  const double value = std::strtod(number.c_str(), nullptr);
  if (errno == ERANGE && std::isinf(value)) return false;
  *json = std::move(number);
  return true;
}

class YamlJsonWriter {
 public:
  absl::Status Emit(const YAML::Node& node, const Target& target, const std::string& path,
                    int depth, std::string* out);

 private:
  absl::Status EmitScalar(const YAML::Node& node, const Target& target, std::string* out);
  absl::Status EmitMap(const YAML::Node& node, const Target& target, const std::string& path,
                       int depth, std::string* out);
  absl::Status EmitField(const YAML::Node& node, const FieldDescriptor* field,
                         const std::string& path, int depth, std::string* out);
  // The entries of a YAML map with "<<" merge keys resolved (explicit keys win, then merged
  // maps in order); duplicate explicit keys are an error.
  absl::Status MapEntries(const YAML::Node& node, const std::string& path, int depth,
                          std::vector<std::pair<std::string, YAML::Node>>* entries);
};

const FieldDescriptor* FindFieldByJsonName(const Descriptor& message, absl::string_view name) {
  for (int i = 0; i < message.field_count(); ++i) {
    if (message.field(i)->json_name() == name) return message.field(i);
  }
  return nullptr;
}

// "a.key", or a["some.key"] when the key is not a plain field name (map keys).
std::string Child(const std::string& path, absl::string_view key) {
  const bool plain = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return absl::ascii_isalnum(c) || c == '_' || c == '@';
  });
  if (!plain) return absl::StrCat(path, "[\"", key, "\"]");
  return path.empty() ? std::string(key) : absl::StrCat(path, ".", key);
}

absl::Status AtPath(const std::string& path, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(path.empty() ? "<root>" : path, ": ", message));
}

absl::Status YamlJsonWriter::EmitScalar(const YAML::Node& node, const Target& target,
                                        std::string* out) {
  const std::string& value = node.Scalar();
  const bool plain = node.Tag() == "?";
  if (!plain) {  // quoted, or an explicit tag such as !!str
    AppendJsonString(value, *out);
    return absl::OkStatus();
  }
  if (IsNullScalar(value)) {
    out->append("null");
    return absl::OkStatus();
  }
  if (target.kind == Target::kString) {
    AppendJsonString(value, *out);
    return absl::OkStatus();
  }
  if (value == "true" || value == "True" || value == "TRUE") {
    out->append("true");
    return absl::OkStatus();
  }
  if (value == "false" || value == "False" || value == "FALSE") {
    out->append("false");
    return absl::OkStatus();
  }
  std::string number;
  if (CoreInteger(value, &number) || CoreFloat(value, &number)) {
    out->append(number);
    return absl::OkStatus();
  }
  AppendJsonString(value, *out);
  return absl::OkStatus();
}

absl::Status YamlJsonWriter::MapEntries(const YAML::Node& node, const std::string& path, int depth,
                                        std::vector<std::pair<std::string, YAML::Node>>* entries) {
  absl::flat_hash_set<std::string> seen;
  std::vector<YAML::Node> merges;
  for (const auto& kv : node) {
    if (!kv.first.IsScalar()) return AtPath(path, "map keys must be scalars");
    const std::string& key = kv.first.Scalar();
    if (key == "<<" && kv.first.Tag() == "?") {
      if (kv.second.IsMap()) {
        merges.push_back(kv.second);
      } else if (kv.second.IsSequence()) {
        for (const auto& m : kv.second) merges.push_back(m);
      } else {
        return AtPath(Child(path, "<<"), "a merge key needs a map or a list of maps");
      }
      continue;
    }
    if (!seen.insert(key).second) return AtPath(Child(path, key), "duplicate key");
    entries->emplace_back(key, kv.second);
  }
  for (const YAML::Node& merge : merges) {
    if (!merge.IsMap())
      return AtPath(Child(path, "<<"), "a merge key needs a map or a list of maps");
    std::vector<std::pair<std::string, YAML::Node>> merged;
    if (depth > kMaxDepth) return AtPath(path, "nesting too deep (an alias cycle?)");
    if (absl::Status s = MapEntries(merge, path, depth + 1, &merged); !s.ok()) return s;
    for (auto& [key, value] : merged) {
      if (seen.insert(key).second) entries->emplace_back(key, value);
    }
  }
  return absl::OkStatus();
}

absl::Status YamlJsonWriter::EmitField(const YAML::Node& node, const FieldDescriptor* field,
                                       const std::string& path, int depth, std::string* out) {
  if (field->is_map() && node.IsMap()) {
    const Target value_target = TargetForField(field->message_type()->map_value());
    std::vector<std::pair<std::string, YAML::Node>> entries;
    if (absl::Status s = MapEntries(node, path, depth, &entries); !s.ok()) return s;
    out->push_back('{');
    for (size_t i = 0; i < entries.size(); ++i) {
      if (i > 0) out->push_back(',');
      AppendJsonString(entries[i].first, *out);
      out->push_back(':');
      const std::string child = absl::StrCat(path, "[\"", entries[i].first, "\"]");
      if (absl::Status s = Emit(entries[i].second, value_target, child, depth + 1, out); !s.ok()) {
        return s;
      }
    }
    out->push_back('}');
    return absl::OkStatus();
  }
  const Target element = TargetForField(field);
  if (field->is_repeated() && node.IsSequence()) {
    out->push_back('[');
    for (size_t i = 0; i < node.size(); ++i) {
      if (i > 0) out->push_back(',');
      const std::string child = absl::StrCat(path, "[", i, "]");
      if (absl::Status s = Emit(node[i], element, child, depth + 1, out); !s.ok()) return s;
    }
    out->push_back(']');
    return absl::OkStatus();
  }
  return Emit(node, element, path, depth, out);
}

absl::Status YamlJsonWriter::EmitMap(const YAML::Node& node, const Target& target,
                                     const std::string& path, int depth, std::string* out) {
  std::vector<std::pair<std::string, YAML::Node>> entries;
  if (absl::Status s = MapEntries(node, path, depth, &entries); !s.ok()) return s;
  const Descriptor* message = target.kind == Target::kMessage ? target.message : nullptr;
  Target any_value;  // an Any of a well-known type keeps its payload under "value"
  if (target.kind == Target::kAny) {
    for (const auto& [key, value] : entries) {
      if (key != "@type" || !value.IsScalar()) continue;
      const std::string& url = value.Scalar();
      const std::string type = url.substr(url.rfind('/') + 1);
      const Descriptor* d =
          google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(type);
      if (d != nullptr) {
        const Target t = TargetForMessage(d);
        if (t.kind == Target::kMessage) {
          message = d;
        } else {
          any_value = t;
        }
      }
    }
  }
  out->push_back('{');
  for (size_t i = 0; i < entries.size(); ++i) {
    const auto& [key, value] = entries[i];
    if (i > 0) out->push_back(',');
    AppendJsonString(key, *out);
    out->push_back(':');
    const std::string child = Child(path, key);
    absl::Status s;
    const FieldDescriptor* field = nullptr;
    if (message != nullptr) {
      field = message->FindFieldByName(key);
      if (field == nullptr) field = FindFieldByJsonName(*message, key);
    }
    if (key == "@type" && target.kind == Target::kAny) {
      s = Emit(value, {Target::kString, nullptr}, child, depth + 1, out);
    } else if (field != nullptr) {
      s = EmitField(value, field, child, depth + 1, out);
    } else if (key == "value" && target.kind == Target::kAny) {
      s = Emit(value, any_value, child, depth + 1, out);
    } else {
      s = Emit(value, Target{}, child, depth + 1, out);  // unknown: protobuf reports it
    }
    if (!s.ok()) return s;
  }
  out->push_back('}');
  return absl::OkStatus();
}

absl::Status YamlJsonWriter::Emit(const YAML::Node& node, const Target& target,
                                  const std::string& path, int depth, std::string* out) {
  if (depth > kMaxDepth) return AtPath(path, "nesting too deep (an alias cycle?)");
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      out->append("null");
      return absl::OkStatus();
    case YAML::NodeType::Scalar:
      return EmitScalar(node, target, out);
    case YAML::NodeType::Sequence: {
      // A list where the schema has no list: protobuf reports the type mismatch.
      const Target element = target.kind == Target::kUntyped ? target : Target{};
      out->push_back('[');
      for (size_t i = 0; i < node.size(); ++i) {
        if (i > 0) out->push_back(',');
        const std::string child = absl::StrCat(path, "[", i, "]");
        if (absl::Status s = Emit(node[i], element, child, depth + 1, out); !s.ok()) return s;
      }
      out->push_back(']');
      return absl::OkStatus();
    }
    case YAML::NodeType::Map:
      return EmitMap(node, target, path, depth, out);
  }
  return AtPath(path, "unexpected YAML node");
}

// ------------------------------------------------------------------------ "@type" checks

// Names of message types that pilotfish knows but has not compiled (clearer than "unknown").
std::string UnsupportedTypeHint(absl::string_view type) {
  if (absl::StartsWith(type, xds::kTlsTypePrefix)) return " (TLS is not supported yet)";
  return "";
}

// Collects "<path>: unknown or unsupported type URL <url>" for every "@type" that names a type
// this binary does not have (protobuf cannot parse such an Any at all).
void CheckTypeUrls(const google::protobuf::Value& value, const std::string& path,
                   std::vector<std::string>* errors) {
  if (value.has_list_value()) {
    for (int i = 0; i < value.list_value().values_size(); ++i) {
      CheckTypeUrls(value.list_value().values(i), absl::StrCat(path, "[", i, "]"), errors);
    }
    return;
  }
  if (!value.has_struct_value()) return;
  const auto& fields = value.struct_value().fields();
  if (auto it = fields.find("@type"); it != fields.end() && it->second.has_string_value()) {
    const std::string& url = it->second.string_value();
    const size_t slash = url.rfind('/');
    const std::string type = slash == std::string::npos ? url : url.substr(slash + 1);
    if (slash == std::string::npos ||
        google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(type) ==
            nullptr) {
      errors->push_back(absl::StrCat(path.empty() ? "<root>" : path,
                                     ": unknown or unsupported type URL ", url,
                                     UnsupportedTypeHint(type)));
    }
  }
  // Walk keys in sorted order so that the report does not depend on hashing.
  std::vector<std::string> keys;
  for (const auto& [key, unused] : fields) keys.push_back(key);
  std::sort(keys.begin(), keys.end());
  for (const std::string& key : keys) CheckTypeUrls(fields.at(key), Child(path, key), errors);
}

// protobuf says "(a.b[0]) name: Cannot find field." or "(a.b): invalid value ..."; rewrite to
// the "a.b[0].name: unknown field" form the translators use.
std::string NormalizeProtobufError(absl::string_view message) {
  if (!absl::StartsWith(message, "(")) return std::string(message);
  const size_t close = message.find(')');
  if (close == absl::string_view::npos) return std::string(message);
  std::string path(message.substr(1, close - 1));
  absl::string_view rest = message.substr(close + 1);
  if (absl::StartsWith(rest, " ")) {  // " field: message"
    rest.remove_prefix(1);
    const size_t colon = rest.find(':');
    if (colon != absl::string_view::npos &&
        rest.substr(0, colon).find(' ') == absl::string_view::npos) {
      path = path.empty() ? std::string(rest.substr(0, colon))
                          : absl::StrCat(path, ".", rest.substr(0, colon));
      rest.remove_prefix(colon);
    }
  }
  std::string out = absl::StrCat(path.empty() ? "<root>" : path, rest);
  if (absl::EndsWith(out, ": Cannot find field.")) {
    out.resize(out.size() - std::strlen(" Cannot find field."));
    out += " unknown field";
  }
  return out;
}

absl::Status ParseJson(const std::string& json, bool allow_unknown_fields, absl::string_view source,
                       google::protobuf::Message* message) {
  google::protobuf::Value tree;
  auto tree_status = google::protobuf::util::JsonStringToMessage(json, &tree);
  if (!tree_status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": invalid JSON: ", tree_status.message().as_string()));
  }
  if (!tree.has_struct_value()) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": the configuration must be a map"));
  }
  std::vector<std::string> unknown_types;
  CheckTypeUrls(tree, "", &unknown_types);
  if (!unknown_types.empty()) {
    // All of them at once (up to a point): a user porting a config wants the list of what is
    // missing, not one item per attempt.
    constexpr size_t kMaxListed = 8;
    std::string more;
    if (unknown_types.size() > kMaxListed) {
      more = absl::StrCat("; and ", unknown_types.size() - kMaxListed, " more");
      unknown_types.resize(kMaxListed);
    }
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": ", absl::StrJoin(unknown_types, "; "), more));
  }
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = allow_unknown_fields;
  auto status = google::protobuf::util::JsonStringToMessage(json, message, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": ", NormalizeProtobufError(status.message().as_string())));
  }
  return absl::OkStatus();
}

class TextErrorCollector : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    if (first_.empty()) first_ = absl::StrCat(line + 1, ":", column + 1, ": ", message);
  }
  const std::string& first() const { return first_; }

 private:
  std::string first_;
};

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": cannot open: ", std::strerror(errno)));
  }
  std::string content;
  char buffer[65536];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), file)) > 0) content.append(buffer, n);
  const bool failed = std::ferror(file) != 0;
  const int error = errno;
  std::fclose(file);
  if (failed) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": cannot read: ", std::strerror(error)));
  }
  return content;
}

}  // namespace

absl::StatusOr<std::string> YamlToJson(absl::string_view yaml, const Descriptor* root) {
  // yaml-cpp reports errors by throwing; they are caught here, at the library boundary.
  try {
    std::vector<YAML::Node> documents = YAML::LoadAll(std::string(yaml));
    if (documents.size() > 1) {
      return absl::InvalidArgumentError("only one YAML document is allowed");
    }
    if (documents.empty() || documents[0].IsNull()) {
      return absl::InvalidArgumentError("the configuration is empty");
    }
    if (!documents[0].IsMap()) {
      return absl::InvalidArgumentError("the configuration must be a map");
    }
    std::string json;
    YamlJsonWriter writer;
    const Target target = root != nullptr ? TargetForMessage(root) : Target{};
    if (absl::Status s = writer.Emit(documents[0], target, "", 0, &json); !s.ok()) return s;
    return json;
  } catch (const YAML::Exception& e) {
    if (e.mark.is_null()) return absl::InvalidArgumentError(absl::StrCat("YAML: ", e.msg));
    return absl::InvalidArgumentError(absl::StrCat("YAML error at line ", e.mark.line + 1,
                                                   ", column ", e.mark.column + 1, ": ", e.msg));
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("YAML: ", e.what()));
  }
}

ConfigFormat FormatForPath(absl::string_view path) {
  const std::string lower = absl::AsciiStrToLower(path);
  if (absl::EndsWith(lower, ".json")) return ConfigFormat::kJson;
  if (absl::EndsWith(lower, ".pb_text") || absl::EndsWith(lower, ".txt")) {
    return ConfigFormat::kTextProto;
  }
  if (absl::EndsWith(lower, ".pb")) return ConfigFormat::kBinaryProto;
  return ConfigFormat::kYaml;  // .yaml, .yml and anything else (YAML reads JSON too)
}

absl::Status ParseConfig(absl::string_view content, ConfigFormat format, bool allow_unknown_fields,
                         absl::string_view source, google::protobuf::Message* message) {
  xds::EnsureEnvoyProtosLinked();
  switch (format) {
    case ConfigFormat::kYaml: {
      absl::StatusOr<std::string> json = YamlToJson(content, message->GetDescriptor());
      if (!json.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(source, ": ", json.status().message()));
      }
      return ParseJson(*json, allow_unknown_fields, source, message);
    }
    case ConfigFormat::kJson:
      return ParseJson(std::string(content), allow_unknown_fields, source, message);
    case ConfigFormat::kTextProto: {
      google::protobuf::TextFormat::Parser parser;
      TextErrorCollector errors;
      parser.RecordErrorsTo(&errors);
      parser.AllowUnknownField(allow_unknown_fields);
      if (!parser.ParseFromString(std::string(content), message)) {
        return absl::InvalidArgumentError(absl::StrCat(source, ":", errors.first()));
      }
      return absl::OkStatus();
    }
    case ConfigFormat::kBinaryProto:
      if (!message->ParseFromString(std::string(content))) {
        return absl::InvalidArgumentError(
            absl::StrCat(source, ": cannot parse as a binary ", message->GetTypeName()));
      }
      return absl::OkStatus();
  }
  return absl::InternalError("unknown config format");
}

absl::StatusOr<envoy::config::bootstrap::v3::Bootstrap> LoadBootstrap(const LoadOptions& options) {
  envoy::config::bootstrap::v3::Bootstrap bootstrap;
  if (options.config_path.empty() && options.config_yaml.empty()) {
    return absl::InvalidArgumentError(
        "no configuration: give a bootstrap file (-c) and/or --config-yaml");
  }
  if (!options.config_path.empty()) {
    absl::StatusOr<std::string> content = ReadFile(options.config_path);
    if (!content.ok()) return content.status();
    if (absl::Status s = ParseConfig(*content, FormatForPath(options.config_path),
                                     options.allow_unknown_fields, options.config_path, &bootstrap);
        !s.ok()) {
      return s;
    }
  }
  if (!options.config_yaml.empty()) {
    envoy::config::bootstrap::v3::Bootstrap overlay;
    if (absl::Status s = ParseConfig(options.config_yaml, ConfigFormat::kYaml,
                                     options.allow_unknown_fields, "--config-yaml", &overlay);
        !s.ok()) {
      return s;
    }
    bootstrap.MergeFrom(overlay);  // Envoy's semantics: repeated fields append
  }
  return bootstrap;
}

}  // namespace pilotfish::bootstrap
