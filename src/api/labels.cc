#include "api/labels.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <set>

namespace keelson::api {
namespace {

// Go's strconv.ParseInt(s, 10, 64): optional sign, decimal digits, no spaces, in range.
std::optional<int64_t> ParseGoInt64(std::string_view s) {
  bool negative = false;
  if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return std::nullopt;
  uint64_t magnitude = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), magnitude);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  constexpr uint64_t kMaxPositive = static_cast<uint64_t>(INT64_MAX);
  if (negative) {
    if (magnitude > kMaxPositive + 1) return std::nullopt;
    return magnitude == kMaxPositive + 1 ? INT64_MIN : -static_cast<int64_t>(magnitude);
  }
  if (magnitude > kMaxPositive) return std::nullopt;
  return static_cast<int64_t>(magnitude);
}

std::string JoinMessages(const std::vector<std::string>& msgs) {
  std::string out;
  for (size_t i = 0; i < msgs.size(); ++i) {
    if (i > 0) out += "; ";
    out += msgs[i];
  }
  return out;
}

std::vector<std::string> SortedCopy(std::vector<std::string> values) {
  std::sort(values.begin(), values.end());
  return values;
}

// --- lexer: upstream's token set and scanning rules, byte by byte ---------------------------

enum class Token {
  kEndOfString,
  kClosedPar,
  kComma,
  kDoesNotExist,
  kDoubleEquals,
  kEquals,
  kGreaterThan,
  kIdentifier,
  kIn,
  kLessThan,
  kNotEquals,
  kNotIn,
  kOpenPar,
};

std::optional<Token> LiteralToken(std::string_view s) {
  if (s == ")") return Token::kClosedPar;
  if (s == ",") return Token::kComma;
  if (s == "!") return Token::kDoesNotExist;
  if (s == "==") return Token::kDoubleEquals;
  if (s == "=") return Token::kEquals;
  if (s == ">") return Token::kGreaterThan;
  if (s == "in") return Token::kIn;
  if (s == "<") return Token::kLessThan;
  if (s == "!=") return Token::kNotEquals;
  if (s == "notin") return Token::kNotIn;
  if (s == "(") return Token::kOpenPar;
  return std::nullopt;
}

bool IsWhitespace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

bool IsSpecialSymbol(char c) {
  switch (c) {
    case '=': case '!': case '(': case ')': case ',': case '>': case '<':
      return true;
    default:
      return false;
  }
}

struct ScannedItem {
  Token tok;
  std::string literal;
};

class Lexer {
 public:
  explicit Lexer(std::string_view s) : s_(s) {}

  ScannedItem Lex() {
    char ch = Read();
    while (IsWhitespace(ch)) ch = Read();
    // Upstream's read() returns 0 both at the end and for a NUL byte, so a NUL ends input.
    if (ch == 0) return {Token::kEndOfString, ""};
    Unread();
    return IsSpecialSymbol(ch) ? ScanSpecialSymbol() : ScanIdOrKeyword();
  }

 private:
  char Read() { return pos_ < s_.size() ? s_[pos_++] : '\0'; }
  void Unread() { --pos_; }

  ScannedItem ScanIdOrKeyword() {
    std::string buffer;
    while (true) {
      char ch = Read();
      if (ch == 0) break;
      if (IsSpecialSymbol(ch) || IsWhitespace(ch)) {
        Unread();
        break;
      }
      buffer += ch;
    }
    if (auto tok = LiteralToken(buffer)) return {*tok, buffer};
    return {Token::kIdentifier, buffer};
  }

  // Longest run of special symbols that still forms a token ("!=", "==", but "=(" is two).
  ScannedItem ScanSpecialSymbol() {
    std::optional<ScannedItem> last;
    std::string buffer;
    while (true) {
      char ch = Read();
      if (ch == 0) break;
      if (!IsSpecialSymbol(ch)) {
        Unread();
        break;
      }
      buffer += ch;
      if (auto tok = LiteralToken(buffer)) {
        last = ScannedItem{*tok, buffer};
      } else if (last) {
        Unread();
        break;
      }
    }
    // Every single special symbol is a token, so `last` is always set here.
    return last ? *last : ScannedItem{Token::kEndOfString, ""};
  }

