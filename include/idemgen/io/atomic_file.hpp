#pragma once
// Atomic file writes: write to "<path>.tmp", flush, then rename over the target, so
// a crash mid-write never leaves a truncated file where a good one was.

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "idemgen/core/errors.hpp"

namespace idemgen::io {

inline void write_atomically(const std::string& path, const std::function<void(std::ostream&)>& body) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw io_error("io::write_atomically", "path", "a writable file", path);
    body(out);
    out.flush();
    if (!out) {
      std::filesystem::remove(tmp);
      throw io_error("io::write_atomically", "path", "a complete write", path + " (write failed)");
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw io_error("io::write_atomically", "path", "a rename into place", path + ": " + ec.message());
}

}  // namespace idemgen::io
