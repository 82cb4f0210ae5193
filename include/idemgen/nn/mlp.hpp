#pragma once
// mlp: input → [dense + activation] × hidden.size() → dense (identity) → output.
// With conditioning (options.cond.dim > 0) the embedding of the conditioning row enters the first
// layer as a side input, i.e. the first layer sees [x; embed(c)].
// NAIGN §4 uses 2 → 512 → 512 → 512 → 2 for 2-D data (activation unstated; ReLU here by default).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "idemgen/nn/dense.hpp"
#include "idemgen/nn/network_base.hpp"
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
class mlp : public network_base<mlp<B>, B> {
  using base = network_base<mlp<B>, B>;
  friend base;
  using base::layout_;
  using base::params_;

 public:
  using typename base::const_view;
  using typename base::scalar;
  using typename base::view;
  static constexpr const char* name = "mlp";

  struct cache {
    std::vector<typename dense<B>::cache> layers;
    typename B::matrix embedding, grad_a, grad_b, dx;
    index_t batch = 0;
    batch_shards<cache, B> shards;  // filled when network_base splits the batch
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
    this->allocate_parameters();
    for (const auto& layer : layers_) layer.initialize(params_, init);
  }
  mlp(const mlp_options& opt, random_stream&& init) : mlp(opt, init) {}
  mlp(const mlp_options& opt, std::uint64_t seed) : mlp(opt, random_stream(seed)) {}

  index_t input_dim() const { return opt_.input_dim; }
  index_t output_dim() const { return opt_.output_dim; }
  index_t cond_rows() const { return opt_.cond.dim > 0 ? 1 : 0; }
  const mlp_options& options() const { return opt_; }

  /// The architecture as JSON, enough to rebuild the network elsewhere (python/idemgen_torch.py):
  /// layers.k is y = act(W x + V e + b), e the conditioning row's embedding (layer 0 only).
  std::string describe() const {
    std::string hidden;
    for (std::size_t k = 0; k < opt_.hidden.size(); ++k) hidden += fmt::format("{}{}", k ? ", " : "", opt_.hidden[k]);
    std::string json = fmt::format(
        R"({{"type": "mlp", "input_dim": {}, "output_dim": {}, "hidden": [{}], "activation": "{}", "negative_slope": {})",
        opt_.input_dim, opt_.output_dim, hidden, to_string(opt_.act.kind), opt_.act.negative_slope);
    if (opt_.cond.dim > 0)
      json += fmt::format(R"(, "embedding": {{"kind": "{}", "dim": {}}})", to_string(opt_.cond.kind), opt_.cond.dim);
    return json + "}";
  }
  /// Named non-trainable tensors (PyTorch's buffers): the embedding's frequencies.
  std::vector<std::pair<std::string, const_view>> buffers() const {
    if (!embed_) return {};
    return {{"embedding.frequencies", const_view(embed_->frequencies())}};
  }

  using base::forward;

 private:
  // One shard of the batch, on the calling thread (network_base checks the input and splits).
  const_view forward_impl(const_view x, const_view cond, cache& c) const {
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
  std::vector<dense<B>> layers_;
  std::optional<noise_embedding<B>> embed_;
};

}  // namespace idemgen::nn
