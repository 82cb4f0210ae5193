#pragma once
// A minimal JSON reader for the files idemgen itself reads (the safetensors header): objects,
// arrays, strings (with \" \\ \/ \b \f \n \r \t and \uXXXX below 0x80), integers and numbers,
// true/false/null. Malformed input throws io_error naming the offset; it never reads past the end.

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "idemgen/core/errors.hpp"

namespace idemgen::io {

struct json_value;
using json_object = std::map<std::string, json_value>;
using json_array = std::vector<json_value>;

struct json_value {
  std::variant<std::nullptr_t, bool, double, std::string, std::shared_ptr<json_array>,
               std::shared_ptr<json_object>>
      v;
  bool is_object() const { return std::holds_alternative<std::shared_ptr<json_object>>(v); }
  bool is_array() const { return std::holds_alternative<std::shared_ptr<json_array>>(v); }
  bool is_string() const { return std::holds_alternative<std::string>(v); }
  bool is_number() const { return std::holds_alternative<double>(v); }
  const json_object& object() const { return *std::get<std::shared_ptr<json_object>>(v); }
  const json_array& array() const { return *std::get<std::shared_ptr<json_array>>(v); }
  const std::string& string() const { return std::get<std::string>(v); }
  double number() const { return std::get<double>(v); }
};

class json_parser {
 public:
  json_parser(std::string_view text, std::string source) : s_(text), source_(std::move(source)) {}

  json_value parse() {
    json_value v = value(0);
    skip();
    if (i_ != s_.size()) fail("end of input");
    return v;
  }

 private:
  [[noreturn]] void fail(std::string_view expected) const {
    throw io_error("io::json", source_, std::string(expected),
                   i_ < s_.size() ? fmt::format("'{}' at byte {}", s_[i_], i_)
                                  : fmt::format("end of input at byte {}", i_));
  }
  void skip() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\r' || s_[i_] == '\t')) ++i_;
  }
  bool eat(char c) {
    skip();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  json_value value(int depth) {
    if (depth > 64) fail("nesting depth <= 64");
    skip();
    if (i_ >= s_.size()) fail("a value");
    const char c = s_[i_];
    if (c == '{') return object(depth);
    if (c == '[') return array(depth);
    if (c == '"') return json_value{string()};
    if (s_.substr(i_, 4) == "true") return i_ += 4, json_value{true};
    if (s_.substr(i_, 5) == "false") return i_ += 5, json_value{false};
    if (s_.substr(i_, 4) == "null") return i_ += 4, json_value{nullptr};
    return json_value{number()};
  }
  json_value object(int depth) {
    ++i_;
    auto obj = std::make_shared<json_object>();
    if (eat('}')) return json_value{obj};
    do {
      skip();
      if (i_ >= s_.size() || s_[i_] != '"') fail("a string key");
      std::string key = string();
      if (!eat(':')) fail("':'");
      (*obj)[key] = value(depth + 1);
    } while (eat(','));
    if (!eat('}')) fail("',' or '}'");
    return json_value{obj};
  }
  json_value array(int depth) {
    ++i_;
    auto arr = std::make_shared<json_array>();
    if (eat(']')) return json_value{arr};
    do arr->push_back(value(depth + 1));
    while (eat(','));
    if (!eat(']')) fail("',' or ']'");
    return json_value{arr};
  }
  std::string string() {
    ++i_;  // opening quote
    std::string out;
    while (true) {
      if (i_ >= s_.size()) fail("a closing '\"'");
      const char c = s_[i_++];
      if (c == '"') return out;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (i_ >= s_.size()) fail("an escape");
      const char e = s_[i_++];
      switch (e) {
        case '"': case '\\': case '/': out += e; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          if (i_ + 4 > s_.size() ||
              !std::all_of(s_.begin() + static_cast<std::ptrdiff_t>(i_), s_.begin() + static_cast<std::ptrdiff_t>(i_ + 4),
                           [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }))
            fail("4 hex digits");
          const unsigned code = static_cast<unsigned>(std::stoul(std::string(s_.substr(i_, 4)), nullptr, 16));
          if (code >= 0x80) fail("an ASCII \\u escape");
          out += static_cast<char>(code);
          i_ += 4;
          break;
        }
        default: fail("a valid escape");
      }
    }
  }
  double number() {
    const std::size_t start = i_;
    while (i_ < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[i_])) || s_[i_] == '-' ||
                              s_[i_] == '+' || s_[i_] == '.' || s_[i_] == 'e' || s_[i_] == 'E'))
      ++i_;
    if (start == i_) fail("a value");
    try {
      std::size_t used = 0;
      const std::string text(s_.substr(start, i_ - start));
      const double v = std::stod(text, &used);
      if (used != text.size()) fail("a number");
      return v;
    } catch (const std::logic_error&) {
      i_ = start;
      fail("a number");
    }
  }

  std::string_view s_;
  std::string source_;
  std::size_t i_ = 0;
};

/// Escapes a string for a JSON string literal.
inline std::string json_quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\', out += c;
    else if (c == '\n') out += "\\n";
    else if (static_cast<unsigned char>(c) < 0x20) out += fmt::format("\\u{:04x}", c);
    else out += c;
  }
  return out + "\"";
}

}  // namespace idemgen::io