  std::string_view s_;
  size_t pos_ = 0;
};

}  // namespace

// --- parser: upstream's recursive descent, same lookahead contexts and messages -------------

class LabelSelectorParser {
 public:
  explicit LabelSelectorParser(std::string_view input) {
    Lexer lexer(input);
    while (true) {
      items_.push_back(lexer.Lex());
      if (items_.back().tok == Token::kEndOfString) break;
    }
  }

  Result<LabelSelector> Parse() {
    std::vector<LabelRequirement> requirements;
    while (true) {
      const auto& [tok, lit] = Lookahead(kValues);
      if (tok == Token::kEndOfString) break;
      if (tok != Token::kIdentifier && tok != Token::kDoesNotExist) {
        return InvalidArgumentError("found '" + lit +
                                    "', expected: !, identifier, or 'end of string'");
      }
      auto r = ParseRequirement();
      if (!r.ok()) {
        return InvalidArgumentError("unable to parse requirement: " + r.status().message());
      }
      requirements.push_back(std::move(r).value());
      auto [t, l] = Consume(kValues);
      if (t == Token::kEndOfString) break;
      if (t != Token::kComma) {
        return InvalidArgumentError("found '" + l + "', expected: ',' or 'end of string'");
      }
      const auto& [t2, l2] = Lookahead(kValues);
      if (t2 != Token::kIdentifier && t2 != Token::kDoesNotExist) {
        return InvalidArgumentError("found '" + l2 + "', expected: identifier after ','");
      }
    }
    return LabelSelector(std::move(requirements));
  }

 private:
  // In the values context the keywords "in" and "notin" are ordinary identifiers, so that
  // "x in (in)" and a key named "in" work.
  enum Context { kKeyAndOperator, kValues };

  ScannedItem Lookahead(Context ctx) const { return Contextual(items_[pos_], ctx); }
  ScannedItem Consume(Context ctx) {
    // The item list always ends with kEndOfString; callers stop there before overrunning.
    const ScannedItem& item = items_[std::min(pos_, items_.size() - 1)];
    ++pos_;
    return Contextual(item, ctx);
  }
  static ScannedItem Contextual(const ScannedItem& item, Context ctx) {
    if (ctx == kValues && (item.tok == Token::kIn || item.tok == Token::kNotIn)) {
      return {Token::kIdentifier, item.literal};
    }
    return item;
  }

  Result<LabelRequirement> ParseRequirement() {
    bool does_not_exist = false;
    ScannedItem item = Consume(kValues);
    if (item.tok == Token::kDoesNotExist) {
      does_not_exist = true;
      item = Consume(kValues);
    }
    std::string key = std::move(item.literal);
    if (item.tok != Token::kIdentifier) {
      return InvalidArgumentError("found '" + key + "', expected: identifier");
    }
    if (auto errs = IsQualifiedName(key); !errs.empty()) {
      // Upstream validates the key against a nil field path, which prints as "<nil>".
      return InvalidArgumentError(
          FieldError{FieldError::Type::kInvalid, "<nil>", key, JoinMessages(errs)}.ToString());
    }
    if (does_not_exist) {
      return LabelSelector::NewRequirement(std::move(key), SelectorOperator::kDoesNotExist, {});
    }
    const Token next = Lookahead(kValues).tok;
    if (next == Token::kEndOfString || next == Token::kComma) {
      return LabelSelector::NewRequirement(std::move(key), SelectorOperator::kExists, {});
    }
    auto op = ParseOperator();
    if (!op.ok()) return op.status();
    Result<std::set<std::string>> values =
        (*op == SelectorOperator::kIn || *op == SelectorOperator::kNotIn) ? ParseValues()
                                                                         : ParseExactValue();
    if (!values.ok()) return values.status();
    return LabelSelector::NewRequirement(std::move(key), *op,
                                         std::vector<std::string>(values->begin(), values->end()));
  }

