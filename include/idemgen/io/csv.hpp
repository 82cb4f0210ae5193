#pragma once
// Samples as CSV: header x0,x1,…, one sample (column of the d × n matrix) per row. The reader
// takes such a file (or one without a header) and checks it whole before returning anything.

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "idemgen/core/config.hpp"
#include "idemgen/core/errors.hpp"
#include "idemgen/io/atomic_file.hpp"
#include "idemgen/io/read_file.hpp"

namespace idemgen::io {

inline void write_samples_csv(const std::string& path, const double* samples, index_t d, index_t n) {
  write_atomically(path, [&](std::ostream& out) {
    for (index_t k = 0; k < d; ++k) out << (k ? ",x" : "x") << k;
    out << '\n';
    char buf[32];
    for (index_t j = 0; j < n; ++j) {
      for (index_t k = 0; k < d; ++k) {
        std::snprintf(buf, sizeof buf, "%.7g", samples[k + j * d]);
        out << (k ? "," : "") << buf;
      }
      out << '\n';
    }
  });
}

/// Points read from a CSV file: d × n, column-major (one row of the file per column).
struct points {
  index_t dim = 0, count = 0;
  std::vector<double> values;
};

/// Points from CSV text: one point per line, comma-separated numbers; a first line that does not
/// start with a number is a header. Every row must have the same number of finite fields. An
/// empty text, a ragged row or a field that is not a finite number → io_error naming `path` and
/// the line (tests/fuzz/fuzz_csv.cpp).
inline points parse_points_csv(std::string_view text, const std::string& path) {
  const char* where = "io::read_points_csv";
  std::istringstream in{std::string(text)};
  points p;
  std::string line;
  long line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    std::vector<double> row;
    std::size_t start = 0;
    bool header = false;
    while (start <= line.size()) {
      const std::size_t end = std::min(line.find(',', start), line.size());
      const std::string field = line.substr(start, end - start);
      char* stop = nullptr;
      const double v = std::strtod(field.c_str(), &stop);
      const bool number = stop != field.c_str() && *stop == '\0';
      if (!number && p.count == 0 && row.empty() && line_no == 1) {
        header = true;
        break;
      }
      if (!number || !std::isfinite(v))
        throw io_error(where, "file", "finite numbers", fmt::format("'{}' at {}:{}", field, path, line_no));
      row.push_back(v);
      start = end + 1;
    }
    if (header) continue;
    if (p.count == 0) p.dim = static_cast<index_t>(row.size());
    if (static_cast<index_t>(row.size()) != p.dim)
      throw io_error(where, "file", fmt::format("{} fields per row", p.dim),
                     fmt::format("{} at {}:{}", row.size(), path, line_no));
    p.values.insert(p.values.end(), row.begin(), row.end());
    ++p.count;
  }
  if (p.count == 0) throw io_error(where, "file", "at least one point", path + " has none");
  return p;
}

/// parse_points_csv of a regular file (a directory, FIFO or device is io_error, unread).
inline points read_points_csv(const std::string& path) {
  return parse_points_csv(read_regular_file(path, "io::read_points_csv"), path);
}

}  // namespace idemgen::io
