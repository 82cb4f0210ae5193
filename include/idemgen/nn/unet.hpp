#pragma once
// unet: a small U-Net with a noise embedding, the F_θ of the noised models on images (the
// denoiser of EDM/CDM/LMM, the velocity of flow matching), in the shape of DDPM's and EDM's
// image networks (Ho et al. 2020, App. B; Karras et al. 2022, App. F.2) without attention. For
// widths {c₀, c₁, …, c_L} and the conditioning row s (EDM's c_noise(σ), or flow matching's t):
//
//   e      = act(W₂ act(W₁ embed(s)))                   embed: nn/noise_embedding.hpp
//   stem   conv 3×3 (C → c₀)
//   down ℓ res_block(c_ℓ → c_ℓ; e) → skip_ℓ,  conv 4×4 stride 2 (c_ℓ → c_{ℓ+1})   ℓ = 0..L−1
//   middle res_block(c_L → c_L; e)
//   up ℓ   up-sample ×2, conv 3×3 (c_{ℓ+1} → c_ℓ), [· ; skip_ℓ], res_block(2c_ℓ → c_ℓ; e)   ℓ = L−1..0
//   head   group norm, act, conv 3×3 (c₀ → C)
//
// H and W must be divisible by 2^L. Images are columns in CHW order (data/image_set.hpp); the
// conditioning row is 1 × batch. With cond.dim = 0 the U-Net is unconditioned: no embedding, no
// conditioning row, blocks without P e — SIGN §5's MNIST student ("a convolutional U-Net ...
// without time embeddings" for the distilled model). Group norm, not batch norm (see nn/group_norm.hpp).

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "idemgen/nn/network_base.hpp"
#include "idemgen/nn/noise_embedding.hpp"
#include "idemgen/nn/res_block.hpp"
#include "idemgen/nn/upsample.hpp"

namespace idemgen::nn {

struct unet_options {
  index_t channels_in = 1, height = 28, width = 28;
  std::vector<index_t> channels = {32, 64, 64};  // c₀, c₁, …: L = size − 1 halvings
  index_t groups = 8;                            // group norm groups (at most a layer's channels)
  index_t embedding_width = 128;                 // rows of e
  activation_spec act = {activation::silu};
  // EDM's noise embedding: Fourier features of c_noise = ln(σ)/4 with scale 16 (App. F.2);
  // dim 0: unconditioned.
  conditioning cond = {.dim = 64, .kind = embedding_kind::fourier, .fourier_scale = 16, .seed = 7};
  bool check_finite = true;
};

template <numeric_backend B>
class unet : public network_base<unet<B>, B> {
  using base = network_base<unet<B>, B>;
  friend base;
  using base::layout_;
  using base::params_;

 public:
  using typename base::const_view;
  using typename base::scalar;
  using typename base::view;
  static constexpr const char* name = "unet";
  static constexpr index_t min_shard_columns = 4;  // as conv_net: an image is tens of MFLOP

  struct level_cache {
    typename res_block<B>::cache down, up;
    typename conv2d<B>::cache down_conv, up_conv;
    typename upsample_nearest<B>::cache upsample;
    typename B::matrix joined;                          // [up-conv output; skip], 2c_ℓ·P × batch
    typename B::matrix d_joined, d_up, d_upsampled, d_low, d_skip, d_in;  // backward workspace
  };
  struct cache {
    typename B::matrix embedding;
    typename dense<B>::cache embed1, embed2;
    typename conv2d<B>::cache stem, head;
    std::vector<level_cache> levels;
    typename res_block<B>::cache middle;
    typename group_norm<B>::cache head_norm;  // with the head's activation
    typename B::matrix d_e, d_e1, d_head, d_top, d_middle, dx;
    index_t batch = 0;
    batch_shards<cache, B> shards;  // filled when network_base splits the batch
  };

