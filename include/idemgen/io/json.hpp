#pragma once
// JSON, through nlohmann-json (Debian's nlohmann-json3-dev): the reader for every JSON idemgen
// reads (the safetensors header, config.json on --resume), with malformed input turned into the
// documented io_error, and the string quoting its writers use.

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "idemgen/core/errors.hpp"

namespace idemgen::io {

using json = nlohmann::json;
using ordered_json = nlohmann::ordered_json;  // keys in insertion order, for files people read

/// The JSON value of `text`; io_error naming `source` and where the text went wrong otherwise.
/// Never reads past the end of `text` (tests/fuzz/fuzz_json.cpp).
inline json parse_json(std::string_view text, const std::string& source) {
  try {
    return json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {  // parse_error; out_of_range for a number past double's range
    throw io_error("io::json", source, "valid JSON", e.what());
  }
}

/// A string as a JSON string literal (quoted and escaped; invalid UTF-8 replaced by U+FFFD, never
/// an exception).
inline std::string json_quote(std::string_view s) {
  return json(std::string(s)).dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace idemgen::io
