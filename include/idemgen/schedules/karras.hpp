#pragma once
// schedule::karras — EDM's variance-exploding schedule (Karras et al. 2022, Table 1):
//   noising x = y + σ n, σ(t) = t, PF-ODE dx/dσ = (x − D(x; σ)) / σ
//   preconditioning  c_skip = σ_d²/(σ² + σ_d²), c_out = σ σ_d/√(σ² + σ_d²),
//                    c_in = 1/√(σ² + σ_d²), c_noise = ¼ ln σ           (§1.2; D(x; 0) = x exactly)
//   training σ       ln σ ~ N(P_mean, P_std²), loss weight λ(σ) = (σ² + σ_d²)/(σ σ_d)² = 1/c_out²
//   sampling steps   σ_i = (σ_max^{1/ρ} + i/(N−1)(σ_min^{1/ρ} − σ_max^{1/ρ}))^ρ, i < N, σ_N = 0 (§1.4)
// For toy data set σ_d to the data's std and shift P_mean by ln(σ_d/0.5) (EDM tunes both for images with σ_d = 0.5).

#include <cmath>
#include <vector>

#include "idemgen/core/concepts.hpp"
#include "idemgen/core/errors.hpp"
#include "idemgen/schedules/noising.hpp"

namespace idemgen::schedule {

struct karras {
  static constexpr const char* name = "karras";
  double sigma_min = 0.002;
  double sigma_max = 80.0;
  double rho = 7.0;
  double sigma_data = 0.5;
  double p_mean = -1.2;
  double p_std = 1.2;

  bool operator==(const karras&) const = default;

  // Host and device: the denoiser evaluates these per sample inside its kernels.
  template <class S>
  IDEMGEN_HOST_DEVICE S c_skip(S s) const {
    const S sd2 = static_cast<S>(sigma_data * sigma_data);
    return sd2 / (s * s + sd2);
  }
  template <class S>
  IDEMGEN_HOST_DEVICE S c_out(S s) const {
    const S sd = static_cast<S>(sigma_data);
    return s * sd / std::sqrt(s * s + sd * sd);
  }
  template <class S>
  IDEMGEN_HOST_DEVICE S c_in(S s) const {
    const S sd = static_cast<S>(sigma_data);
    return S(1) / std::sqrt(s * s + sd * sd);
  }
  template <class S>
  IDEMGEN_HOST_DEVICE S c_noise(S s) const { return S(0.25) * std::log(s); }
  template <class S>
  IDEMGEN_HOST_DEVICE S loss_weight(S s) const {
    const S sd = static_cast<S>(sigma_data);
    return (s * s + sd * sd) / (s * sd * s * sd);
  }

  /// σ_0 = σ_max > … > σ_{N−1} = σ_min, then σ_N = 0: N + 1 values for an N-step sampler.
  std::vector<double> steps(int n) const {
    idemgen::detail::require_option(n >= 1, "schedule::karras::steps", "n", ">= 1", std::to_string(n));
    validate();
    std::vector<double> s(static_cast<std::size_t>(n) + 1, 0.0);
    const double a = std::pow(sigma_max, 1 / rho), b = std::pow(sigma_min, 1 / rho);
    for (int i = 0; i < n; ++i)
      s[static_cast<std::size_t>(i)] = n == 1 ? sigma_max : std::pow(a + i * (b - a) / (n - 1), rho);
    return s;
  }

  /// Training noise levels: σ = exp(P_mean + P_std ξ), ξ ~ N(0, 1), into a 1 × batch row.
  template <numeric_backend B>
  void sample_training_level(typename B::view sigma, random_stream& rng) const {
    using S = typename B::scalar;
    B::fill_normal(sigma, rng, static_cast<S>(p_mean), static_cast<S>(p_std));
    S* p = sigma.data();
    B::parallel_for(sigma.size(), [=] IDEMGEN_HOST_DEVICE(index_t i) { p[i] = std::exp(p[i]); });
  }

  /// x = y + σ z per column (§1.3).
  template <numeric_backend B>
  void noise(typename B::const_view y, typename B::const_view z, typename B::const_view sigma,
             typename B::view out) const {
    detail::variance_exploding<B>(y, z, sigma, out);
  }

  void validate() const {
    idemgen::detail::require_option(sigma_min > 0 && sigma_max > sigma_min && rho > 0 && sigma_data > 0 &&
                                        p_std > 0,
                                    "schedule::karras", "sigma_min/sigma_max/rho/sigma_data/p_std",
                                    "0 < sigma_min < sigma_max, rho > 0, sigma_data > 0, p_std > 0",
                                    [&] { return fmt::format("{}/{}/{}/{}/{}", sigma_min, sigma_max, rho, sigma_data, p_std); });
  }
};

}  // namespace idemgen::schedule
