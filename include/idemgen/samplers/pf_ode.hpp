#pragma once
// Deterministic samplers of the probability-flow ODE dx/dσ = (x − D(x; σ))/σ (EDM, ALGORITHMS
// Part B §1.1, §1.5): Euler, and Heun = EDM Alg. 1 (second order; the last step to σ = 0 is plain
// Euler). Any denoiser works: `denoise(x, sigma_row, out)` writes D(x; σ) for a 1 × batch row σ.
// Returns the number of denoiser evaluations (NFE): N for Euler, 2N − 1 for Heun.

#include <vector>

#include "idemgen/core/concepts.hpp"
#include "idemgen/core/errors.hpp"

namespace idemgen::samplers {

enum class ode_method { euler, heun };

/// x holds x₀ = σ_0 z on entry and the sample on return. `sigmas` is σ_0 > … > σ_N (= 0 usually),
/// e.g. schedule::karras::steps(N). With `trajectory`, every state x_i is appended (N + 1 of them).
template <numeric_backend B, class Denoise>
int pf_ode(Denoise&& denoise, const std::vector<double>& sigmas, ode_method method, typename B::view x,
           std::vector<typename B::matrix>* trajectory = nullptr) {
  using S = typename B::scalar;
  idemgen::detail::require_option(sigmas.size() >= 2, "samplers::pf_ode", "sigmas", "at least 2 values",
                                  std::to_string(sigmas.size()));
  for (std::size_t i = 0; i + 1 < sigmas.size(); ++i)
    idemgen::detail::require_option(sigmas[i] > sigmas[i + 1] && sigmas[i + 1] >= 0 && sigmas[i] > 0,
                                    "samplers::pf_ode", "sigmas", "strictly decreasing, > 0, last >= 0",
                                    fmt::format("{} then {} at {}", sigmas[i], sigmas[i + 1], i));
  const index_t d = x.rows(), n = x.cols();
  typename B::matrix den(d, n), slope(d, n), next(d, n), row(1, n);
  const auto record = [&] {
    if (!trajectory) return;
    trajectory->emplace_back(d, n);
    B::copy(x, trajectory->back());
  };
  record();
  int nfe = 0;
  for (std::size_t i = 0; i + 1 < sigmas.size(); ++i) {
    const S s = static_cast<S>(sigmas[i]), s_next = static_cast<S>(sigmas[i + 1]);
    B::fill(row, s);
    denoise(typename B::const_view(x), typename B::const_view(row), typename B::view(den));
    ++nfe;
    S* px = x.data();
    S* pd = den.data();
    S* pk = slope.data();
    S* pn = next.data();
    const S h = s_next - s;
    B::parallel_for(x.size(), [=](index_t e) {
      pk[e] = (px[e] - pd[e]) / s;  // dx/dσ at (x, σ_i)
      pn[e] = px[e] + h * pk[e];
    });
    if (method == ode_method::heun && s_next > S(0)) {
      B::fill(row, s_next);
      denoise(typename B::const_view(next), typename B::const_view(row), typename B::view(den));
      ++nfe;
      B::parallel_for(x.size(), [=](index_t e) {
        const S k2 = (pn[e] - pd[e]) / s_next;
        pn[e] = px[e] + h * S(0.5) * (pk[e] + k2);
      });
    }
    B::copy(next, x);
    record();
  }
  return nfe;
}

}  // namespace idemgen::samplers
