#pragma once
// Reading a whole input file, for the readers that then check it (safetensors, CSV, JSON).

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>

#include "idemgen/core/errors.hpp"

namespace idemgen::io {

/// The whole of a regular file (io_error for a directory, a FIFO, a device or a missing file:
/// only a regular file has a length to check the contents against, and /dev/zero never ends).
/// Throws io_error unless `path` names a regular file; returns its length in bytes.
inline std::uintmax_t require_regular_file(const std::string& path, const char* where) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw io_error(where, path, "a regular file",
                   std::filesystem::is_directory(path, ec) ? "a directory"
                   : std::filesystem::exists(path, ec)     ? "a device, FIFO or socket"
                                                           : "no such file");
  const std::uintmax_t length = std::filesystem::file_size(path, ec);
  if (ec) throw io_error(where, path, "a file whose length can be read", ec.message());
  return length;
}

inline std::string read_regular_file(const std::string& path, const char* where) {
  require_regular_file(path, where);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw io_error(where, path, "a readable file", "cannot open");
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace idemgen::io
