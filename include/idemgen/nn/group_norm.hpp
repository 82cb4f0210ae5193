#pragma once
// Group normalisation (Wu & He 2018), as PyTorch's nn.GroupNorm: the C channels of each image
// (CHW, one image a column) fall into G groups of C/G channels; each group of each image is
// normalised by its own mean and biased variance, x̂ = (x − μ) / √(var + ε), then
// y = γ_c x̂ + β_c per channel. γ starts at 1 and β at 0.
//
// With an activation f (default: none), the layer is group norm followed by f, y = f(γ_c x̂ + β_c),
// in one pass each way, as the norm-then-activation pairs of the U-Net and the conv net have it:
// the forward does not write γ x̂ + β to memory and read it back, the backward applies f′ (from
// γ x̂ + β recomputed and the output y) inside the norm's own pass over dy.
//
// Per image, not per batch: unlike batch norm it does not couple the samples of a batch, so f
// and its frozen copy in IGN's losses see the same function of each sample (batch norm there is
// a bug of several IGN re-implementations).

#include <cmath>
#include <string>
#include <type_traits>

#include <fmt/format.h>

#include "idemgen/core/concepts.hpp"
#include "idemgen/core/errors.hpp"
#include "idemgen/core/lane_sum.hpp"
#include "idemgen/nn/activations.hpp"
#include "idemgen/nn/parameters.hpp"

