#pragma once
// Samplers of the probability-flow ODE dx/dσ = (x − D(x; σ))/σ (EDM eq. 4,
// Alg. 1 and 2). Any denoiser works: `denoise(x, sigma_row, out)` writes D(x; σ) for a 1 × batch
// row σ (samplers/model_function.hpp wraps a network). Each returns the number of denoiser
// evaluations (NFE).
//   pf_ode(euler)   N steps, NFE N
//   pf_ode(heun)    EDM Alg. 1 (second order; the last step to σ = 0 is plain Euler), NFE 2N − 1
//   edm_stochastic  EDM Alg. 2: before each Heun step, churn σ_i up to σ̂ = σ_i(1 + γ_i) with
//                   γ_i = min(S_churn/N, √2 − 1) inside [S_tmin, S_tmax] and add fresh noise
//                   √(σ̂² − σ_i²)·S_noise·ξ. Not for CDM's chains (Remark 4.1: wrong conditionals).

#include <cmath>
#include <utility>
#include <vector>

#include "idemgen/core/concepts.hpp"
#include "idemgen/core/errors.hpp"

namespace idemgen::samplers {

enum class ode_method { euler, heun };

struct edm_stochastic_options {
  double s_churn = 0.0;  // total churn; γ_i = min(S_churn/N, √2 − 1)
  double s_tmin = 0.0;
  double s_tmax = 1e30;
  double s_noise = 1.0;
};

namespace detail {

inline void check_sigmas(const char* where, const std::vector<double>& sigmas) {
  idemgen::detail::require_option(sigmas.size() >= 2, where, "sigmas", "at least 2 values", std::to_string(sigmas.size()));
  for (std::size_t i = 0; i + 1 < sigmas.size(); ++i)
    idemgen::detail::require_option(sigmas[i] > sigmas[i + 1] && sigmas[i + 1] >= 0 && sigmas[i] > 0, where,
                                    "sigmas", "strictly decreasing, > 0, last >= 0",
                                    [&] { return fmt::format("{} then {} at {}", sigmas[i], sigmas[i + 1], i); });
}

/// The buffers of one ODE step (allocated once per sampler run, or kept by the caller across
/// runs: samplers::ode_workspace).
template <numeric_backend B>
struct ode_workspace {
  typename B::matrix den, slope, next, row;
  ode_workspace() = default;
  ode_workspace(index_t d, index_t n) { resize(d, n); }
  void resize(index_t d, index_t n) {
    den.resize(d, n);
    slope.resize(d, n);
    next.resize(d, n);
    row.resize(1, n);
  }
};

/// slope = (x − den)/s and next = x + h · slope (the Euler step).
template <numeric_backend B>
void euler_predict(typename B::const_view x, typename B::const_view den, typename B::view slope,
                   typename B::view next, typename B::scalar s, typename B::scalar h) {
  using S = typename B::scalar;
  const S* px = x.data();
  const S* pd = den.data();
  S* pk = slope.data();
  S* pn = next.data();
  B::parallel_for(x.size(), [=] IDEMGEN_HOST_DEVICE(index_t e) {
    pk[e] = (px[e] - pd[e]) / s;  // dx/dσ at (x, σ_i)
    pn[e] = px[e] + h * pk[e];
  });
}

/// next = x + h/2 (slope + (next − den)/s_next) (Heun's corrector; den = D(next; s_next)).
template <numeric_backend B>
void heun_correct(typename B::const_view x, typename B::const_view den, typename B::const_view slope,
                  typename B::view next, typename B::scalar s_next, typename B::scalar h) {
  using S = typename B::scalar;
  const S* px = x.data();
  const S* pd = den.data();
  const S* pk = slope.data();
  S* pn = next.data();
  B::parallel_for(x.size(), [=] IDEMGEN_HOST_DEVICE(index_t e) {
    const S k2 = (pn[e] - pd[e]) / s_next;
    pn[e] = px[e] + h * S(0.5) * (pk[e] + k2);
  });
}

/// One Euler or Heun step of the PF-ODE from σ = s to s_next, in place on x; returns its NFE.
/// (The arithmetic lives in euler_predict/heun_correct: nvcc accepts no device lambda in a
/// function templated on a function-local type such as a sampler's denoise lambda.)
template <numeric_backend B, class Denoise>
int ode_step(Denoise& denoise, double s_in, double s_next_in, ode_method method, typename B::view x,
             ode_workspace<B>& w) {
  using S = typename B::scalar;
  const S s = static_cast<S>(s_in), s_next = static_cast<S>(s_next_in);
  B::fill(w.row, s);
  denoise(typename B::const_view(x), typename B::const_view(w.row), typename B::view(w.den));
  euler_predict<B>(x, w.den, w.slope, w.next, s, s_next - s);
  int nfe = 1;
  if (method == ode_method::heun && s_next > S(0)) {
    B::fill(w.row, s_next);
    denoise(typename B::const_view(w.next), typename B::const_view(w.row), typename B::view(w.den));
    ++nfe;
    heun_correct<B>(x, w.den, w.slope, w.next, s_next, s_next - s);
  }
  B::copy(w.next, x);
  return nfe;
}

template <numeric_backend B>
void record(std::vector<typename B::matrix>* trajectory, typename B::const_view x) {
  if (!trajectory) return;
  trajectory->emplace_back(x.rows(), x.cols());
  B::copy(x, trajectory->back());
}

}  // namespace detail

/// The step buffers a caller keeps across sampler runs (a coupling that solves the ODE every
/// training step): a run then allocates nothing once they have x's shape.
template <numeric_backend B>
using ode_workspace = detail::ode_workspace<B>;

/// x holds x₀ = σ_0 z on entry and the sample on return. `sigmas` is σ_0 > … > σ_N (= 0 usually),
/// e.g. schedule::karras::steps(N). With `trajectory`, every state x_i is appended (N + 1 of them).
/// `w` is resized to x's shape.
template <numeric_backend B, class Denoise>
int pf_ode(Denoise&& denoise, const std::vector<double>& sigmas, ode_method method, typename B::view x,
           ode_workspace<B>& w, std::vector<typename B::matrix>* trajectory = nullptr) {
  detail::check_sigmas("samplers::pf_ode", sigmas);
  w.resize(x.rows(), x.cols());
  detail::record<B>(trajectory, x);
  int nfe = 0;
  for (std::size_t i = 0; i + 1 < sigmas.size(); ++i) {
    nfe += detail::ode_step<B>(denoise, sigmas[i], sigmas[i + 1], method, x, w);
    detail::record<B>(trajectory, x);
  }
  return nfe;
}

/// The same with buffers of its own.
template <numeric_backend B, class Denoise>
int pf_ode(Denoise&& denoise, const std::vector<double>& sigmas, ode_method method, typename B::view x,
           std::vector<typename B::matrix>* trajectory = nullptr) {
  ode_workspace<B> w;
  return pf_ode<B>(std::forward<Denoise>(denoise), sigmas, method, x, w, trajectory);
}

/// EDM Alg. 2 on the grid `sigmas` (σ_N = 0): x holds σ_0 z on entry and the sample on return.
template <numeric_backend B, class Denoise>
int edm_stochastic(Denoise&& denoise, const std::vector<double>& sigmas, const edm_stochastic_options& opt,
                   typename B::view x, random_stream& rng, std::vector<typename B::matrix>* trajectory = nullptr) {
  using S = typename B::scalar;
  detail::check_sigmas("samplers::edm_stochastic", sigmas);
  idemgen::detail::require_option(opt.s_churn >= 0 && opt.s_noise >= 0 && opt.s_tmin <= opt.s_tmax,
                                  "samplers::edm_stochastic", "options",
                                  "s_churn >= 0, s_noise >= 0, s_tmin <= s_tmax",
                                  fmt::format("{}/{}/{}/{}", opt.s_churn, opt.s_tmin, opt.s_tmax, opt.s_noise));
  detail::ode_workspace<B> w(x.rows(), x.cols());
  typename B::matrix xi(x.rows(), x.cols());
  const double n = static_cast<double>(sigmas.size() - 1);
  detail::record<B>(trajectory, x);
  int nfe = 0;
  for (std::size_t i = 0; i + 1 < sigmas.size(); ++i) {
    const double s = sigmas[i];
    const double gamma = s >= opt.s_tmin && s <= opt.s_tmax ? std::min(opt.s_churn / n, std::sqrt(2.0) - 1) : 0.0;
    const double s_hat = s * (1 + gamma);
    if (gamma > 0) {
      B::fill_normal(xi, rng);
      B::axpy(static_cast<S>(std::sqrt(s_hat * s_hat - s * s) * opt.s_noise), xi, x);
    }
    nfe += detail::ode_step<B>(denoise, s_hat, sigmas[i + 1], ode_method::heun, x, w);
    detail::record<B>(trajectory, x);
  }
  return nfe;
}

}  // namespace idemgen::samplers
