#pragma once
// mlp: input → [dense + activation] × hidden.size() → dense (identity) → output.
// With conditioning (options.cond.dim > 0) the embedding of the conditioning row enters the first
// layer as a side input, i.e. the first layer sees [x; embed(c)].
// NAIGN §4 uses 2 → 512 → 512 → 512 → 2 for 2-D data (activation unstated; ReLU here by default).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "idemgen/nn/dense.hpp"
#include "idemgen/nn/network.hpp"
#include "idemgen/nn/noise_embedding.hpp"

namespace idemgen::nn {

struct mlp_options {
  index_t input_dim = 2;
  index_t output_dim = 2;
  std::vector<index_t> hidden = {512, 512, 512};
  activation_spec act = {activation::relu};
  conditioning cond = {};     // cond.dim == 0: unconditioned
  bool check_finite = true;   // forward throws numeric_error on NaN/Inf input
};

template <numeric_backend B>
class mlp {
 public:
  using backend_type = B;
  using scalar = typename B::scalar;
  using view = typename B::view;
  using const_view = typename B::const_view;

  struct cache {
    std::vector<typename dense<B>::cache> layers;
    typename B::matrix embedding, grad_a, grad_b, dx;
    index_t batch = 0;
  };

  mlp(const mlp_options& opt, random_stream& init) : opt_(opt) {
    idemgen::detail::require_option(opt.input_dim > 0 && opt.output_dim > 0, "mlp", "input_dim/output_dim",
                           "> 0", fmt::format("{}/{}", opt.input_dim, opt.output_dim));
    for (index_t h : opt.hidden)
      idemgen::detail::require_option(h > 0, "mlp", "hidden", "widths > 0", fmt::format("{}", h));
    if (opt.cond.dim > 0) embed_.emplace(opt.cond);
    index_t in = opt.input_dim;
    for (std::size_t k = 0; k <= opt.hidden.size(); ++k) {
      const bool last = k == opt.hidden.size();
      const index_t out = last ? opt.output_dim : opt.hidden[k];
      layers_.emplace_back(layout_, "layers." + std::to_string(k), in, out,
                           last ? activation_spec{activation::identity} : opt.act,
                           k == 0 ? opt.cond.dim : 0);
      in = out;
    }
    params_.resize(layout_.size(), 1);
    grads_.resize(layout_.size(), 1);
    for (const auto& layer : layers_) layer.initialize(params_, init);
    zero_grad();
  }
  mlp(const mlp_options& opt, random_stream&& init) : mlp(opt, init) {}
  mlp(const mlp_options& opt, std::uint64_t seed) : mlp(opt, random_stream(seed)) {}

  index_t input_dim() const { return opt_.input_dim; }
  index_t output_dim() const { return opt_.output_dim; }
  index_t cond_rows() const { return opt_.cond.dim > 0 ? 1 : 0; }
  index_t parameter_count() const { return layout_.size(); }
  const mlp_options& options() const { return opt_; }
  const std::vector<parameter_block>& parameter_blocks() const { return layout_.blocks(); }

  view parameters() { return params_; }
  const_view parameters() const { return params_; }
  view gradients() { return grads_; }
  void zero_grad() { B::fill(grads_, scalar(0)); }

  const_view forward(const_view x, cache& c) const { return forward(x, const_view{}, c); }

  const_view forward(const_view x, const_view cond, cache& c) const {
    detail::check_network_input<B>("mlp::forward", opt_.input_dim, cond_rows(), x, cond,
                                   opt_.check_finite);
    c.batch = x.cols();
    c.layers.resize(layers_.size());
    const_view side;
    if (embed_) {
      c.embedding.resize(embed_->dim(), x.cols());
      embed_->forward(cond, c.embedding);
      side = c.embedding;
    }
    const_view h = x;
    for (std::size_t k = 0; k < layers_.size(); ++k)
      h = layers_[k].forward(params_.data(), h, k == 0 ? side : const_view{}, c.layers[k]);
    return h;
  }

  /// Accumulates dL/dθ into `grads` (a parameter_count × 1 buffer, usually gradients()) and
  /// returns dL/dx (input_dim × batch, held by the cache).
  const_view backward(cache& c, const_view dy, view grads) const {
    detail::check_network_gradient<B>("mlp::backward", opt_.output_dim, c.batch, dy, grads,
                                      parameter_count());
    return backward_impl(c, dy, grads.data());
  }
  /// Stop-gradient routing: returns dL/dx and leaves every parameter gradient untouched.
  const_view backward(cache& c, const_view dy, std::nullptr_t) const {
    detail::check_network_gradient<B>("mlp::backward", opt_.output_dim, c.batch, dy, view{}, 0);
    return backward_impl(c, dy, nullptr);
  }

 private:
  const_view backward_impl(cache& c, const_view dy, scalar* grads) const {
    const index_t n = c.batch;
    index_t widest = 0;
    for (const auto& layer : layers_) widest = std::max(widest, layer.in_dim());
    c.grad_a.resize(widest * n, 1);
    c.grad_b.resize(widest * n, 1);
    c.dx.resize(opt_.input_dim, n);
    const_view g = dy;
    for (std::size_t k = layers_.size(); k-- > 0;) {
      const index_t in = layers_[k].in_dim();
      view out = k == 0 ? view(c.dx) : view((k % 2 ? c.grad_a : c.grad_b).data(), in, n);
      layers_[k].backward(params_.data(), c.layers[k], g, grads, out);
      g = out;
    }
    return c.dx;
  }

  mlp_options opt_;
  parameter_layout layout_;
  std::vector<dense<B>> layers_;
  std::optional<noise_embedding<B>> embed_;
  typename B::matrix params_, grads_;
};

}  // namespace idemgen::nn
