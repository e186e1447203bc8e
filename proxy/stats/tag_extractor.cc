// TagExtractor and TagProducer: Envoy's regex tag extraction, with Envoy's default extractors.
#include "proxy/stats/tag_extractor.h"

#include <re2/re2.h>

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "proxy/common/str_util.h"

namespace pilotfish::stats {
namespace {

// The leading literal token of an anchored regex ("^cluster\." -> "cluster"), or "".
std::string PrefixToken(std::string_view regex) {
  if (regex.empty() || regex[0] != '^') return "";
  size_t i = 1;
  while (i < regex.size() &&
         (std::isalnum(static_cast<unsigned char>(regex[i])) || regex[i] == '_'))
    ++i;
  if (i == 1 || regex.substr(i, 2) != "\\.") return "";
  // A top-level alternation would let other names match without the prefix.
  if (regex.find('|') != std::string_view::npos) return "";
  return std::string(regex.substr(1, i - 1));
}

}  // namespace

std::unique_ptr<TagExtractor> TagExtractor::Create(std::string name, std::string_view regex,
                                                   std::string substr, std::string negative_value) {
  RE2::Options options;
  options.set_log_errors(false);
  auto re = std::make_unique<RE2>(re2::StringPiece(regex.data(), regex.size()), options);
  if (!re->ok() || re->NumberOfCapturingGroups() < 1) return nullptr;
  std::unique_ptr<TagExtractor> e(new TagExtractor());
  e->name_ = std::move(name);
  e->prefix_ = PrefixToken(regex);
  e->substr_ = std::move(substr);
  e->negative_value_ = std::move(negative_value);
  e->regex_ = std::move(re);
  return e;
}

TagExtractor::~TagExtractor() = default;

bool TagExtractor::Extract(std::string_view name, std::vector<Tag>* tags,
                           std::vector<std::pair<size_t, size_t>>* cut) const {
  if (!prefix_.empty() &&
      !(StartsWith(name, prefix_) && name.size() > prefix_.size() && name[prefix_.size()] == '.')) {
    return false;
  }
  if (!substr_.empty() && !Contains(name, substr_)) return false;
  re2::StringPiece groups[3];
  const int n = std::min(regex_->NumberOfCapturingGroups() + 1, 3);
  if (!regex_->Match(re2::StringPiece(name.data(), name.size()), 0, name.size(), RE2::UNANCHORED,
                     groups, n)) {
    return false;
  }
  const re2::StringPiece& remove = groups[1];
  const re2::StringPiece& value = n > 2 && groups[2].data() != nullptr ? groups[2] : remove;
  if (remove.data() == nullptr) return false;  // the group did not take part in the match
  if (!negative_value_.empty() && value == negative_value_) return false;
  tags->push_back(Tag{name_, std::string(value.data(), value.size())});
  const size_t begin = static_cast<size_t>(remove.data() - name.data());
  cut->emplace_back(begin, begin + remove.size());
  return true;
}

TagProducer::TagProducer(const config::StatsConfig& config) {
  absl::flat_hash_set<std::string> names;
  auto add_defaults_named = [&](const std::string& tag) {
    for (const DefaultTagRegex& d : DefaultTagRegexes()) {
      if (tag == d.name) {
        if (auto e = TagExtractor::Create(d.name, d.regex, d.substr, d.negative_value)) {
          extractors_.push_back(std::move(e));
        }
      }
    }
  };
  for (const config::StatsTag& t : config.stats_tags) {
    names.insert(t.tag_name);
    if (t.fixed_value) {
      fixed_tags_.push_back(Tag{t.tag_name, *t.fixed_value});
    } else if (t.regex.empty()) {
      add_defaults_named(t.tag_name);
    } else if (auto e = TagExtractor::Create(t.tag_name, ToRe2TagRegex(t.regex))) {
      extractors_.push_back(std::move(e));
    }
  }
  if (config.use_all_default_tags) {
    absl::flat_hash_set<std::string> added;
    for (const DefaultTagRegex& d : DefaultTagRegexes()) {
      if (names.contains(d.name) || !added.insert(d.name).second) continue;
      add_defaults_named(d.name);
    }
  }
}

TagProducer::~TagProducer() = default;

void ExtractInlineTags(std::string_view name, std::vector<Tag>* tags,
                       std::vector<std::pair<size_t, size_t>>* cut) {
  constexpr std::string_view kEq = "=.=";
  constexpr std::string_view kEnd = ";.;";
  size_t eq = name.find(kEq);
  if (eq == std::string_view::npos) return;
  const size_t already_cut = cut->size();
  auto overlaps = [&](size_t b, size_t e) {
    for (size_t i = 0; i < already_cut; ++i) {
      if (b < (*cut)[i].second && (*cut)[i].first < e) return true;
    }
    return false;
  };
  while (eq != std::string_view::npos) {
    // The key runs back to the previous '.' or ";.;" (or the start); the value to the next ";.;".
    size_t key_begin = name.rfind('.', eq);
    key_begin = key_begin == std::string_view::npos ? 0 : key_begin + 1;
    if (key_begin < name.size() && name[key_begin] == ';') ++key_begin;
    const size_t value_begin = eq + kEq.size();
    const size_t end = name.find(kEnd, value_begin);
    if (end == std::string_view::npos || key_begin >= eq) break;
    if (!overlaps(key_begin, end + kEnd.size())) {
      tags->push_back(Tag{std::string(name.substr(key_begin, eq - key_begin)),
                          std::string(name.substr(value_begin, end - value_begin))});
      cut->emplace_back(key_begin, end + kEnd.size());
    }
    eq = name.find(kEq, end + kEnd.size());
  }
}

std::string TagProducer::Produce(std::string_view name, std::vector<Tag>* tags) const {
  std::vector<std::pair<size_t, size_t>> cut;
  const size_t first = tags->size();
  for (const auto& e : extractors_) {
    // One value per tag name: a later extractor of the same name (Envoy has two for the HCM
    // prefix) does not add a second label.
    bool seen = false;
    for (size_t i = first; i < tags->size() && !seen; ++i) seen = (*tags)[i].name == e->name();
    if (!seen) e->Extract(name, tags, &cut);
  }
  ExtractInlineTags(name, tags, &cut);
  for (const Tag& t : fixed_tags_) tags->push_back(t);
  if (cut.empty()) return std::string(name);
  std::sort(cut.begin(), cut.end());
  std::string out;
  out.reserve(name.size());
  size_t pos = 0;
  for (const auto& [begin, end] : cut) {
    if (begin > pos) out.append(name.substr(pos, begin - pos));
    pos = std::max(pos, end);
  }
  if (pos < name.size()) out.append(name.substr(pos));
  return out;
}

}  // namespace pilotfish::stats
