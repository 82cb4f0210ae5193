#pragma once
// Sample-quality scores from nearest neighbours, on any features (pixels, or a classifier's
// penultimate layer): columns of d × n matrices on any backend, distances by the backend's
// pairwise_squared_distances in blocks of columns, so memory stays O(n · block).
//
//   coverage, density   Naeem, Oh, Uh, Choi & Yoo (2020), eq. 3–4, the metrics NAIGN reports
//                       (Table 1): r_i is the Euclidean distance from real X_i to its k-th nearest
//                       other real sample;
//                         density  = 1/(k m) Σ_j Σ_i 1[‖Y_j − X_i‖ ≤ r_i]
//                         coverage = 1/n Σ_i 1[∃ j: ‖Y_j − X_i‖ ≤ r_i]
//                       k = 5 (Naeem's recommendation; NAIGN does not state it)
//   nearest distances   for each generated sample, the distance to its nearest training sample:
//                       a model that memorises puts these near 0, where fresh test images are not

#include <algorithm>
#include <cmath>
#include <vector>

#include <fmt/format.h>

#include "idemgen/core/concepts.hpp"
#include "idemgen/core/errors.hpp"

namespace idemgen::evaluation {

namespace detail {
/// Calls visit(j, squared distances from every column of `a` to column j of `b`) for each j,
/// computing the distances `block` columns of b at a time.
template <numeric_backend B, class Visit>
void for_each_distance_column(typename B::const_view a, typename B::const_view b, Visit&& visit, index_t block = 1024) {
  typename B::matrix distances;
  std::vector<typename B::scalar> host;
  for (index_t first = 0; first < b.cols(); first += block) {
    const index_t cols = std::min(block, b.cols() - first);
    distances.resize(a.cols(), cols);
    B::pairwise_squared_distances(a, b.columns(first, cols), distances);
    host.resize(static_cast<std::size_t>(distances.size()));
    B::copy_to_host(distances, host.data());
    for (index_t j = 0; j < cols; ++j) visit(first + j, host.data() + j * a.cols());
  }
}
}  // namespace detail

struct coverage_density {
  double coverage = 0, density = 0;
};

/// Coverage and density of `generated` against `real` (both d × ·, real with more than k columns).
template <numeric_backend B>
coverage_density coverage_and_density(typename B::const_view real, typename B::const_view generated, int k = 5) {
  constexpr const char* where = "evaluation::coverage_and_density";
  idemgen::detail::require_dim(where, "generated", "rows", real.rows(), generated.rows());
  idemgen::detail::require_option(k >= 1 && real.cols() > k && generated.cols() >= 1, where, "k",
                                  "1 <= k < real samples, at least 1 generated",
                                  [&] { return fmt::format("k {}, {} real, {} generated", k, real.cols(), generated.cols()); });
  const index_t n = real.cols();
  // r_i²: the (k+1)-th smallest squared distance from X_i to the real set (the first is X_i itself).
  std::vector<double> radius2(static_cast<std::size_t>(n));
  std::vector<double> column(static_cast<std::size_t>(n));
  detail::for_each_distance_column<B>(real, real, [&](index_t i, const auto* d) {
    std::copy_n(d, n, column.begin());
    std::nth_element(column.begin(), column.begin() + k, column.end());
    radius2[static_cast<std::size_t>(i)] = column[static_cast<std::size_t>(k)];
  });
  std::vector<char> covered(static_cast<std::size_t>(n), 0);
  double inside = 0;
  detail::for_each_distance_column<B>(real, generated, [&](index_t, const auto* d) {
    for (index_t i = 0; i < n; ++i)
      if (static_cast<double>(d[i]) <= radius2[static_cast<std::size_t>(i)]) {
        inside += 1;
        covered[static_cast<std::size_t>(i)] = 1;
      }
  });
  coverage_density result;
  result.density = inside / (static_cast<double>(k) * static_cast<double>(generated.cols()));
  result.coverage = static_cast<double>(std::count(covered.begin(), covered.end(), 1)) / static_cast<double>(n);
  return result;
}

/// For each column of `generated`, the Euclidean distance to its nearest column of `training`.
template <numeric_backend B>
std::vector<double> nearest_distances(typename B::const_view training, typename B::const_view generated) {
  idemgen::detail::require_dim("evaluation::nearest_distances", "generated", "rows", training.rows(), generated.rows());
  idemgen::detail::require_option(training.cols() >= 1, "evaluation::nearest_distances", "training",
                                  "at least 1 sample", [&] { return fmt::format("{}", training.cols()); });
  std::vector<double> nearest(static_cast<std::size_t>(generated.cols()));
  detail::for_each_distance_column<B>(training, generated, [&](index_t j, const auto* d) {
    // max(0, ·): the |a|² + |b|² − 2ab expansion can round a true 0 to a tiny negative
    nearest[static_cast<std::size_t>(j)] = std::sqrt(std::max(0.0, static_cast<double>(*std::min_element(d, d + training.cols()))));
  });
  return nearest;
}

}  // namespace idemgen::evaluation
