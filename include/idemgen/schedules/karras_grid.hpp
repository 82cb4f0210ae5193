#pragma once
// schedule::karras_grid — training noise levels on a sampler's Karras grid (LMM §3; the
// paper's E_σ is unstated, our reading: σ uniform over the teacher's grid σ_0 = σ_max > … >
// σ_{N−1} = σ_min). `indices` restricts σ to a subset of grid points — sampling-optimised
// training (SOT, LMM §3): {0} for NFE 1, {0, 1} for NFE 2 — and must then match the sampler's
// index set. Noising is EDM's x = y + σ z. σ_i is computed in closed form in the kernel, so the
// schedule is a small trivially-copyable value (device lambdas capture it).

#include <array>
#include <cmath>
#include <string>
#include <vector>

#include "idemgen/core/concepts.hpp"
#include "idemgen/core/errors.hpp"
#include "idemgen/schedules/karras.hpp"
#include "idemgen/schedules/noising.hpp"

namespace idemgen::schedule {

struct karras_grid {
  static constexpr const char* name = "karras_grid";
  static constexpr int max_indices = 8;
  double sigma_min = 0.002;
  double sigma_max = 80.0;
  double rho = 7.0;
  int steps = 18;                          // N grid points σ_0 … σ_{N−1} (EDM's 18-step sampler)
  std::array<int, max_indices> indices{};  // SOT: the grid points used; with index_count = 0, all N
  int index_count = 0;

  bool operator==(const karras_grid&) const = default;

  /// σ_i of the grid (i < N): (σ_max^{1/ρ} + i/(N−1)(σ_min^{1/ρ} − σ_max^{1/ρ}))^ρ.
  template <class S>
  IDEMGEN_HOST_DEVICE S sigma(int i) const {
    if (steps == 1) return static_cast<S>(sigma_max);
    const S a = std::pow(static_cast<S>(sigma_max), S(1) / static_cast<S>(rho));
    const S b = std::pow(static_cast<S>(sigma_min), S(1) / static_cast<S>(rho));
    return std::pow(a + static_cast<S>(i) / static_cast<S>(steps - 1) * (b - a), static_cast<S>(rho));
  }

  /// The grid point k places below σ, for σ one of the grid's own values (as drawn by
  /// sample_training_level), or 0 past σ_{N−1} = σ_min: the grid ends at 0, as the sampler's.
  template <class S>
  IDEMGEN_HOST_DEVICE S below(S sigma_value, int k) const {
    if (steps == 1) return S(0);
    const S a = std::pow(static_cast<S>(sigma_max), S(1) / static_cast<S>(rho));
    const S b = std::pow(static_cast<S>(sigma_min), S(1) / static_cast<S>(rho));
    const S position = (std::pow(sigma_value, S(1) / static_cast<S>(rho)) - a) / (b - a) * static_cast<S>(steps - 1);
    const int i = static_cast<int>(position + S(0.5)) + k;  // σ is a grid point: position is (nearly) whole and >= 0
    return i >= steps ? S(0) : sigma<S>(i < 0 ? 0 : i);
  }

  /// The sampler's grid: the N values, then σ_N = 0 (as karras::steps(N)).
  std::vector<double> grid() const {
    validate();
    return karras{.sigma_min = sigma_min, .sigma_max = sigma_max, .rho = rho}.steps(steps);
  }

  /// σ = σ_i, i uniform over the index set (or over all N), into a 1 × batch row.
  template <numeric_backend B>
  void sample_training_level(typename B::view sigma_row, random_stream& rng) const {
    using S = typename B::scalar;
    validate();
    B::fill_uniform(sigma_row, rng, S(0), S(1));
    S* p = sigma_row.data();
    const karras_grid g = *this;
    const int count = index_count > 0 ? index_count : steps;
    B::parallel_for(sigma_row.size(), [=] IDEMGEN_HOST_DEVICE(index_t e) {
      int k = static_cast<int>(p[e] * static_cast<S>(count));
      k = k < count ? k : count - 1;
      p[e] = g.sigma<S>(g.index_count > 0 ? g.indices[static_cast<std::size_t>(k)] : k);
    });
  }

  /// x = y + σ z per column.
  template <numeric_backend B>
  void noise(typename B::const_view y, typename B::const_view z, typename B::const_view sigma_row,
             typename B::view out) const {
    detail::variance_exploding<B>(y, z, sigma_row, out);
  }

  void validate() const {
    karras{.sigma_min = sigma_min, .sigma_max = sigma_max, .rho = rho}.validate();
    idemgen::detail::require_option(steps >= 1 && index_count >= 0 && index_count <= max_indices,
                                    "schedule::karras_grid", "steps/index_count", "steps >= 1, 0 <= index_count <= 8",
                                    [&] { return fmt::format("{}/{}", steps, index_count); });
    for (int k = 0; k < index_count; ++k)
      idemgen::detail::require_option(indices[static_cast<std::size_t>(k)] >= 0 && indices[static_cast<std::size_t>(k)] < steps,
                                      "schedule::karras_grid", "indices", "grid points in [0, steps)",
                                      [&] { return std::to_string(indices[static_cast<std::size_t>(k)]); });
  }
};

}  // namespace idemgen::schedule
