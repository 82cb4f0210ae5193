#pragma once
// schedule::vp — the variance-preserving schedule in EDM's σ-space (EDM Table 1).
// The scaling s(t) = 1/√(1 + σ(t)²) is factored out, so noising is x = y + σ z and
// the PF-ODE is the same dx/dσ = (x − D)/σ as karras; what differs is the σ grid, the training
// distribution and the preconditioning:
//   σ(t) = √(exp(½ β_d t² + β_min t) − 1),  σ⁻¹(σ) = (√(β_min² + 2 β_d ln(σ² + 1)) − β_min)/β_d
//   c_skip = 1, c_out = −σ, c_in = 1/√(σ² + 1), c_noise = (M − 1) σ⁻¹(σ)
//   training t ~ U(ε_t, 1), σ = σ(t), λ(σ) = 1/σ² = 1/c_out²
//   sampling t_i = 1 + i/(N − 1)(ε_s − 1), σ_i = σ(t_i), i < N, σ_N = 0
// (CDM's "VP" models are the DDPM++ architecture under karras preconditioning, not this: §1.7.)

#include <cmath>
#include <vector>

#include "idemgen/core/concepts.hpp"
#include "idemgen/core/errors.hpp"
#include "idemgen/schedules/noising.hpp"

namespace idemgen::schedule {

struct vp {
  static constexpr const char* name = "vp";
  double beta_d = 19.9;
  double beta_min = 0.1;
  double epsilon_t = 1e-5;  // smallest training t
  double epsilon_s = 1e-3;  // smallest sampling t
  double m = 1000.0;        // c_noise scale (DDPM's number of steps)

  bool operator==(const vp&) const = default;

  template <class S>
  IDEMGEN_HOST_DEVICE S sigma(S t) const {
    return std::sqrt(std::exp(S(0.5 * beta_d) * t * t + S(beta_min) * t) - S(1));
  }
  template <class S>
  IDEMGEN_HOST_DEVICE S sigma_inverse(S s) const {
    const S bm = static_cast<S>(beta_min);
    return (std::sqrt(bm * bm + S(2 * beta_d) * std::log(s * s + S(1))) - bm) / static_cast<S>(beta_d);
  }
  template <class S>
  IDEMGEN_HOST_DEVICE S c_skip(S) const { return S(1); }
  template <class S>
  IDEMGEN_HOST_DEVICE S c_out(S s) const { return -s; }
  template <class S>
  IDEMGEN_HOST_DEVICE S c_in(S s) const { return S(1) / std::sqrt(s * s + S(1)); }
  template <class S>
  IDEMGEN_HOST_DEVICE S c_noise(S s) const { return static_cast<S>(m - 1) * sigma_inverse(s); }
  template <class S>
  IDEMGEN_HOST_DEVICE S loss_weight(S s) const { return S(1) / (s * s); }

  /// σ(t_0 = 1) > … > σ(t_{N−1} = ε_s), then 0: N + 1 values for an N-step sampler.
  std::vector<double> steps(int n) const {
    idemgen::detail::require_option(n >= 1, "schedule::vp::steps", "n", ">= 1", std::to_string(n));
    validate();
    std::vector<double> s(static_cast<std::size_t>(n) + 1, 0.0);
    for (int i = 0; i < n; ++i)
      s[static_cast<std::size_t>(i)] = sigma(n == 1 ? 1.0 : 1.0 + i * (epsilon_s - 1.0) / (n - 1));
    return s;
  }

  /// Training noise levels σ(t), t ~ U(ε_t, 1), into a 1 × batch row.
  template <numeric_backend B>
  void sample_training_level(typename B::view sigma_row, random_stream& rng) const {
    using S = typename B::scalar;
    B::fill_uniform(sigma_row, rng, static_cast<S>(epsilon_t), S(1));
    S* p = sigma_row.data();
    const vp self = *this;
    B::parallel_for(sigma_row.size(), [=] IDEMGEN_HOST_DEVICE(index_t i) { p[i] = self.sigma(p[i]); });
  }

  template <numeric_backend B>
  void noise(typename B::const_view y, typename B::const_view z, typename B::const_view sigma_row,
             typename B::view out) const {
    detail::variance_exploding<B>(y, z, sigma_row, out);
  }

  void validate() const {
    idemgen::detail::require_option(beta_d > 0 && beta_min >= 0 && epsilon_t > 0 && epsilon_t < 1 &&
                                        epsilon_s > 0 && epsilon_s < 1 && m > 1,
                                    "schedule::vp", "beta_d/beta_min/epsilon_t/epsilon_s/m",
                                    "beta_d > 0, beta_min >= 0, 0 < epsilon_t, epsilon_s < 1, m > 1",
                                    fmt::format("{}/{}/{}/{}/{}", beta_d, beta_min, epsilon_t, epsilon_s, m));
  }
};

}  // namespace idemgen::schedule
