#pragma once
// Atomic file writes: write to "<path>.tmp", flush and fsync it, then rename it over the target
// and fsync the directory, so a crash or kill -9 mid-write never leaves a truncated file where a
// good one was, and a failed write never leaves the temporary behind.

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "idemgen/core/errors.hpp"

namespace idemgen::io {

namespace detail {
/// fsync of a file or directory by path; false where it cannot be opened or synced.
inline bool sync_path(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
  if (fd < 0) return false;
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}
}  // namespace detail

inline void write_atomically(const std::string& path, const std::function<void(std::ostream&)>& body) {
  const std::string tmp = path + ".tmp";
  const auto fail = [&](const std::string& expected, const std::string& actual) {
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    return io_error("io::write_atomically", "path", expected, actual);
  };
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw fail("a writable file", path);
    try {
      body(out);
    } catch (...) {
      out.close();
      std::error_code ignored;
      std::filesystem::remove(tmp, ignored);
      throw;
    }
    out.flush();
    if (!out) throw fail("a complete write", path + " (write failed)");
  }
  if (!detail::sync_path(tmp, false)) throw fail("a write that reaches the disk", path + " (fsync failed)");
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw fail("a rename into place", path + ": " + ec.message());
  // The rename itself is durable once the directory is synced (best effort: some file systems
  // refuse a directory fsync, and the file is complete either way).
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  detail::sync_path(parent.empty() ? "." : parent.string(), true);
}

}  // namespace idemgen::io
