#pragma once
// The reverse SDE of EDM's VE process, driven by a denoiser (EDM eq. 6; CDM Eq. 3/7):
//   dx = 2 (x − D(x; σ))/σ dσ + √(2σ) dW̄,  σ decreasing,
// discretised by Euler–Maruyama from σ to σ' < σ ([code] backward_sde_sampler):
//   x ← x + 2 (σ' − σ)(x − D(x; σ))/σ + √(2σ(σ − σ')) ξ,   ξ ~ N(0, I).
// This — not the PF-ODE, not EDM's churn sampler — is what CDM's consistency term and the
// consistency-error evaluation need (CDM Remark 4.1: same marginals, different conditionals).
//   reverse_sde            one grid for all samples; the final step to σ_N = 0 is x = D(x; σ_{N−1})
//                          (Tweedie: an Euler–Maruyama step to 0 would leave noise √2 σ ξ), NFE = N
//   reverse_sde_subgrid    each column from its own σ_j down to its own σ'_j over a Karras sub-grid
//                          of `points` points (CDM §2.3 step 4–5: 6 points, 5 steps)

#include <cmath>
#include <vector>

#include "idemgen/core/concepts.hpp"
#include "idemgen/core/errors.hpp"
#include "idemgen/samplers/pf_ode.hpp"

namespace idemgen::samplers {

/// Buffers of a reverse-SDE run, reused across calls (resized on the first).
template <numeric_backend B>
struct reverse_sde_workspace {
  typename B::matrix den, xi, now, next;
  void resize(index_t d, index_t n) {
    den.resize(d, n);
    xi.resize(d, n);
    now.resize(1, n);
    next.resize(1, n);
  }
};

/// One Euler–Maruyama step per column j from σ = now_j to next_j, given den = D(x; now) and ξ.
template <numeric_backend B>
void reverse_sde_step(typename B::view x, typename B::const_view den, typename B::const_view now,
                      typename B::const_view next, typename B::const_view xi) {
  using S = typename B::scalar;
  const index_t d = x.rows();
  S* px = x.data();
  const S* pd = den.data();
  const S* pn = now.data();
  const S* pm = next.data();
  const S* pxi = xi.data();
  B::parallel_for_2d(d, x.cols(), [=] IDEMGEN_HOST_DEVICE(index_t i, index_t j) {
    const S s = pn[j], s_next = pm[j];
    const index_t e = i + j * d;
    px[e] += S(2) * (s_next - s) * (px[e] - pd[e]) / s + std::sqrt(S(2) * s * (s - s_next)) * pxi[e];
  });
}

/// row_j = (from_j^{1/ρ} + u (to_j^{1/ρ} − from_j^{1/ρ}))^ρ: the Karras sub-grid at fraction u.
template <numeric_backend B>
void subgrid_level(typename B::view row, typename B::const_view from, typename B::const_view to,
                   typename B::scalar u, typename B::scalar rho) {
  using S = typename B::scalar;
  const S* pf = from.data();
  const S* pt = to.data();
  S* p = row.data();
  const S inv_rho = S(1) / rho;
  B::parallel_for(row.size(), [=] IDEMGEN_HOST_DEVICE(index_t j) {
    const S a = std::pow(pf[j], inv_rho), b = std::pow(pt[j], inv_rho);
    p[j] = std::pow(a + u * (b - a), rho);
  });
}

/// x holds σ_0 z on entry and the sample on return; `sigmas` as for pf_ode. Returns the NFE.
template <numeric_backend B, class Denoise>
int reverse_sde(Denoise&& denoise, const std::vector<double>& sigmas, typename B::view x, random_stream& rng,
                std::vector<typename B::matrix>* trajectory = nullptr) {
  using S = typename B::scalar;
  detail::check_sigmas("samplers::reverse_sde", sigmas);
  reverse_sde_workspace<B> w;
  w.resize(x.rows(), x.cols());
  detail::record<B>(trajectory, x);
  int nfe = 0;
  for (std::size_t i = 0; i + 1 < sigmas.size(); ++i) {
    B::fill(w.now, static_cast<S>(sigmas[i]));
    denoise(typename B::const_view(x), typename B::const_view(w.now), typename B::view(w.den));
    ++nfe;
    if (sigmas[i + 1] == 0) {
      B::copy(w.den, x);
    } else {
      B::fill(w.next, static_cast<S>(sigmas[i + 1]));
      B::fill_normal(w.xi, rng);
      reverse_sde_step<B>(x, w.den, w.now, w.next, w.xi);
    }
    detail::record<B>(trajectory, x);
  }
  return nfe;
}

/// Runs every column j of x from σ = from_j down to to_j (to_j <= from_j; equal: the column
/// stays put) through `points` Karras sub-grid points τ_i = (from^{1/ρ} + i/(points−1)(to^{1/ρ} −
/// from^{1/ρ}))^ρ. Every to_j must be > 0. Makes points − 1 denoiser calls.
template <numeric_backend B, class Denoise>
void reverse_sde_subgrid(Denoise&& denoise, typename B::const_view from, typename B::const_view to, int points,
                         double rho, typename B::view x, random_stream& rng, reverse_sde_workspace<B>& w) {
  using S = typename B::scalar;
  idemgen::detail::require_option(points >= 2, "samplers::reverse_sde_subgrid", "points", ">= 2",
                                  std::to_string(points));
  const index_t n = x.cols();
  idemgen::detail::require_shape(from.rows() == 1 && from.cols() == n && to.rows() == 1 && to.cols() == n,
                                 "samplers::reverse_sde_subgrid", "from/to", fmt::format("1x{}", n),
                                 fmt::format("{}x{} / {}x{}", from.rows(), from.cols(), to.rows(), to.cols()));
  w.resize(x.rows(), n);
  const S r = static_cast<S>(rho);
  const auto u = [&](int i) { return static_cast<S>(i) / static_cast<S>(points - 1); };
  subgrid_level<B>(w.now, from, to, u(0), r);
  for (int i = 0; i + 1 < points; ++i) {
    subgrid_level<B>(w.next, from, to, u(i + 1), r);
    denoise(typename B::const_view(x), typename B::const_view(w.now), typename B::view(w.den));
    B::fill_normal(w.xi, rng);
    reverse_sde_step<B>(x, w.den, w.now, w.next, w.xi);
    w.now.swap(w.next);
  }
}

}  // namespace idemgen::samplers
