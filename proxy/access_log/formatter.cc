// Format parsing and line rendering; see formatter.h.
#include "proxy/access_log/formatter.h"

#include "proxy/common/json.h"
#include "proxy/common/str_util.h"

namespace pilotfish::access_log {
namespace {

bool IsCommandChar(char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'; }

absl::Status BadSyntax(std::string_view format, size_t pos) {
  return absl::InvalidArgumentError("invalid command operator at position " + std::to_string(pos) +
                                    " of '" + std::string(format) +
                                    "' (expected %COMMAND(SUBCOMMAND):LENGTH%; '%%' for '%')");
}

Piece Literal(std::string text) {
  Piece p;
  p.text = std::move(text);
  return p;
}

}  // namespace

absl::StatusOr<std::vector<Piece>> ParseFormat(std::string_view format) {
  std::vector<Piece> pieces;
  std::string literal;
  for (size_t pos = 0; pos < format.size(); ++pos) {
    if (format[pos] != '%') {
      literal.push_back(format[pos]);
      continue;
    }
    if (pos + 1 < format.size() && format[pos + 1] == '%') {
      literal.push_back('%');
      ++pos;
      continue;
    }
    size_t i = pos + 1;
    while (i < format.size() && IsCommandChar(format[i])) ++i;
    if (i == pos + 1) return BadSyntax(format, pos);
    const std::string_view command = format.substr(pos + 1, i - pos - 1);
    std::string_view sub;
    if (i < format.size() && format[i] == '(') {
      const size_t close = format.find(')', i + 1);
      if (close == std::string_view::npos) return BadSyntax(format, pos);
      sub = format.substr(i + 1, close - i - 1);
      i = close + 1;
    }
    bool has_length = false;
    size_t length = 0;
    if (i < format.size() && format[i] == ':') {
      size_t j = i + 1;
      while (j < format.size() && format[j] >= '0' && format[j] <= '9') ++j;
      if (j == i + 1 || !ParseInt(format.substr(i + 1, j - i - 1), &length)) {
        return BadSyntax(format, pos);
      }
      has_length = true;
      i = j;
    }
    if (i >= format.size() || format[i] != '%') return BadSyntax(format, pos);
    auto piece = ParseOperator(command, sub, has_length, length);
    if (!piece.ok()) return piece.status();
    if (!literal.empty()) pieces.push_back(Literal(std::move(literal)));
    literal.clear();
    pieces.push_back(*std::move(piece));
    pos = i;
  }
  if (!literal.empty()) pieces.push_back(Literal(std::move(literal)));
  return pieces;
}

absl::StatusOr<std::unique_ptr<Formatter>> Formatter::Text(std::string_view format,
                                                           bool omit_empty_values) {
  auto pieces = ParseFormat(format.empty() ? kEnvoyDefaultFormat : format);
  if (!pieces.ok()) return pieces.status();
  std::unique_ptr<Formatter> f(new Formatter());
  f->pieces_ = *std::move(pieces);
  if (omit_empty_values) f->empty_value_ = "";
  return f;
}

absl::StatusOr<std::unique_ptr<Formatter>> Formatter::Json(
    const std::vector<std::pair<std::string, std::string>>& fields, bool typed,
    bool omit_empty_values) {
  std::unique_ptr<Formatter> f(new Formatter());
  f->json_ = true;
  f->typed_ = typed;
  if (omit_empty_values) f->empty_value_ = "";
  for (const auto& [key, format] : fields) {
    auto pieces = ParseFormat(format);
    if (!pieces.ok()) {
      return absl::InvalidArgumentError(key + ": " + std::string(pieces.status().message()));
    }
    JsonField field;
    AppendJsonString(key, field.key);
    field.key.push_back(':');
    field.pieces = *std::move(pieces);
    f->fields_.push_back(std::move(field));
  }
  return f;
}

void Formatter::AppendPieces(const std::vector<Piece>& pieces, const LogContext& ctx,
                             std::string& out) const {
  thread_local std::string scratch;
  for (const Piece& p : pieces) {
    if (p.op == Op::kLiteral) {
      out += p.text;
      continue;
    }
    const Value v = Evaluate(p, ctx, scratch);
    switch (v.kind) {
      case Value::Kind::kUnset:
        out += empty_value_;
        break;
      case Value::Kind::kString:
        out += v.str;
        break;
      case Value::Kind::kNumber:
        AppendNumber(v.number, out);
        break;
    }
  }
}

void Formatter::Format(const LogContext& ctx, std::string& out) const {
  if (json_) {
    FormatJson(ctx, out);
  } else {
    AppendPieces(pieces_, ctx, out);
  }
}

void Formatter::FormatJson(const LogContext& ctx, std::string& out) const {
  thread_local std::string scratch, value;
  const bool omit = empty_value_.empty();
  out.push_back('{');
  bool first = true;
  for (const JsonField& field : fields_) {
    const bool single = field.pieces.size() == 1 && field.pieces[0].op != Op::kLiteral;
    value.clear();
    if (single) {
      // A lone operator: typed output keeps numbers and nulls; untyped prints its text form.
      const Value v = Evaluate(field.pieces[0], ctx, scratch);
      if (v.kind == Value::Kind::kUnset && omit) continue;
      if (!first) out.push_back(',');
      first = false;
      out += field.key;
      if (v.kind == Value::Kind::kUnset) {
        if (typed_) {
          out += "null";
        } else {
          out += "\"-\"";
        }
      } else if (v.kind == Value::Kind::kNumber) {
        if (!typed_) out.push_back('"');
        AppendNumber(v.number, out);
        if (!typed_) out.push_back('"');
      } else {
        AppendJsonString(v.str, out);
      }
      continue;
    }
    AppendPieces(field.pieces, ctx, value);
    if (!first) out.push_back(',');
    first = false;
    out += field.key;
    AppendJsonString(value, out);
  }
  out += "}\n";
}

}  // namespace pilotfish::access_log
