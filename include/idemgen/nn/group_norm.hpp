#pragma once
// Group normalisation (Wu & He 2018), as PyTorch's nn.GroupNorm: the C channels of each image
// (CHW, one image a column) fall into G groups of C/G channels; each group of each image is
// normalised by its own mean and biased variance, x̂ = (x − μ) / √(var + ε), then
// y = γ_c x̂ + β_c per channel. γ starts at 1 and β at 0.
//
// Per image, not per batch: unlike batch norm it does not couple the samples of a batch, so f
// and its frozen copy in IGN's losses see the same function of each sample (batch norm there is
// a bug of several IGN re-implementations).

#include <cmath>
#include <string>

#include <fmt/format.h>

#include "idemgen/core/concepts.hpp"
#include "idemgen/core/errors.hpp"
#include "idemgen/core/lane_sum.hpp"
#include "idemgen/nn/parameters.hpp"

namespace idemgen::nn {

template <numeric_backend B>
class group_norm {
 public:
  using scalar = typename B::scalar;
  using view = typename B::view;
  using const_view = typename B::const_view;

  struct cache {
    typename B::matrix xhat, y, rstd, position_sums;  // position_sums: backward's per-image channel sums
    const_view output() const { return y; }
  };

  /// `channels` of `positions` = H·W values each, in `groups` groups (channels % groups == 0).
  group_norm(parameter_layout& layout, const std::string& name, index_t channels, index_t positions, index_t groups,
             double eps = 1e-5)
      : channels_(channels), positions_(positions), groups_(groups), eps_(eps) {
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
    const index_t d = features(), n = x.cols(), groups = groups_, group_size = d / groups_, positions = positions_;
    c.xhat.resize(d, n);
    c.y.resize(d, n);
    c.rstd.resize(groups, n);
    const scalar* px = x.data();
    scalar* xh = c.xhat.data();
    scalar* y = c.y.data();
    scalar* rs = c.rstd.data();
    const scalar* g = params + gamma_;
    const scalar* b = params + beta_;
    const scalar eps = static_cast<scalar>(eps_);
    B::parallel_for(n * groups, [=] IDEMGEN_HOST_DEVICE(index_t e) {  // e = group + groups · image
      const index_t first = (e % groups) * group_size + (e / groups) * d;
      const scalar* group = px + first;
      const scalar mean =
          idemgen::detail::lane_sum<scalar>(0, group_size, [=](index_t i) { return group[i]; }) / scalar(group_size);
      const scalar var = idemgen::detail::lane_sum<scalar>(0, group_size, [=](index_t i) {
        const scalar deviation = group[i] - mean;
        return deviation * deviation;
      });
      const scalar r = scalar(1) / std::sqrt(var / scalar(group_size) + eps);
      rs[e] = r;
      const index_t first_channel = (e % groups) * (group_size / positions);
      for (index_t c = 0; c < group_size / positions; ++c) {
        const scalar gamma = g[first_channel + c], beta = b[first_channel + c];
        for (index_t i = first + c * positions; i < first + (c + 1) * positions; ++i) {
          xh[i] = (px[i] - mean) * r;
          y[i] = gamma * xh[i] + beta;
        }
      }
    });
    return c.y;
  }

  /// dγ_c = Σ dy ⊙ x̂ and dβ_c = Σ dy over the batch and the channel's positions;
  /// dx = r (ĝ − mean(ĝ) − x̂ mean(ĝ ⊙ x̂)) over each group, ĝ = γ_c dy.
  /// One pass over dy and x̂ gives each channel's Σ_p dy and Σ_p dy x̂ of each image: dx needs
  /// them per group, dγ and dβ sum them over the images (in image order, after the pass).
  void backward(const scalar* params, cache& c, const_view dy, scalar* grads, view dx) const {
    const index_t d = features(), n = c.xhat.cols(), groups = groups_, group_size = d / groups_, positions = positions_;
    const index_t channels_total = channels_;
    const scalar* pdy = dy.data();
    const scalar* xh = c.xhat.data();
    const scalar* g = params + gamma_;
    const scalar* rs = c.rstd.data();
    c.position_sums.resize(channels_total, 2 * n);  // [Σ_p dy | Σ_p dy x̂], a column an image
    scalar* sum_dy = c.position_sums.data();
    scalar* sum_dy_xh = sum_dy + channels_total * n;
    scalar* pdx = dx.empty() ? nullptr : dx.data();
    B::parallel_for(n * groups, [=] IDEMGEN_HOST_DEVICE(index_t e) {
      const index_t image = e / groups, first = (e % groups) * group_size + image * d;
      const index_t first_channel = (e % groups) * (group_size / positions), channels = group_size / positions;
      scalar mean_g = 0, mean_gx = 0;  // Σ γ_c Σ_p dy and Σ γ_c Σ_p dy x̂, a channel at a time
      for (index_t c = 0; c < channels; ++c) {
        const scalar gamma = g[first_channel + c];
        const scalar* channel_dy = pdy + first + c * positions;
        const scalar* channel_xh = xh + first + c * positions;
        const scalar s_dy = idemgen::detail::lane_sum<scalar>(0, positions, [=](index_t i) { return channel_dy[i]; });
        const scalar s_dy_xh = idemgen::detail::lane_sum<scalar>(
            0, positions, [=](index_t i) { return channel_dy[i] * channel_xh[i]; });
        sum_dy[first_channel + c + image * channels_total] = s_dy;
        sum_dy_xh[first_channel + c + image * channels_total] = s_dy_xh;
        mean_g += gamma * s_dy;
        mean_gx += gamma * s_dy_xh;
      }
      if (pdx == nullptr) return;
      mean_g /= scalar(group_size);
      mean_gx /= scalar(group_size);
      for (index_t c = 0; c < channels; ++c) {
        const scalar gamma = g[first_channel + c];
        for (index_t i = first + c * positions; i < first + (c + 1) * positions; ++i)
          pdx[i] = rs[e] * (gamma * pdy[i] - mean_g - xh[i] * mean_gx);
      }
    });
    if (grads == nullptr) return;
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
  index_t channels_, positions_, groups_;
  double eps_;
  index_t gamma_ = 0, beta_ = 0;
};

}  // namespace idemgen::nn