  unet(const unet_options& opt, random_stream& init)
      : opt_(checked(opt)),
        embed_(conditioned() ? std::optional<noise_embedding<B>>(opt.cond) : std::nullopt),
        embed1_(make_embedding_layer("embedding.fc1", opt.cond.dim)),
        embed2_(make_embedding_layer("embedding.fc2", opt.embedding_width)),
        stem_(layout_, "stem", conv_shape(opt.channels_in, opt.channels[0], 0, 3, 1)),
        middle_(layout_, "middle", block_shape(opt.channels.back(), opt.channels.back(), levels()), opt.act),
        head_norm_(layout_, "head.norm", opt.channels[0], opt.height * opt.width,
                   std::min(opt.groups, opt.channels[0]), opt.act),
        head_(layout_, "head.conv", conv_shape(opt.channels[0], opt.channels_in, 0, 3, 1)) {
    for (index_t l = 0; l < levels(); ++l) {
      const index_t c = width(l), next = width(l + 1);
      down_.emplace_back(layout_, fmt::format("down.{}.block", l), block_shape(c, c, l), opt.act);
      down_conv_.emplace_back(layout_, fmt::format("down.{}.conv", l), conv_shape(c, next, l, 4, 2));
      upsample_.emplace_back(next, opt.height >> (l + 1), opt.width >> (l + 1), 2);
      up_conv_.emplace_back(layout_, fmt::format("up.{}.conv", l), conv_shape(next, c, l, 3, 1));
      up_.emplace_back(layout_, fmt::format("up.{}.block", l), block_shape(2 * c, c, l), opt.act);
    }
    this->allocate_parameters();
    if (conditioned()) {
      embed1_->initialize(params_, init);
      embed2_->initialize(params_, init);
    }
    stem_.initialize(params_, init);
    for (index_t l = 0; l < levels(); ++l) {
      down_[l].initialize(params_, init);
      down_conv_[l].initialize(params_, init);
      up_conv_[l].initialize(params_, init);
      up_[l].initialize(params_, init);
    }
    middle_.initialize(params_, init);
    head_norm_.initialize(params_, init);
    head_.initialize(params_, init);
  }
  unet(const unet_options& opt, random_stream&& init) : unet(opt, init) {}
  unet(const unet_options& opt, std::uint64_t seed) : unet(opt, random_stream(seed)) {}

  index_t input_dim() const { return opt_.channels_in * opt_.height * opt_.width; }
  index_t output_dim() const { return input_dim(); }
  index_t cond_rows() const { return conditioned() ? 1 : 0; }
  /// Whether the U-Net takes a conditioning row (cond.dim > 0).
  bool conditioned() const { return opt_.cond.dim > 0; }
  const unet_options& options() const { return opt_; }

  /// Multiply-adds of one forward pass over one image: the convolutions' (the embedding MLP,
  /// norms and activations are a few per cent).
  double multiply_adds_per_image() const {
    double total = stem_.shape().multiply_adds() + head_.shape().multiply_adds() + middle_.multiply_adds_per_image();
    for (index_t l = 0; l < levels(); ++l)
      total += down_[l].multiply_adds_per_image() + up_[l].multiply_adds_per_image() + down_conv_[l].shape().multiply_adds() +
               up_conv_[l].shape().multiply_adds();
    return total;
  }

  /// The architecture as JSON (type, image shape, widths, groups, embedding, activation).
  std::string describe() const {
    return fmt::format(
        R"({{"type": "unet", "channels_in": {}, "height": {}, "width": {}, "channels": [{}], "groups": {}, )"
        R"("embedding_width": {}, "cond_dim": {}, "embedding": "{}", "fourier_scale": {}, "activation": "{}"}})",
        opt_.channels_in, opt_.height, opt_.width, fmt::join(opt_.channels, ", "), opt_.groups, opt_.embedding_width,
        opt_.cond.dim, to_string(opt_.cond.kind), opt_.cond.fourier_scale, to_string(opt_.act.kind));
  }

  using base::forward;

