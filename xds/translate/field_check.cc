// Reflection-based allow-list check over protobuf messages; see field_check.h.
#include "xds/translate/field_check.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/unknown_field_set.h>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace pilotfish::xds {

std::string FieldPath(absl::string_view parent, absl::string_view field) {
  if (parent.empty()) return std::string(field);
  return absl::StrCat(parent, ".", field);
}

std::string IndexPath(absl::string_view parent, absl::string_view field, size_t index) {
  return absl::StrCat(FieldPath(parent, field), "[", index, "]");
}

std::string KeyPath(absl::string_view parent, absl::string_view field, absl::string_view key) {
  return absl::StrCat(FieldPath(parent, field), "[\"", key, "\"]");
}

absl::Status NotSupported(absl::string_view path, absl::string_view detail) {
  if (detail.empty())
    return absl::InvalidArgumentError(absl::StrCat(path, ": not supported by pilotfish"));
  return absl::InvalidArgumentError(
      absl::StrCat(path, ": not supported by pilotfish (", detail, ")"));
}

absl::Status InvalidAt(absl::string_view path, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", message));
}

void Warn(std::vector<std::string>* warnings, absl::string_view path, absl::string_view message) {
  if (warnings != nullptr) warnings->push_back(absl::StrCat(path, ": ", message));
}

namespace {

bool Contains(std::initializer_list<absl::string_view> names, absl::string_view name) {
  for (absl::string_view n : names) {
    if (n == name) return true;
  }
  return false;
}

absl::Status CheckRuleNames(const google::protobuf::Descriptor& descriptor,
                            std::initializer_list<absl::string_view> names) {
  for (absl::string_view name : names) {
    if (descriptor.FindFieldByName(std::string(name)) == nullptr) {
      return absl::InternalError(absl::StrCat("field rules for ", descriptor.full_name(),
                                              " name a field it does not have: ", name));
    }
  }
  return absl::OkStatus();
}

// Checking the rule names costs a descriptor lookup per name, and CheckFields runs for every
// message of every resource (a 1,000-cluster push: tens of thousands of calls). The names are
// literals at each call site, so a (message type, name addresses) pair once found valid stays so.
absl::Status CheckRuleNamesOnce(const google::protobuf::Descriptor& descriptor,
                                const FieldRules& rules) {
  uint64_t key = reinterpret_cast<uintptr_t>(&descriptor);
  auto mix = [&key](uint64_t v) { key = (key ^ v) * 0x100000001b3ULL; };
  for (const auto* list : {&rules.handled, &rules.ignored}) {
    mix(list->size());
    for (absl::string_view n : *list) {
      mix(reinterpret_cast<uintptr_t>(n.data()));
      mix(n.size());
    }
  }
  thread_local absl::flat_hash_set<uint64_t> checked;
  if (checked.contains(key)) return absl::OkStatus();
  if (absl::Status s = CheckRuleNames(descriptor, rules.handled); !s.ok()) return s;
  if (absl::Status s = CheckRuleNames(descriptor, rules.ignored); !s.ok()) return s;
  checked.insert(key);
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckFields(const google::protobuf::Message& message, absl::string_view path,
                         const FieldRules& rules, std::vector<std::string>* warnings) {
  const google::protobuf::Descriptor& descriptor = *message.GetDescriptor();
  if (absl::Status s = CheckRuleNamesOnce(descriptor, rules); !s.ok()) return s;

  const google::protobuf::Reflection& reflection = *message.GetReflection();
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  reflection.ListFields(message, &fields);
  for (const google::protobuf::FieldDescriptor* field : fields) {
    if (Contains(rules.handled, field->name())) continue;
    const std::string field_path = FieldPath(path, field->name());
    if (Contains(rules.ignored, field->name())) {
      Warn(warnings, field_path, "ignored by pilotfish");
      continue;
    }
    return NotSupported(field_path);
  }
  const google::protobuf::UnknownFieldSet& unknown = reflection.GetUnknownFields(message);
  for (int i = 0; i < unknown.field_count(); ++i) {
    Warn(warnings, path,
         absl::StrCat("unknown field number ", unknown.field(i).number(), " in ",
                      descriptor.full_name(), " ignored (newer API version?)"));
  }
  return absl::OkStatus();
}

std::vector<std::string> SummarizeWarnings(const std::vector<std::string>& warnings) {
  struct Entry {
    std::string key;    // indices replaced by [*]
    std::string first;  // the first warning as written
    int count = 0;
  };
  std::vector<Entry> order;
  absl::flat_hash_map<std::string, size_t> index;
  for (const std::string& w : warnings) {
    std::string key;
    key.reserve(w.size());
    for (size_t i = 0; i < w.size(); ++i) {
      if (w[i] == '[' && i + 1 < w.size() && absl::ascii_isdigit(w[i + 1])) {
        size_t j = i + 1;
        while (j < w.size() && absl::ascii_isdigit(w[j])) ++j;
        if (j < w.size() && w[j] == ']') {
          key += "[*]";
          i = j;
          continue;
        }
      }
      key += w[i];
    }
    auto [it, inserted] = index.try_emplace(key, order.size());
    if (inserted) order.push_back(Entry{std::move(key), w, 0});
    ++order[it->second].count;
  }
  std::vector<std::string> out;
  out.reserve(order.size());
  for (Entry& e : order) {
    out.push_back(e.count > 1 ? absl::StrCat(e.key, " (x", e.count, ")") : std::move(e.first));
  }
  return out;
}

}  // namespace pilotfish::xds