  Result<SelectorOperator> ParseOperator() {
    auto [tok, lit] = Consume(kKeyAndOperator);
    switch (tok) {
      case Token::kIn: return SelectorOperator::kIn;
      case Token::kEquals: return SelectorOperator::kEquals;
      case Token::kDoubleEquals: return SelectorOperator::kDoubleEquals;
      case Token::kGreaterThan: return SelectorOperator::kGreaterThan;
      case Token::kLessThan: return SelectorOperator::kLessThan;
      case Token::kNotIn: return SelectorOperator::kNotIn;
      case Token::kNotEquals: return SelectorOperator::kNotEquals;
      default:
        return InvalidArgumentError("found '" + lit +
                                    "', expected: in, notin, =, ==, !=, gt, lt");
    }
  }

  // "(" values ")" where values may be empty or contain empty elements: "()", "(,a)", "(a,)".
  Result<std::set<std::string>> ParseValues() {
    ScannedItem open = Consume(kValues);
    if (open.tok != Token::kOpenPar) {
      return InvalidArgumentError("found '" + open.literal + "' expected: '('");
    }
    const auto [tok, lit] = Lookahead(kValues);
    if (tok == Token::kClosedPar) {
      Consume(kValues);
      return std::set<std::string>{""};
    }
    if (tok != Token::kIdentifier && tok != Token::kComma) {
      return InvalidArgumentError("found '" + lit + "', expected: ',', ')' or identifier");
    }
    auto values = ParseIdentifiersList();
    if (!values.ok()) return values;
    if (Consume(kValues).tok != Token::kClosedPar) {
      return InvalidArgumentError("found '" + lit + "', expected: ')'");
    }
    return values;
  }

  Result<std::set<std::string>> ParseIdentifiersList() {
    std::set<std::string> values;
    while (true) {
      auto [tok, lit] = Consume(kValues);
      if (tok == Token::kIdentifier) {
        values.insert(lit);
        const auto& [tok2, lit2] = Lookahead(kValues);
        if (tok2 == Token::kComma) continue;
        if (tok2 == Token::kClosedPar) return values;
        return InvalidArgumentError("found '" + lit2 + "', expected: ',' or ')'");
      }
      if (tok == Token::kComma) {
        if (values.empty()) values.insert("");  // "(,"
        const Token tok2 = Lookahead(kValues).tok;
        if (tok2 == Token::kClosedPar) {
          values.insert("");  // ",)"
          return values;
        }
        if (tok2 == Token::kComma) {
          Consume(kValues);
          values.insert("");  // ",,"
        }
        continue;
      }
      return InvalidArgumentError("found '" + lit + "', expected: ',', or identifier");
    }
  }

  // The single value after "=", "==", "!=", ">" or "<"; missing means "".
  Result<std::set<std::string>> ParseExactValue() {
    const Token next = Lookahead(kValues).tok;
    if (next == Token::kEndOfString || next == Token::kComma) return std::set<std::string>{""};
    auto [tok, lit] = Consume(kValues);
    if (tok == Token::kIdentifier) return std::set<std::string>{lit};
    return InvalidArgumentError("found '" + lit + "', expected: identifier");
  }

  std::vector<ScannedItem> items_;
  size_t pos_ = 0;
};

std::string_view OperatorName(SelectorOperator op) {
  switch (op) {
    case SelectorOperator::kIn: return "in";
    case SelectorOperator::kNotIn: return "notin";
    case SelectorOperator::kEquals: return "=";
    case SelectorOperator::kDoubleEquals: return "==";
    case SelectorOperator::kNotEquals: return "!=";
    case SelectorOperator::kExists: return "exists";
    case SelectorOperator::kDoesNotExist: return "!";
    case SelectorOperator::kGreaterThan: return "gt";
    case SelectorOperator::kLessThan: return "lt";
  }
  return "";
}