  /// out = [a; b] column by column (public only because nvcc forbids device lambdas in private
  /// members); split is its adjoint.
  static void join(const_view a, const_view b, view out) {
    const index_t ra = a.rows(), rb = b.rows(), rows = ra + rb;
    const scalar* pa = a.data();
    const scalar* pb = b.data();
    scalar* po = out.data();
    B::parallel_for_2d(rows, a.cols(), [=] IDEMGEN_HOST_DEVICE(index_t i, index_t j) {
      po[i + j * rows] = i < ra ? pa[i + j * ra] : pb[i - ra + j * rb];
    });
  }
  static void split(const_view joined, view a, view b) {
    const index_t ra = a.rows(), rb = b.rows(), rows = ra + rb;
    const scalar* pj = joined.data();
    scalar* pa = a.data();
    scalar* pb = b.data();
    B::parallel_for_2d(rows, a.cols(), [=] IDEMGEN_HOST_DEVICE(index_t i, index_t j) {
      if (i < ra) pa[i + j * ra] = pj[i + j * rows];
      else pb[i - ra + j * rb] = pj[i + j * rows];
    });
  }

 private:
  index_t levels() const { return static_cast<index_t>(opt_.channels.size()) - 1; }
  index_t width(index_t l) const { return opt_.channels[static_cast<std::size_t>(l)]; }
  conv2d_shape conv_shape(index_t in, index_t out, index_t level, index_t kernel, index_t stride) const {
    return {.in_channels = in, .height = opt_.height >> level, .width = opt_.width >> level, .out_channels = out,
            .kernel = kernel, .stride = stride, .padding = 1};
  }
  res_block_shape block_shape(index_t in, index_t out, index_t level) const {
    return {.in_channels = in, .out_channels = out, .height = opt_.height >> level, .width = opt_.width >> level,
            .groups = opt_.groups, .embedding_dim = conditioned() ? opt_.embedding_width : 0};
  }
  std::optional<dense<B>> make_embedding_layer(const char* name, index_t in) {
    if (!conditioned()) return std::nullopt;
    return std::optional<dense<B>>(std::in_place, layout_, name, in, opt_.embedding_width, opt_.act);
  }
  static const unet_options& checked(const unet_options& opt) {
    const index_t levels = static_cast<index_t>(opt.channels.size()) - 1;
    idemgen::detail::require_option(
        opt.channels_in > 0 && levels >= 0 && levels <= 4 && opt.height > 0 && opt.width > 0 && opt.cond.dim >= 0 &&
            opt.height % (index_t{1} << std::max<index_t>(levels, 0)) == 0 &&
            opt.width % (index_t{1} << std::max<index_t>(levels, 0)) == 0 && opt.embedding_width > 0,
        "unet", "shape", "channels_in > 0, 1 to 5 widths, height and width divisible by 2^levels, embedding_width > 0",
        [&] { return fmt::format("{}x{}x{} with {} widths", opt.channels_in, opt.height, opt.width, opt.channels.size()); });
    for (index_t c : opt.channels)
      idemgen::detail::require_option(c > 0 && opt.groups > 0 && c % std::min(opt.groups, c) == 0, "unet", "channels",
                                      "widths > 0, each divisible by its group count",
                                      [&] { return fmt::format("{} with {} groups", c, opt.groups); });
    return opt;
  }

