#pragma once
// The metadata of a checkpoint or pair file (safetensors' "__metadata__": string → string), and
// lookups with the checks a reader needs: a missing key or a value that is not what it should be
// throws io_error naming the file, the key and the value.

#include <cmath>
#include <map>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "idemgen/core/errors.hpp"

namespace idemgen::train {

using metadata = std::map<std::string, std::string>;

inline const std::string& metadata_string(const metadata& m, const std::string& key, const std::string& path) {
  const auto it = m.find(key);
  if (it == m.end()) throw io_error("train::load", path, "metadata '" + key + "'", "none");
  return it->second;
}
inline long long metadata_integer(const metadata& m, const std::string& key, const std::string& path,
                                  long long min_value = 0) {
  const std::string& text = metadata_string(m, key, path);
  try {
    std::size_t used = 0;
    const long long v = std::stoll(text, &used);
    if (used == text.size() && v >= min_value) return v;
  } catch (const std::logic_error&) {
  }
  throw io_error("train::load", path, fmt::format("an integer >= {} for metadata '{}'", min_value, key), text);
}

/// A full-range unsigned 64-bit value (seeds, counters).
inline std::uint64_t metadata_unsigned(const metadata& m, const std::string& key, const std::string& path) {
  const std::string& text = metadata_string(m, key, path);
  try {
    std::size_t used = 0;
    const unsigned long long v = std::stoull(text, &used);
    if (used == text.size() && !text.empty() && text[0] != '-') return v;
  } catch (const std::logic_error&) {
  }
  throw io_error("train::load", path, "an unsigned integer for metadata '" + key + "'", text);
}

/// A finite real number greater than `min_value` (schedule and model options).
inline double metadata_real(const metadata& m, const std::string& key, const std::string& path, double min_value) {
  const std::string& text = metadata_string(m, key, path);
  try {
    std::size_t used = 0;
    const double v = std::stod(text, &used);
    if (used == text.size() && std::isfinite(v) && v > min_value) return v;
  } catch (const std::logic_error&) {
  }
  throw io_error("train::load", path, fmt::format("a finite number > {} for metadata '{}'", min_value, key), text);
}

}  // namespace idemgen::train
