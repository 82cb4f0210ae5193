#pragma once
// Samples as CSV: header x0,x1,…, one sample (column of the d × n matrix) per row.

#include <string>

#include "idemgen/io/atomic_file.hpp"

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

}  // namespace idemgen::io
