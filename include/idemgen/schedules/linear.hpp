#pragma once
// schedule::linear — flow matching / rectified flow (Lipman et al. 2023 §4.1; Liu et al. 2023;
// LMM eq. 2). Time t ∈ [0, 1] with t = 1 the data (the CFM convention):
//   x_t = t y + (1 − t) z,   target velocity u = dx_t/dt = y − z,   ODE dx/dt = v_θ(x, t), t: 0 → 1
//   training t ~ U[t_min, t_max];  sampling grid t_i = i/N (N + 1 values, t_0 = 0 is noise).

#include <vector>

#include "idemgen/core/concepts.hpp"
#include "idemgen/core/errors.hpp"
#include "idemgen/schedules/noising.hpp"

namespace idemgen::schedule {

struct linear {
  static constexpr const char* name = "linear";
  double t_min = 0.0;
  double t_max = 1.0;

  bool operator==(const linear&) const = default;

  /// t_0 = 0 < t_1 < … < t_N = 1, uniform.
  std::vector<double> steps(int n) const {
    idemgen::detail::require_option(n >= 1, "schedule::linear::steps", "n", ">= 1", std::to_string(n));
    std::vector<double> t(static_cast<std::size_t>(n) + 1);
    for (int i = 0; i <= n; ++i) t[static_cast<std::size_t>(i)] = static_cast<double>(i) / n;
    return t;
  }

  /// Training times t ~ U[t_min, t_max] into a 1 × batch row.
  template <numeric_backend B>
  void sample_training_level(typename B::view t, random_stream& rng) const {
    using S = typename B::scalar;
    B::fill_uniform(t, rng, static_cast<S>(t_min), static_cast<S>(t_max));
  }

  template <numeric_backend B>
  void noise(typename B::const_view y, typename B::const_view z, typename B::const_view t,
             typename B::view out) const {
    detail::linear_interpolant<B>(y, z, t, out);
  }

  void validate() const {
    idemgen::detail::require_option(0 <= t_min && t_min < t_max && t_max <= 1, "schedule::linear",
                                    "t_min/t_max", "0 <= t_min < t_max <= 1", fmt::format("{}/{}", t_min, t_max));
  }
};

}  // namespace idemgen::schedule
