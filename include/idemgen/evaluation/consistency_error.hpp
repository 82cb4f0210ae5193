#pragma once
// CDM's consistency ("drift") error (Daras et al. 2023 §5.1, Fig. 1):
//   CE(σ, σ') = ½ E_x ‖Ê[D(x_σ'; σ') | x_σ = x] − D(x; σ)‖²
// where x_σ' comes from the reverse SDE driven by D itself (samplers/reverse_sde.hpp), started
// at the state x at level σ. A consistent denoiser (a reverse martingale, CDM Lemma 3.1) has
// CE = 0 for every σ' < σ; the exact denoiser of any distribution is consistent, up to the SDE's
// discretisation error. With K chains per state and a_k = D(x⁽ᵏ⁾; σ') − D(x; σ), the estimator is
// the unbiased ½ · (1/(K(K−1))) Σ_{j≠k} ⟨a_j, a_k⟩ = ½ (‖Σ a_k‖² − Σ‖a_k‖²)/(K(K−1)) (the naive
// ½‖mean a‖² is biased up by Var/K), averaged over the states. σ' = 0 uses D(x; 0) = x, i.e. the
// chain's end state after a final step to σ_min and the denoiser there (EDM's last step).
// The chains run over a Karras sub-grid of `steps` steps from σ to σ' (ρ = 7).

#include <cmath>
#include <vector>

#include "idemgen/core/concepts.hpp"
#include "idemgen/core/errors.hpp"
#include "idemgen/samplers/reverse_sde.hpp"

namespace idemgen::evaluation {

struct consistency_error_options {
  int chains = 8;          // K >= 2 chains per state
  int steps = 100;         // SDE steps from σ to σ' (CDM used 300 for CIFAR-10)
  double rho = 7.0;
  double sigma_min = 0.002;  // where a chain to σ' = 0 stops before its last denoiser call
};

struct consistency_error_result {
  double value = 0;           // CE(σ, σ'), averaged over the states
  double standard_error = 0;  // of that mean, over the states
};

/// `denoise(x, sigma_row, out)`; x holds n states at level σ (e.g. y + σ z), d × n.
template <numeric_backend B, class Denoise>
consistency_error_result consistency_error(Denoise&& denoise, typename B::const_view x, double sigma,
                                           double sigma_prime, random_stream& rng,
                                           const consistency_error_options& opt = {}) {
  using S = typename B::scalar;
  idemgen::detail::require_option(opt.chains >= 2 && opt.steps >= 1, "evaluation::consistency_error",
                                  "chains/steps", "chains >= 2, steps >= 1", fmt::format("{}/{}", opt.chains, opt.steps));
  idemgen::detail::require_option(sigma > 0 && sigma_prime >= 0 && sigma_prime < sigma && sigma > opt.sigma_min,
                                  "evaluation::consistency_error", "sigma/sigma_prime",
                                  "sigma > sigma_min, 0 <= sigma_prime < sigma", fmt::format("{}/{}", sigma, sigma_prime));
  const index_t d = x.rows(), n = x.cols();
  const double stop = sigma_prime > 0 ? sigma_prime : opt.sigma_min;
  typename B::matrix h0(d, n), chain(d, n), h(d, n), from(1, n), to(1, n);
  B::fill(from, static_cast<S>(sigma));
  B::fill(to, static_cast<S>(stop));
  denoise(x, typename B::const_view(from), typename B::view(h0));
  std::vector<S> host_h0(static_cast<std::size_t>(d * n)), host_h(host_h0.size());
  B::copy_to_host(h0, host_h0.data());
  std::vector<double> sum(host_h0.size(), 0.0), squares(static_cast<std::size_t>(n), 0.0);
  samplers::reverse_sde_workspace<B> w;
  for (int k = 0; k < opt.chains; ++k) {
    B::copy(x, chain);
    samplers::reverse_sde_subgrid<B>(denoise, from, to, opt.steps + 1, opt.rho, chain, rng, w);
    denoise(typename B::const_view(chain), typename B::const_view(to), typename B::view(h));
    B::copy_to_host(h, host_h.data());
    for (index_t j = 0; j < n; ++j)
      for (index_t i = 0; i < d; ++i) {
        const std::size_t e = static_cast<std::size_t>(i + j * d);
        const double a = static_cast<double>(host_h[e]) - host_h0[e];
        sum[e] += a;
        squares[static_cast<std::size_t>(j)] += a * a;
      }
  }
  const double pairs = static_cast<double>(opt.chains) * (opt.chains - 1);
  double mean = 0, mean_sq = 0;
  for (index_t j = 0; j < n; ++j) {
    double s2 = 0;
    for (index_t i = 0; i < d; ++i) s2 += sum[static_cast<std::size_t>(i + j * d)] * sum[static_cast<std::size_t>(i + j * d)];
    const double ce = 0.5 * (s2 - squares[static_cast<std::size_t>(j)]) / pairs;
    mean += ce;
    mean_sq += ce * ce;
  }
  mean /= n;
  const double var = n > 1 ? (mean_sq / n - mean * mean) * n / (n - 1) : 0.0;
  return {mean, std::sqrt(std::max(var, 0.0) / n)};
}

}  // namespace idemgen::evaluation
