// libFuzzer: arbitrary bytes as JSON (the safetensors header, config.json on --resume), through
// nlohmann-json as io::parse_json wraps it.
#include <cstdint>
#include <string_view>

#include "idemgen/io/json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const auto value = idemgen::io::parse_json(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.json");
    // What the writers do with what was read: quote every string of it again.
    if (value.is_object())
      for (const auto& [key, item] : value.items())
        if (item.is_string()) idemgen::io::json_quote(key + item.get<std::string>());
  } catch (const idemgen::io_error&) {
  }
  return 0;
}
