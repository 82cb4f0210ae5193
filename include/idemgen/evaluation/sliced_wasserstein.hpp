#pragma once
// Sliced Wasserstein-2 between two equal-size sample sets: for P random unit directions θ,
// W2 between the sorted projections, SW2 = √(mean_θ mean_i (sort(θᵀx)_i − sort(θᵀy)_i)²).
// Directions come from a fixed seed so that numbers are comparable between runs.

#include <algorithm>
#include <cmath>
#include <vector>

#include "idemgen/backend/cpu.hpp"

namespace idemgen::evaluation {

/// x, y: d × n host arrays (column-major), same n.
inline double sliced_wasserstein2(const double* x, const double* y, index_t d, index_t n,
                                  int projections = 128, std::uint64_t seed = 12345) {
  idemgen::detail::require_option(n > 0 && d > 0 && projections > 0, "evaluation::sliced_wasserstein2",
                                  "sizes", "d, n, projections > 0",
                                  fmt::format("{}, {}, {}", d, n, projections));
  backend::cpu<double>::matrix dirs(d, projections);
  random_stream rng(seed);
  backend::cpu<double>::fill_normal(dirs, rng);
  std::vector<double> px(static_cast<std::size_t>(n)), py(static_cast<std::size_t>(n));
  double total = 0;
  for (int p = 0; p < projections; ++p) {
    double norm = 0;
    for (index_t k = 0; k < d; ++k) norm += dirs(k, p) * dirs(k, p);
    norm = std::sqrt(norm);
    for (index_t j = 0; j < n; ++j) {
      double a = 0, b = 0;
      for (index_t k = 0; k < d; ++k) {
        a += x[k + j * d] * dirs(k, p);
        b += y[k + j * d] * dirs(k, p);
      }
      px[static_cast<std::size_t>(j)] = a / norm;
      py[static_cast<std::size_t>(j)] = b / norm;
    }
    std::sort(px.begin(), px.end());
    std::sort(py.begin(), py.end());
    for (std::size_t j = 0; j < px.size(); ++j) total += (px[j] - py[j]) * (px[j] - py[j]);
  }
  return std::sqrt(total / (static_cast<double>(n) * projections));
}

}  // namespace idemgen::evaluation
