#pragma once
// conv_net: a fully convolutional encoder-decoder for images, the one-step generator f of the
// image experiments (in the spirit of IGN's DCGAN-style MNIST model, §4, with group norm in
// place of batch norm and nearest up-sampling + convolution in place of transposed
// convolutions). For channels {c₀, c₁, …, c_L}:
//
//   stem   conv 3×3 (C → c₀), act
//   down ℓ conv 4×4 stride 2 (c_{ℓ−1} → c_ℓ), group norm, act        ℓ = 1..L  (halves H, W)
//   up ℓ   up-sample ×2, conv 3×3 (c_ℓ → c_{ℓ−1}), group norm, act   ℓ = L..1  (doubles them)
//   head   conv 3×3 (c₀ → C)
//
// H and W must be divisible by 2^L. Images are columns in CHW order (data/image_set.hpp).
// Unconditioned (no noise embedding): the noised models' U-Net is a network of its own.

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <fmt/format.h>

#include "idemgen/nn/activation_layer.hpp"
#include "idemgen/nn/conv2d.hpp"
#include "idemgen/nn/group_norm.hpp"
#include "idemgen/nn/network_base.hpp"
#include "idemgen/nn/upsample.hpp"

namespace idemgen::nn {

struct conv_net_options {
  index_t channels_in = 1, height = 28, width = 28;
  std::vector<index_t> channels = {32, 64, 64};  // c₀, c₁, …: L = size − 1 halvings
  index_t groups = 8;                            // group norm groups (at most a layer's channels)
  activation_spec act = {activation::leaky_relu, 0.2};
  bool check_finite = true;
};

/// "32,64,64" → {32, 64, 64}: conv_net widths as a command line gives them. Throws
/// invalid_argument for anything but 1 to 4 comma-separated integers in 1 .. 1024.
inline std::vector<index_t> parse_conv_widths(std::string_view text) {
  std::vector<index_t> widths;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    const std::string item(text.substr(start, comma - start));
    char* end = nullptr;
    const long w = std::strtol(item.c_str(), &end, 10);
    idemgen::detail::require_option(!item.empty() && *end == '\0' && w > 0 && w <= 1024, "nn::parse_conv_widths", "widths",
                                    "comma-separated integers in 1 .. 1024", std::string(text));
    widths.push_back(w);
    start = comma + 1;
  }
  idemgen::detail::require_option(widths.size() <= 4, "nn::parse_conv_widths", "widths", "1 to 4 widths", std::string(text));
  return widths;
}

template <numeric_backend B>
class conv_net : public network_base<conv_net<B>, B> {
  using base = network_base<conv_net<B>, B>;
  friend base;
  using base::layout_;
  using base::params_;

 public:
  using typename base::const_view;
  using typename base::scalar;
  using typename base::view;
  static constexpr const char* name = "conv_net";
  /// An image through the convolutions is tens of MFLOP: shards of a few images already keep a
  /// thread busy (network_base splits a batch of ≥ 4 T images over T threads).
  static constexpr index_t min_shard_columns = 4;

  using layer = std::variant<conv2d<B>, group_norm<B>, activation_layer<B>, upsample_nearest<B>>;
  using layer_cache = std::variant<typename conv2d<B>::cache, typename group_norm<B>::cache,
                                   typename activation_layer<B>::cache, typename upsample_nearest<B>::cache>;
  struct cache {
    std::vector<layer_cache> layers;
    typename B::matrix grad_a, grad_b, dx;
    index_t batch = 0;
    batch_shards<cache, B> shards;  // filled when network_base splits the batch
  };

  conv_net(const conv_net_options& opt, random_stream& init) : opt_(opt) {
    const index_t levels = static_cast<index_t>(opt.channels.size()) - 1;
    idemgen::detail::require_option(
        opt.channels_in > 0 && levels >= 0 && opt.height % (index_t{1} << std::max<index_t>(levels, 0)) == 0 &&
            opt.width % (index_t{1} << std::max<index_t>(levels, 0)) == 0 && opt.height > 0 && opt.width > 0,
        "conv_net", "shape", "channels_in > 0, at least one width, height and width divisible by 2^levels",
        [&] { return fmt::format("{}x{}x{} with {} widths", opt.channels_in, opt.height, opt.width, opt.channels.size()); });
    for (index_t c : opt.channels)
      idemgen::detail::require_option(c > 0 && c % std::min(opt.groups, c) == 0 && opt.groups > 0, "conv_net",
                                      "channels", "widths > 0, each divisible by its group count",
                                      [&] { return fmt::format("{} with {} groups", c, opt.groups); });
    index_t channels = opt.channels_in, h = opt.height, w = opt.width;
    const auto add_conv = [&](const std::string& label, index_t out, index_t kernel, index_t stride) {
      const conv2d_shape shape{.in_channels = channels, .height = h, .width = w, .out_channels = out,
                               .kernel = kernel, .stride = stride, .padding = 1};
      layers_.emplace_back(std::in_place_type<conv2d<B>>, layout_, label, shape);
      channels = out;
      h = shape.out_height();
      w = shape.out_width();
    };
    const auto add_norm_act = [&](const std::string& label) {
      // group norm then act, one layer (nn/group_norm.hpp fuses them)
      layers_.emplace_back(std::in_place_type<group_norm<B>>, layout_, label, channels, h * w, std::min(opt.groups, channels),
                           opt.act);
    };
    add_conv("stem", opt.channels[0], 3, 1);
    layers_.emplace_back(std::in_place_type<activation_layer<B>>, opt.act);
    for (index_t l = 1; l <= levels; ++l) {
      add_conv(fmt::format("down.{}.conv", l), opt.channels[static_cast<std::size_t>(l)], 4, 2);
      add_norm_act(fmt::format("down.{}.norm", l));
    }
    for (index_t l = levels; l >= 1; --l) {
      layers_.emplace_back(std::in_place_type<upsample_nearest<B>>, channels, h, w, 2);
      h *= 2;
      w *= 2;
      add_conv(fmt::format("up.{}.conv", l), opt.channels[static_cast<std::size_t>(l - 1)], 3, 1);
      add_norm_act(fmt::format("up.{}.norm", l));
    }
    add_conv("head", opt.channels_in, 3, 1);
    index_t rows = input_dim();
    for (const auto& l : layers_) {
      in_dims_.push_back(rows);
      rows = layer_out_dim(l, rows);
    }
    this->allocate_parameters();
    for (const auto& l : layers_)
      std::visit([&](const auto& layer_) {
        using L = std::decay_t<decltype(layer_)>;
        if constexpr (std::is_same_v<L, conv2d<B>> || std::is_same_v<L, group_norm<B>>) layer_.initialize(this->params_, init);
      }, l);
  }
  conv_net(const conv_net_options& opt, random_stream&& init) : conv_net(opt, init) {}
  conv_net(const conv_net_options& opt, std::uint64_t seed) : conv_net(opt, random_stream(seed)) {}