bool LabelRequirement::Matches(const Labels& labels) const {
  auto it = labels.find(key_);
  const bool has = it != labels.end();
  auto has_value = [&] {
    return std::find(values_.begin(), values_.end(), it->second) != values_.end();
  };
  switch (op_) {
    case SelectorOperator::kIn:
    case SelectorOperator::kEquals:
    case SelectorOperator::kDoubleEquals:
      return has && has_value();
    case SelectorOperator::kNotIn:
    case SelectorOperator::kNotEquals:
      return !has || !has_value();
    case SelectorOperator::kExists:
      return has;
    case SelectorOperator::kDoesNotExist:
      return !has;
    case SelectorOperator::kGreaterThan:
    case SelectorOperator::kLessThan: {
      if (!has || values_.size() != 1) return false;
      auto label_value = ParseGoInt64(it->second);
      auto bound = ParseGoInt64(values_.front());
      if (!label_value || !bound) return false;
      return op_ == SelectorOperator::kGreaterThan ? *label_value > *bound
                                                   : *label_value < *bound;
    }
  }
  return false;
}

std::string LabelRequirement::String() const {
  std::string out;
  if (op_ == SelectorOperator::kDoesNotExist) out += '!';
  out += key_;
  switch (op_) {
    case SelectorOperator::kExists:
    case SelectorOperator::kDoesNotExist:
      return out;
    case SelectorOperator::kEquals: out += '='; break;
    case SelectorOperator::kDoubleEquals: out += "=="; break;
    case SelectorOperator::kNotEquals: out += "!="; break;
    case SelectorOperator::kIn: out += " in ("; break;
    case SelectorOperator::kNotIn: out += " notin ("; break;
    case SelectorOperator::kGreaterThan: out += '>'; break;
    case SelectorOperator::kLessThan: out += '<'; break;
  }
  // Values are sorted on output only (upstream's safeSort); duplicates are kept.
  const auto sorted = SortedCopy(values_);
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (i > 0) out += ',';
    out += sorted[i];
  }
  if (op_ == SelectorOperator::kIn || op_ == SelectorOperator::kNotIn) out += ')';
  return out;
}

LabelSelector::LabelSelector(std::vector<LabelRequirement> requirements)
    : requirements_(std::move(requirements)) {
  // Stable, so that several terms on one key keep their written order (upstream's sort.Sort
  // is stable only for short lists; this is the order it produces for them).
  std::stable_sort(requirements_.begin(), requirements_.end(),
                   [](const LabelRequirement& a, const LabelRequirement& b) {
                     return a.key() < b.key();
                   });
}

LabelSelector LabelSelector::Nothing() {
  LabelSelector s;
  s.nothing_ = true;
  return s;
}

Result<LabelRequirement> LabelSelector::NewRequirement(std::string key, SelectorOperator op,
                                                       std::vector<std::string> values) {
  std::vector<FieldError> errs;
  if (op == SelectorOperator::kGreaterThan || op == SelectorOperator::kLessThan) {
    for (size_t i = 0; i < values.size(); ++i) {
      if (!ParseGoInt64(values[i])) {
        errs.push_back({FieldError::Type::kInvalid, "values[" + std::to_string(i) + "]",
                        values[i], "for 'Gt', 'Lt' operators, the value must be an integer"});
      }
    }
  }
  for (size_t i = 0; i < values.size(); ++i) {
    if (auto msgs = IsValidLabelValue(values[i]); !msgs.empty()) {
      errs.push_back({FieldError::Type::kInvalid,
                      "values[" + std::to_string(i) + "][" + key + "]", values[i],
                      JoinMessages(msgs)});
    }
  }
  if (!errs.empty()) return InvalidArgumentError(AggregateMessage(errs));
  return LabelRequirement(std::move(key), op, std::move(values));
}

