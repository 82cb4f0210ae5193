#pragma once
// The exact denoiser of a Gaussian mixture with diagonal components:
// noised by x = y + σ n, component k has mean μ_k and variance s_k² + σ² per coordinate, so
//   D(x; σ)_j = Σ_k w_k [μ_kj + s_kj²/(s_kj² + σ²)(x_j − μ_kj)],
//   w_k ∝ π_k Π_j N(x_j; μ_kj, s_kj² + σ²)   (normalised with log-sum-exp).
// A reference teacher for tests and toy experiments: samplers driven by it can be checked against
// closed forms, and a learned denoiser's error can be measured against it.

#include <cmath>
#include <vector>

#include "idemgen/core/concepts.hpp"
#include "idemgen/core/errors.hpp"

namespace idemgen::evaluation {

template <numeric_backend B>
class mixture_denoiser {
 public:
  using S = typename B::scalar;

  /// means, stddevs: dim × K (column k is component k); weights: K (any positive scale).
  mixture_denoiser(const std::vector<double>& means, const std::vector<double>& stddevs,
                   const std::vector<double>& weights, index_t dim)
      : dim_(dim), k_(static_cast<index_t>(weights.size())) {
    idemgen::detail::require_option(k_ > 0 && dim > 0 && means.size() == static_cast<std::size_t>(dim * k_) &&
                                        stddevs.size() == means.size(),
                                    "mixture_denoiser", "means/stddevs/weights", "dim × K, dim × K and K values",
                                    fmt::format("{}, {} and {} values", means.size(), stddevs.size(), weights.size()));
    std::vector<S> m(means.begin(), means.end()), v(stddevs.size()), lw(weights.size());
    double total = 0;
    for (double w : weights) total += w;
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<S>(stddevs[i] * stddevs[i]);
    for (std::size_t k = 0; k < lw.size(); ++k) {
      idemgen::detail::require_option(weights[k] > 0, "mixture_denoiser", "weights", "> 0", std::to_string(weights[k]));
      lw[k] = static_cast<S>(std::log(weights[k] / total));
    }
    means_.resize(dim, k_);
    vars_.resize(dim, k_);
    log_weights_.resize(k_, 1);
    B::copy_from_host(m.data(), means_);
    B::copy_from_host(v.data(), vars_);
    B::copy_from_host(lw.data(), log_weights_);
  }

  /// out = D(x; σ) with σ per column (1 × batch).
  void operator()(typename B::const_view x, typename B::const_view sigma, typename B::view out) const {
    idemgen::detail::require_dim("mixture_denoiser", "x", "rows", dim_, x.rows());
    const index_t d = dim_, K = k_;
    const S* px = x.data();
    const S* ps = sigma.data();
    const S* mu = means_.data();
    const S* var = vars_.data();
    const S* lw = log_weights_.data();
    S* po = out.data();
    B::parallel_for(x.cols(), [=] IDEMGEN_HOST_DEVICE(index_t j) {
      const S s2 = ps[j] * ps[j];
      S best = -INFINITY;  // log-sum-exp over components, two passes
      for (index_t k = 0; k < K; ++k) best = std::max(best, log_density(px + j * d, mu + k * d, var + k * d, s2, d) + lw[k]);
      S norm = 0;
      for (index_t i = 0; i < d; ++i) po[i + j * d] = 0;
      for (index_t k = 0; k < K; ++k) {
        const S w = std::exp(log_density(px + j * d, mu + k * d, var + k * d, s2, d) + lw[k] - best);
        norm += w;
        for (index_t i = 0; i < d; ++i) {
          const S v = var[i + k * d];
          po[i + j * d] += w * (mu[i + k * d] + v / (v + s2) * (px[i + j * d] - mu[i + k * d]));
        }
      }
      for (index_t i = 0; i < d; ++i) po[i + j * d] /= norm;
    });
  }

 private:
  IDEMGEN_HOST_DEVICE static S log_density(const S* x, const S* mu, const S* var, S s2, index_t d) {
    S acc = 0;
    for (index_t i = 0; i < d; ++i) {
      const S v = var[i] + s2, r = x[i] - mu[i];
      acc -= S(0.5) * (r * r / v + std::log(v));
    }
    return acc;
  }

  index_t dim_, k_;
  typename B::matrix means_, vars_, log_weights_;
};

}  // namespace idemgen::evaluation