namespace idemgen::nn {

namespace detail {

/// The sizes one group-norm kernel needs: d = C·P values an image, n images, G groups of
/// group_size = d / G values, P positions a channel.
struct group_norm_sizes {
  index_t d, n, groups, group_size, positions;
  IDEMGEN_HOST_DEVICE index_t channels_in_group() const { return group_size / positions; }
};

// Free functions, not member lambdas: nvcc allows no device lambda inside a generic lambda
// (dispatch_activation's callback), as apply_activation in nn/activations.hpp.

/// x̂ = (x − μ) r and y = f(γ x̂ + β) for each group (r = 1/√(var + ε), kept for backward).
template <numeric_backend B, class F>
void group_norm_forward(F f, group_norm_sizes sz, typename B::scalar eps, const typename B::scalar* gamma,
                        const typename B::scalar* beta, const typename B::scalar* px, typename B::scalar* xh,
                        typename B::scalar* y, typename B::scalar* rs) {
  using scalar = typename B::scalar;
  constexpr bool silu_span = std::is_same_v<F, act::silu> && requires(const scalar* z, scalar* out) {
    B::silu_span(z, out, index_t(1), scalar(0));
  };
  B::parallel_for(sz.n * sz.groups, [=] IDEMGEN_HOST_DEVICE(index_t e) {  // e = group + groups · image
    const index_t first = (e % sz.groups) * sz.group_size + (e / sz.groups) * sz.d, positions = sz.positions;
    const scalar* group = px + first;
    const scalar mean = idemgen::detail::lane_sum<scalar>(0, sz.group_size, [=](index_t i) { return group[i]; }) /
                        scalar(sz.group_size);
    const scalar var = idemgen::detail::lane_sum<scalar>(0, sz.group_size, [=](index_t i) {
      const scalar deviation = group[i] - mean;
      return deviation * deviation;
    });
    const scalar r = scalar(1) / std::sqrt(var / scalar(sz.group_size) + eps);
    rs[e] = r;
    const index_t first_channel = (e % sz.groups) * sz.channels_in_group();
    for (index_t c = 0; c < sz.channels_in_group(); ++c) {
      const scalar g = gamma[first_channel + c], b = beta[first_channel + c];
      for (index_t i = first + c * positions; i < first + (c + 1) * positions; ++i) {
        xh[i] = (px[i] - mean) * r;
        if constexpr (silu_span) y[i] = g * xh[i] + b;  // f applied below, the group at once
        else y[i] = f.value(g * xh[i] + b);
      }
    }
    if constexpr (silu_span) B::silu_span(y + first, y + first, sz.group_size, act::subnormal_cutoff<scalar>());
  });
}

/// With ĝ = γ_c g and g = dy ⊙ f′(γ x̂ + β, y) (g = dy without an activation):
/// dx = r (ĝ − mean(ĝ) − x̂ mean(ĝ ⊙ x̂)) over each group, and each channel's Σ_p g and Σ_p g x̂ of
/// each image into sum_dy / sum_dy_xh (dγ and dβ sum them over the images). g goes to `scratch`
/// (dx itself, or a buffer when dx is not wanted) and is read back from the cache within the group.
template <numeric_backend B, class F>
void group_norm_backward(F f, group_norm_sizes sz, index_t channels_total, const typename B::scalar* gamma,
                         const typename B::scalar* beta, const typename B::scalar* pdy, const typename B::scalar* xh,
                         const typename B::scalar* y, const typename B::scalar* rs, typename B::scalar* scratch,
                         typename B::scalar* pdx, typename B::scalar* sum_dy, typename B::scalar* sum_dy_xh) {
  using scalar = typename B::scalar;
  constexpr bool activated = !std::is_same_v<F, act::identity>;
  B::parallel_for(sz.n * sz.groups, [=] IDEMGEN_HOST_DEVICE(index_t e) {
    const index_t image = e / sz.groups, first = (e % sz.groups) * sz.group_size + image * sz.d;
    const index_t first_channel = (e % sz.groups) * sz.channels_in_group(), positions = sz.positions;
    const scalar* g_of = activated ? scratch : pdy;  // g = dL/d(γ x̂ + β)
    scalar mean_g = 0, mean_gx = 0;                  // Σ γ_c Σ_p g and Σ γ_c Σ_p g x̂, a channel at a time
    for (index_t c = 0; c < sz.channels_in_group(); ++c) {
      const scalar gamma_c = gamma[first_channel + c];
      const index_t begin = first + c * positions;
      if constexpr (activated) {
        const scalar beta_c = beta[first_channel + c];
        for (index_t i = begin; i < begin + positions; ++i)
          scratch[i] = pdy[i] * f.derivative(gamma_c * xh[i] + beta_c, y[i]);
      }
      const scalar* channel_g = g_of + begin;
      const scalar* channel_xh = xh + begin;
      const scalar s_g = idemgen::detail::lane_sum<scalar>(0, positions, [=](index_t i) { return channel_g[i]; });
      const scalar s_g_xh =
          idemgen::detail::lane_sum<scalar>(0, positions, [=](index_t i) { return channel_g[i] * channel_xh[i]; });
      sum_dy[first_channel + c + image * channels_total] = s_g;
      sum_dy_xh[first_channel + c + image * channels_total] = s_g_xh;
      mean_g += gamma_c * s_g;
      mean_gx += gamma_c * s_g_xh;
    }
    if (pdx == nullptr) return;
    mean_g /= scalar(sz.group_size);
    mean_gx /= scalar(sz.group_size);
    for (index_t c = 0; c < sz.channels_in_group(); ++c) {
      const scalar gamma_c = gamma[first_channel + c];
      for (index_t i = first + c * positions; i < first + (c + 1) * positions; ++i)
        pdx[i] = rs[e] * (gamma_c * g_of[i] - mean_g - xh[i] * mean_gx);
    }
  });
}

}  // namespace detail

template <numeric_backend B>
class group_norm {
 public:
  using scalar = typename B::scalar;
  using view = typename B::view;
  using const_view = typename B::const_view;

  struct cache {
    typename B::matrix xhat, y, rstd, position_sums;  // position_sums: backward's per-image channel sums
    typename B::matrix activation_grads;              // g, where backward is not asked for dx
    const_view output() const { return y; }
  };