Result<LabelSelector> LabelSelector::Parse(std::string_view selector) {
  return LabelSelectorParser(selector).Parse();
}

std::vector<FieldError> LabelSelector::ValidateMatch(
    const Labels& match_labels, const std::vector<MatchExpression>& match_expressions) {
  std::vector<FieldError> errs = ValidateLabels(match_labels);
  for (auto& e : errs) e.field = "matchLabels";
  for (size_t i = 0; i < match_expressions.size(); ++i) {
    const MatchExpression& expr = match_expressions[i];
    const std::string path = "matchExpressions[" + std::to_string(i) + "]";
    if (expr.op == "In" || expr.op == "NotIn") {
      if (expr.values.empty()) {
        errs.push_back({FieldError::Type::kRequired, path + ".values", "",
                        "must be specified when `operator` is 'In' or 'NotIn'"});
      }
    } else if (expr.op == "Exists" || expr.op == "DoesNotExist") {
      if (!expr.values.empty()) {
        errs.push_back({FieldError::Type::kForbidden, path + ".values", "",
                        "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"});
      }
    } else {
      errs.push_back({FieldError::Type::kInvalid, path + ".operator", expr.op,
                      "not a valid selector operator"});
    }
    for (auto& msg : IsQualifiedName(expr.key)) {
      errs.push_back({FieldError::Type::kInvalid, path + ".key", expr.key, std::move(msg)});
    }
    for (size_t j = 0; j < expr.values.size(); ++j) {
      for (auto& msg : IsValidLabelValue(expr.values[j])) {
        errs.push_back({FieldError::Type::kInvalid,
                        path + ".values[" + std::to_string(j) + "]", expr.values[j],
                        std::move(msg)});
      }
    }
  }
  return errs;
}

Result<LabelSelector> LabelSelector::FromMatch(
    const Labels& match_labels, const std::vector<MatchExpression>& match_expressions) {
  if (auto errs = ValidateMatch(match_labels, match_expressions); !errs.empty()) {
    return InvalidArgumentError(AggregateMessage(errs));
  }
  std::vector<LabelRequirement> requirements;
  requirements.reserve(match_labels.size() + match_expressions.size());
  for (const auto& [key, value] : match_labels) {
    requirements.push_back(LabelRequirement(key, SelectorOperator::kEquals, {value}));
  }
  for (const auto& expr : match_expressions) {
    SelectorOperator op = expr.op == "In"       ? SelectorOperator::kIn
                          : expr.op == "NotIn"  ? SelectorOperator::kNotIn
                          : expr.op == "Exists" ? SelectorOperator::kExists
                                                : SelectorOperator::kDoesNotExist;
    requirements.push_back(LabelRequirement(expr.key, op, expr.values));
  }
  return LabelSelector(std::move(requirements));
}

bool LabelSelector::Matches(const Labels& labels) const {
  if (nothing_) return false;
  for (const auto& r : requirements_) {
    if (!r.Matches(labels)) return false;
  }
  return true;
}

std::string LabelSelector::String() const {
  std::string out;
  for (size_t i = 0; i < requirements_.size(); ++i) {
    if (i > 0) out += ',';
    out += requirements_[i].String();
  }
  return out;
}

std::optional<std::string> LabelSelector::RequiresExactMatch(std::string_view key) const {
  for (const auto& r : requirements_) {
    if (r.key() != key) continue;
    switch (r.op()) {
      case SelectorOperator::kEquals:
      case SelectorOperator::kDoubleEquals:
      case SelectorOperator::kIn:
        if (r.values().size() == 1) return r.values().front();
        return std::nullopt;
      default:
        return std::nullopt;
    }
  }
  return std::nullopt;
}

}  // namespace keelson::api