  const_view forward_impl(const_view x, const_view cond, cache& c) const {
    const index_t n = x.cols();
    const scalar* p = params_.data();
    c.batch = n;
    c.levels.resize(static_cast<std::size_t>(levels()));
    const_view e;  // empty when unconditioned: the blocks add no P e
    if (conditioned()) {
      c.embedding.resize(embed_->dim(), n);
      embed_->forward(cond, c.embedding);
      e = embed2_->forward(p, embed1_->forward(p, c.embedding, const_view{}, c.embed1), const_view{}, c.embed2);
    }
    const_view h = stem_.forward(p, x, c.stem);
    for (index_t l = 0; l < levels(); ++l) {
      auto& lc = c.levels[static_cast<std::size_t>(l)];
      h = down_conv_[l].forward(p, down_[l].forward(p, h, e, lc.down), lc.down_conv);
    }
    h = middle_.forward(p, h, e, c.middle);
    for (index_t l = levels(); l-- > 0;) {
      auto& lc = c.levels[static_cast<std::size_t>(l)];
      const const_view up = up_conv_[l].forward(p, upsample_[l].forward(h, lc.upsample), lc.up_conv);
      lc.joined.resize(2 * up.rows(), n);
      join(up, lc.down.y, lc.joined);
      h = up_[l].forward(p, lc.joined, e, lc.up);
    }
    return head_.forward(p, head_norm_.forward(p, h, c.head_norm), c.head);
  }

  const_view backward_impl(cache& c, const_view dy, scalar* grads) const {
    const index_t n = c.batch, top = width(0) * opt_.height * opt_.width;
    const scalar* p = params_.data();
    c.d_e.resize(conditioned() ? opt_.embedding_width : 0, n);
    B::fill(c.d_e, scalar(0));
    c.d_head.resize(top, n);
    head_.backward(p, c.head, dy, grads, c.d_head);
    c.d_top.resize(top, n);
    head_norm_.backward(p, c.head_norm, c.d_head, grads, c.d_top);
    const_view g = c.d_top;
    for (index_t l = 0; l < levels(); ++l) {
      auto& lc = c.levels[static_cast<std::size_t>(l)];
      const index_t rows = up_[l].in_dim() / 2;
      for (auto* m : {&lc.d_up, &lc.d_skip}) m->resize(rows, n);
      lc.d_joined.resize(2 * rows, n);
      up_[l].backward(p, lc.up, g, grads, lc.d_joined, c.d_e);
      split(lc.d_joined, lc.d_up, lc.d_skip);
      lc.d_upsampled.resize(up_conv_[l].in_dim(), n);
      up_conv_[l].backward(p, lc.up_conv, lc.d_up, grads, lc.d_upsampled);
      lc.d_low.resize(upsample_[l].in_dim(), n);
      upsample_[l].backward(lc.d_upsampled, lc.d_low);
      g = lc.d_low;
    }
    c.d_middle.resize(middle_.in_dim(), n);
    middle_.backward(p, c.middle, g, grads, c.d_middle, c.d_e);
    g = c.d_middle;
    for (index_t l = levels(); l-- > 0;) {
      auto& lc = c.levels[static_cast<std::size_t>(l)];
      // skip_ℓ feeds both the down conv and the up block: its gradient is the sum of the two.
      down_conv_[l].backward(p, lc.down_conv, g, grads, lc.d_up);  // d_up is free again and of skip_ℓ's size
      B::axpy(scalar(1), lc.d_skip, lc.d_up);
      lc.d_in.resize(down_[l].in_dim(), n);
      down_[l].backward(p, lc.down, lc.d_up, grads, lc.d_in, c.d_e);
      g = lc.d_in;
    }
    c.dx.resize(input_dim(), n);
    stem_.backward(p, c.stem, g, grads, c.dx);
    if (grads != nullptr && conditioned()) {
      c.d_e1.resize(opt_.embedding_width, n);
      embed2_->backward(p, c.embed2, c.d_e, grads, c.d_e1);
      embed1_->backward(p, c.embed1, c.d_e1, grads, view{});  // the embedding of s has no parameters
    }
    return c.dx;
  }

  unet_options opt_;
  std::optional<noise_embedding<B>> embed_;  // none of the three when unconditioned
  std::optional<dense<B>> embed1_, embed2_;
  conv2d<B> stem_;
  std::vector<res_block<B>> down_, up_;
  std::vector<conv2d<B>> down_conv_, up_conv_;
  std::vector<upsample_nearest<B>> upsample_;
  res_block<B> middle_;
  group_norm<B> head_norm_;  // then act, fused
  conv2d<B> head_;
};

}  // namespace idemgen::nn