  /// `channels` of `positions` = H·W values each, in `groups` groups (channels % groups == 0),
  /// followed by `act` (identity: none).
  group_norm(parameter_layout& layout, const std::string& name, index_t channels, index_t positions, index_t groups,
             activation_spec act = {activation::identity}, double eps = 1e-5)
      : channels_(channels), positions_(positions), groups_(groups), act_(act), eps_(eps) {
    idemgen::detail::require_option(channels > 0 && positions > 0 && groups > 0 && channels % groups == 0,
                                    "nn::group_norm", "groups", "a divisor of the channel count",
                                    [&] { return fmt::format("{} groups of {} channels", groups, channels); });
    gamma_ = layout.add(name + ".weight", channels, 1);
    beta_ = layout.add(name + ".bias", channels, 1);
  }

  index_t features() const { return channels_ * positions_; }

  void initialize(view params, random_stream&) const {
    B::fill(view(params.data() + gamma_, channels_, 1), scalar(1));
    B::fill(view(params.data() + beta_, channels_, 1), scalar(0));
  }

  const_view forward(const scalar* params, const_view x, cache& c) const {
    idemgen::detail::require_dim("nn::group_norm::forward", "x", "rows", features(), x.rows());
    const index_t n = x.cols();
    c.xhat.resize(features(), n);
    c.y.resize(features(), n);
    c.rstd.resize(groups_, n);
    dispatch_activation(act_, [&](auto f) {
      detail::group_norm_forward<B>(f, sizes(n), static_cast<scalar>(eps_), params + gamma_, params + beta_, x.data(),
                                    c.xhat.data(), c.y.data(), c.rstd.data());
    });
    return c.y;
  }

  /// dγ_c += Σ g ⊙ x̂ and dβ_c += Σ g over the batch and the channel's positions (g = dL/d(γ x̂ + β));
  /// dx = dL/dx unless dx is empty. One pass over dy and x̂ gives each channel's Σ_p g and Σ_p g x̂
  /// of each image: dx needs them per group, dγ and dβ sum them over the images (in image order,
  /// after the pass).
  void backward(const scalar* params, cache& c, const_view dy, scalar* grads, view dx) const {
    const index_t n = c.xhat.cols();  // of the forward this cache saw
    idemgen::detail::require_shape("nn::group_norm::backward", "dy", features(), n, dy.rows(), dy.cols());
    if (!dx.empty()) idemgen::detail::require_shape("nn::group_norm::backward", "dx", features(), n, dx.rows(), dx.cols());
    c.position_sums.resize(channels_, 2 * n);  // [Σ_p g | Σ_p g x̂], a column an image
    scalar* sum_dy = c.position_sums.data();
    scalar* sum_dy_xh = sum_dy + channels_ * n;
    scalar* pdx = dx.empty() ? nullptr : dx.data();
    scalar* scratch = pdx;
    if (pdx == nullptr && act_.kind != activation::identity) {
      c.activation_grads.resize(features(), n);
      scratch = c.activation_grads.data();
    }
    dispatch_activation(act_, [&](auto f) {
      detail::group_norm_backward<B>(f, sizes(n), channels_, params + gamma_, params + beta_, dy.data(),
                                     c.xhat.data(), c.y.data(), c.rstd.data(), scratch, pdx, sum_dy, sum_dy_xh);
    });
    if (grads == nullptr) return;
    const index_t channels_total = channels_;
    scalar* dgamma = grads + gamma_;
    scalar* dbeta = grads + beta_;
    B::parallel_for(channels_total, [=] IDEMGEN_HOST_DEVICE(index_t channel) {
      scalar total_dy_xh = 0, total_dy = 0;
      for (index_t j = 0; j < n; ++j) {
        total_dy_xh += sum_dy_xh[channel + j * channels_total];
        total_dy += sum_dy[channel + j * channels_total];
      }
      dgamma[channel] += total_dy_xh;
      dbeta[channel] += total_dy;
    });
  }

 private:
  detail::group_norm_sizes sizes(index_t n) const {
    return {features(), n, groups_, features() / groups_, positions_};
  }

  index_t channels_, positions_, groups_;
  activation_spec act_;
  double eps_;
  index_t gamma_ = 0, beta_ = 0;
};

}  // namespace idemgen::nn
