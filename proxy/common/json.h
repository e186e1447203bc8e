// JSON string literals, for every place that writes JSON by hand (access logs, /stats?format=json,
// the YAML-to-JSON step of config loading).
#pragma once

#include <string>
#include <string_view>

namespace pilotfish {

// Appends `s` as a JSON string literal, quotes included: '"', '\\' and control characters are
// escaped (the short forms where JSON has one, \u00XX otherwise); other bytes, UTF-8 included,
// are copied as they are.
void AppendJsonString(std::string_view s, std::string& out);

}  // namespace pilotfish
