// libFuzzer: arbitrary bytes as a CSV point cloud (--dataset csv:FILE, idemgen couple).
#include <cstdint>
#include <string_view>

#include "idemgen/io/csv.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    idemgen::io::parse_points_csv(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.csv");
  } catch (const idemgen::io_error&) {
  }
  return 0;
}
