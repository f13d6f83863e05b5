#include "api/quantity.h"

#include <cstdint>

namespace keelson::api {
namespace {

using int128 = __int128;

constexpr int128 Pow10(int n) {
  int128 v = 1;
  for (int i = 0; i < n; ++i) v *= 10;
  return v;
}

std::string ToString(int128 v) {
  if (v == 0) return "0";
  bool neg = v < 0;
  if (neg) v = -v;
  std::string s;
  while (v > 0) {
    s.insert(s.begin(), static_cast<char>('0' + static_cast<int>(v % 10)));
    v /= 10;
  }
  return neg ? "-" + s : s;
}

enum class Format { kDecimalSI, kBinarySI, kDecimalExponent };

constexpr std::pair<std::string_view, int> kDecimal[] = {
    {"n", -9}, {"u", -6}, {"m", -3}, {"", 0},   {"k", 3},
    {"M", 6},  {"G", 9},  {"T", 12}, {"P", 15}, {"E", 18}};
constexpr std::pair<std::string_view, int> kBinary[] = {
    {"Ki", 10}, {"Mi", 20}, {"Gi", 30}, {"Ti", 40}, {"Pi", 50}, {"Ei", 60}};

// A parsed quantity: its value in nano units and the format it was written in. `big` when
// the magnitude is beyond what is kept exactly (then only the text is known).
struct Parsed {
  int128 nano = 0;
  Format format = Format::kDecimalSI;
  bool big = false;
};

std::optional<Parsed> Parse(std::string_view text) {
  std::string_view s = text;
  bool neg = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  // The number: digits with at most one '.'.
  size_t i = 0;
  std::string whole, frac;
  bool dot = false;
  for (; i < s.size() && ((s[i] >= '0' && s[i] <= '9') || (s[i] == '.' && !dot)); ++i) {
    if (s[i] == '.') {
      dot = true;
    } else if (dot) {
      frac += s[i];
    } else {
      whole += s[i];
    }
  }
  if (whole.empty() && frac.empty()) return std::nullopt;
  std::string_view suffix = s.substr(i);
  Format format = Format::kDecimalSI;
  int exp10 = 0;
  int pow2 = 0;
  bool known = false;
  for (auto [name, e] : kDecimal) {
    if (suffix == name) {
      exp10 = e;
      known = true;
    }
  }
  for (auto [name, p] : kBinary) {
    if (suffix == name) {
      format = Format::kBinarySI;
      pow2 = p;
      known = true;
    }
  }
  if (!known && !suffix.empty() && (suffix[0] == 'e' || suffix[0] == 'E')) {
    std::string_view e = suffix.substr(1);
    bool eneg = false;
    if (!e.empty() && (e[0] == '+' || e[0] == '-')) {
      eneg = e[0] == '-';
      e.remove_prefix(1);
    }
    if (e.empty() || e.size() > 3 || e.find_first_not_of("0123456789") != std::string_view::npos) {
      return std::nullopt;
    }
    exp10 = std::stoi(std::string(e)) * (eneg ? -1 : 1);
    format = Format::kDecimalExponent;
    known = true;
  }
  if (!known) return std::nullopt;
  // The value in nano units: digits * 10^(exp10 + 9 - len(frac)) * 2^pow2, rounded up.
  std::string digits = whole + frac;
  while (digits.size() > 1 && digits[0] == '0') digits.erase(0, 1);
  if (digits.size() > 30) return Parsed{0, format, true};
  int128 mantissa = 0;
  for (char c : digits) mantissa = mantissa * 10 + (c - '0');
  int scale = exp10 + 9 - static_cast<int>(frac.size());
  int128 nano = mantissa;
  if (scale >= 0) {
    // Beyond 10^36 nano units the product would overflow: such a quantity is "big".
    if (scale > 27 || mantissa > Pow10(36 - scale)) return Parsed{0, format, true};
    nano *= Pow10(scale);
  } else {
    if (-scale > 36) {
      nano = nano > 0 ? 1 : 0;  // below a nano: rounds up to one
    } else {
      int128 div = Pow10(-scale);
      nano = (nano + div - 1) / div;
    }
  }
  for (int k = 0; k < pow2; ++k) {
    nano *= 2;
    if (nano > Pow10(36)) return Parsed{0, format, true};
  }
  if (neg) nano = -nano;
  return Parsed{nano, format, false};
}

}  // namespace

std::optional<std::string> CanonicalQuantity(std::string_view text) {
  auto p = Parse(text);
  if (!p) return std::nullopt;
  if (p->big) return std::string(text);
  int128 nano = p->nano;
  Format format = p->format;
  if (nano == 0) return std::string("0");
  int128 mag = nano < 0 ? -nano : nano;

  if (format == Format::kBinarySI) {
    // Small or fractional byte counts read better in decimal.
    if (mag < 1024 * Pow10(9) || mag % Pow10(9) != 0) format = Format::kDecimalSI;
  }
  if (format == Format::kBinarySI) {
    int128 bytes = nano / Pow10(9);
    static constexpr std::string_view kSuffix[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
    int k = 6;
    while (k > 0 && bytes % (int128{1} << (10 * k)) != 0) --k;
    return ToString(bytes / (int128{1} << (10 * k))) + std::string(kSuffix[k]);
  }
  // Decimal: the largest exponent (a multiple of 3, -9..18) that leaves an integer.
  int e = 18;
  while (e > -9 && nano % Pow10(e + 9) != 0) e -= 3;
  std::string m = ToString(nano / Pow10(e + 9));
  if (format == Format::kDecimalExponent) return e == 0 ? m : m + "e" + std::to_string(e);
  for (auto [name, x] : kDecimal) {
    if (x == e) return m + std::string(name);
  }
  return m;
}

std::optional<int> CompareQuantities(std::string_view a, std::string_view b) {
  auto x = Parse(a);
  auto y = Parse(b);
  if (!x || !y || x->big || y->big) return std::nullopt;
  return x->nano < y->nano ? -1 : x->nano > y->nano ? 1 : 0;
}

std::optional<__int128> QuantityNanos(std::string_view text) {
  auto p = Parse(text);
  if (!p || p->big) return std::nullopt;
  return p->nano;
}

}  // namespace keelson::api
