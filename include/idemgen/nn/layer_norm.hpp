#pragma once
// Layer normalisation over the features of each sample (Ba et al. 2016): per column,
// x̂ = (x − μ) / √(var + ε) with the biased variance, y = γ ⊙ x̂ + β. γ starts at 1 and β at 0.

#include <cmath>
#include <string>

#include "idemgen/core/concepts.hpp"
#include "idemgen/nn/parameters.hpp"

namespace idemgen::nn {

template <numeric_backend B>
class layer_norm {
 public:
  using scalar = typename B::scalar;
  using view = typename B::view;
  using const_view = typename B::const_view;

  struct cache {
    typename B::matrix xhat, y, rstd, work;
    const_view output() const { return y; }
  };

  layer_norm(parameter_layout& layout, const std::string& name, index_t features, double eps = 1e-5)
      : features_(features), eps_(eps) {
    gamma_ = layout.add(name + ".gamma", features, 1);
    beta_ = layout.add(name + ".beta", features, 1);
  }

  index_t features() const { return features_; }

  void initialize(view params, random_stream&) const {
    B::fill(view(params.data() + gamma_, features_, 1), scalar(1));
    B::fill(view(params.data() + beta_, features_, 1), scalar(0));
  }

  const_view forward(const scalar* params, const_view x, cache& c) const {
    const index_t d = features_, n = x.cols();
    c.xhat.resize(d, n);
    c.y.resize(d, n);
    c.rstd.resize(1, n);
    const scalar* px = x.data();
    scalar* xh = c.xhat.data();
    scalar* y = c.y.data();
    scalar* rs = c.rstd.data();
    const scalar* g = params + gamma_;
    const scalar* b = params + beta_;
    const scalar eps = static_cast<scalar>(eps_);
    B::parallel_for(n, [=] IDEMGEN_HOST_DEVICE(index_t j) {
      const scalar* col = px + j * d;
      scalar mean = 0;
      for (index_t i = 0; i < d; ++i) mean += col[i];
      mean /= scalar(d);
      scalar var = 0;
      for (index_t i = 0; i < d; ++i) var += (col[i] - mean) * (col[i] - mean);
      const scalar r = scalar(1) / std::sqrt(var / scalar(d) + eps);
      rs[j] = r;
      for (index_t i = 0; i < d; ++i) {
        xh[i + j * d] = (col[i] - mean) * r;
        y[i + j * d] = g[i] * xh[i + j * d] + b[i];
      }
    });
    return c.y;
  }

  /// dγ = Σ_j dy ⊙ x̂, dβ = Σ_j dy; dx = r (ĝ − mean(ĝ) − x̂ mean(ĝ ⊙ x̂)) with ĝ = γ ⊙ dy.
  void backward(const scalar* params, cache& c, const_view dy, scalar* grads, view dx) const {
    const index_t d = features_, n = c.xhat.cols();
    const scalar* pdy = dy.data();
    const scalar* xh = c.xhat.data();
    if (grads != nullptr) {
      c.work.resize(d, n);
      scalar* w = c.work.data();
      B::parallel_for(c.work.size(), [=] IDEMGEN_HOST_DEVICE(index_t e) { w[e] = pdy[e] * xh[e]; });
      B::row_sums(c.work, view(grads + gamma_, d, 1), scalar(1), scalar(1));
      B::row_sums(dy, view(grads + beta_, d, 1), scalar(1), scalar(1));
    }
    if (dx.empty()) return;
    const scalar* g = params + gamma_;
    const scalar* rs = c.rstd.data();
    scalar* pdx = dx.data();
    B::parallel_for(n, [=] IDEMGEN_HOST_DEVICE(index_t j) {
      scalar mean_g = 0, mean_gx = 0;
      for (index_t i = 0; i < d; ++i) {
        const scalar gi = g[i] * pdy[i + j * d];
        mean_g += gi;
        mean_gx += gi * xh[i + j * d];
      }
      mean_g /= scalar(d);
      mean_gx /= scalar(d);
      for (index_t i = 0; i < d; ++i)
        pdx[i + j * d] = rs[j] * (g[i] * pdy[i + j * d] - mean_g - xh[i + j * d] * mean_gx);
    });
  }

 private:
  index_t features_;
  double eps_;
  index_t gamma_ = 0, beta_ = 0;
};

}  // namespace idemgen::nn
