#pragma once
// The output directory of a run: refused when it is a file or holds an earlier run (unless the
// caller replaces it), created with every file-system failure reported as io_error.

#include <array>
#include <filesystem>
#include <string>
#include <string_view>

#include "idemgen/core/errors.hpp"

namespace idemgen::io {

/// The files a run of the idemgen program writes into its output directory.
inline constexpr std::array<std::string_view, 9> run_files = {
    "samples.csv", "samples.png", "trajectory.png", "log.csv", "eval.csv", "metrics.json", "model.safetensors",
    "config.json", "noise.csv"};

/// Checks `path` can take a new run's files: absent, or an empty directory; with `replace`, a
/// directory whose earlier run files (run_files) are removed now so none is left stale beside
/// the new ones (other files are kept). Throws io_error otherwise; creates nothing.
inline void claim_output_directory(const std::string& path, bool replace) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (!fs::exists(status)) return;
  if (!fs::is_directory(status)) throw io_error("--out", path, "a directory", "a file");
  if (fs::is_empty(path, ec) && !ec) return;
  if (!replace)
    throw io_error("--out", path, "an empty or new directory (--force replaces an earlier run's files)",
                   "a directory that is not empty");
  for (std::string_view name : run_files) {
    for (const std::string& file : {path + "/" + std::string(name), path + "/" + std::string(name) + ".tmp"}) {
      fs::remove(file, ec);
      if (ec) throw io_error("--out", path, "removable files of the earlier run", file + ": " + ec.message());
    }
  }
}

/// Creates `path` and its parents; every failure (a file in the way, no permission, /proc) is an
/// io_error naming the path and the reason.
inline void create_output_directory(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec || !std::filesystem::is_directory(path))
    throw io_error("--out", path, "a directory that can be created", ec ? ec.message() : "not a directory");
}

}  // namespace idemgen::io