  index_t input_dim() const { return opt_.channels_in * opt_.height * opt_.width; }
  index_t output_dim() const { return input_dim(); }
  index_t cond_rows() const { return 0; }
  const conv_net_options& options() const { return opt_; }

  /// Multiply-adds of one forward pass over one image (the convolutions; norms and activations
  /// are elementwise): Σ over the conv layers of H'·W' · O · C·k·k.
  double multiply_adds_per_image() const {
    double total = 0;
    for (const auto& l : layers_)
      if (const auto* conv = std::get_if<conv2d<B>>(&l))
        total += conv->shape().multiply_adds();
    return total;
  }

  /// The architecture as JSON (type, image shape, widths, groups, activation).
  std::string describe() const {
    std::string widths;
    for (std::size_t k = 0; k < opt_.channels.size(); ++k) widths += fmt::format("{}{}", k ? ", " : "", opt_.channels[k]);
    return fmt::format(
        R"({{"type": "conv_net", "channels_in": {}, "height": {}, "width": {}, "channels": [{}], "groups": {}, "activation": "{}", "negative_slope": {}}})",
        opt_.channels_in, opt_.height, opt_.width, widths, opt_.groups, to_string(opt_.act.kind), opt_.act.negative_slope);
  }

  using base::forward;

 private:
  /// The rows a layer gives for `in` rows (an activation or a norm keeps the shape).
  static index_t layer_out_dim(const layer& l, index_t in) {
    return std::visit([&](const auto& layer_) -> index_t {
      if constexpr (requires { layer_.out_dim(); }) return layer_.out_dim();
      else return in;
    }, l);
  }

  const_view forward_impl(const_view x, const_view, cache& c) const {
    c.batch = x.cols();
    if (c.layers.size() != layers_.size()) {
      c.layers.clear();
      for (const auto& l : layers_)
        std::visit([&](const auto& layer_) { c.layers.emplace_back(std::in_place_type<typename std::decay_t<decltype(layer_)>::cache>); }, l);
    }
    const_view h = x;
    for (std::size_t k = 0; k < layers_.size(); ++k) {
      std::visit([&](const auto& layer_) {
        using L = std::decay_t<decltype(layer_)>;
        auto& lc = std::get<typename L::cache>(c.layers[k]);
        if constexpr (std::is_same_v<L, activation_layer<B>> || std::is_same_v<L, upsample_nearest<B>>) h = layer_.forward(h, lc);
        else h = layer_.forward(this->params_.data(), h, lc);
      }, layers_[k]);
    }
    return h;
  }

  const_view backward_impl(cache& c, const_view dy, scalar* grads) const {
    const index_t n = c.batch;
    const index_t widest = *std::max_element(in_dims_.begin(), in_dims_.end());
    c.grad_a.resize(widest * n, 1);
    c.grad_b.resize(widest * n, 1);
    c.dx.resize(input_dim(), n);
    const_view g = dy;
    for (std::size_t k = layers_.size(); k-- > 0;) {
      view out = k == 0 ? view(c.dx) : view((k % 2 ? c.grad_a : c.grad_b).data(), in_dims_[k], n);
      std::visit([&](const auto& layer_) {
        using L = std::decay_t<decltype(layer_)>;
        auto& lc = std::get<typename L::cache>(c.layers[k]);
        if constexpr (std::is_same_v<L, activation_layer<B>>) layer_.backward(lc, g, out);
        else if constexpr (std::is_same_v<L, upsample_nearest<B>>) layer_.backward(g, out);
        else layer_.backward(this->params_.data(), lc, g, grads, out);
      }, layers_[k]);
      g = out;
    }
    return c.dx;
  }

  conv_net_options opt_;
  std::vector<layer> layers_;
  std::vector<index_t> in_dims_;  // rows of each layer's input
};

}  // namespace idemgen::nn
