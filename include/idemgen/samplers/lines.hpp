#pragma once
// LMM's samplers over an index set {k_0 = 0 < k_1 < …} of a Karras grid (LMM App. A.4; trap:
// multistep re-noises with fresh noise and is not an ODE step). x starts at σ_{k_0} z = σ_max z:
//   multistep   ŷ = N(x; σ_{k_j}); x ← ŷ + σ_{k_{j+1}} η, η ~ N(0, I) fresh   (consistency-model sampler)
//   euler       ŷ = N(x; σ_{k_j}); x ← ŷ + σ_{k_{j+1}}/σ_{k_j} (x − ŷ)         (along the predicted line)
// and the sample is the last ŷ. NFE = the number of indices. On exact lines (x = y + σ z for every
// σ) both return y after one step, whatever the set.

#include <vector>

#include "idemgen/core/concepts.hpp"
#include "idemgen/core/errors.hpp"
#include "idemgen/schedules/karras_grid.hpp"

namespace idemgen::samplers {

enum class lines_method { multistep, euler };

/// x: unit noise z on entry (scaled to σ_max z here), the sample on return. Returns the NFE.
/// With `trajectory`, the states x (before each call) and the final sample are appended.
template <numeric_backend B, class Denoise>
int lines_sampler(Denoise&& denoise, const schedule::karras_grid& grid, const std::vector<int>& indices,
                  lines_method method, typename B::view x, random_stream& rng,
                  std::vector<typename B::matrix>* trajectory = nullptr) {
  using S = typename B::scalar;
  grid.validate();
  idemgen::detail::require_option(!indices.empty() && indices.front() == 0, "samplers::lines_sampler", "indices",
                                  "a non-empty increasing set starting at 0 (σ_max)", fmt::format("{} indices", indices.size()));
  for (std::size_t j = 0; j < indices.size(); ++j)
    idemgen::detail::require_option(indices[j] < grid.steps && (j == 0 || indices[j] > indices[j - 1]),
                                    "samplers::lines_sampler", "indices",
                                    fmt::format("increasing grid points below {}", grid.steps), std::to_string(indices[j]));
  const index_t d = x.rows(), n = x.cols();
  typename B::matrix row(1, n), y(d, n), eta(d, n);
  B::scale(x, static_cast<S>(grid.sigma_max));
  const auto keep = [&](typename B::const_view state) {
    if (!trajectory) return;
    trajectory->emplace_back(d, n);
    B::copy(state, trajectory->back());
  };
  int nfe = 0;
  for (std::size_t j = 0; j < indices.size(); ++j) {
    keep(x);
    const double s = grid.sigma<double>(indices[j]);
    B::fill(row, static_cast<S>(s));
    denoise(typename B::const_view(x), typename B::const_view(row), typename B::view(y));
    ++nfe;
    if (j + 1 == indices.size()) break;
    const double next = grid.sigma<double>(indices[j + 1]);
    if (method == lines_method::multistep) {
      B::fill_normal(eta, rng);
      B::copy(y, x);
      B::axpy(static_cast<S>(next), eta, x);
    } else {  // x ← ŷ + (next/s)(x − ŷ)
      B::scale(x, static_cast<S>(next / s));
      B::axpy(static_cast<S>(1 - next / s), y, x);
    }
  }
  B::copy(y, x);
  keep(x);
  return nfe;
}

}  // namespace idemgen::samplers
