#pragma once
// resmlp: a pre-norm residual MLP, the usual denoiser/generator for toy and flattened data.
//   h₀ = W_in x (+ V_in e) + b_in
//   h_{k+1} = h_k + fc2_k(act(fc1_k(LN_k(h_k)) (+ V_k e)))        k < blocks
//   y = head(act(LN_out(h_K)))
// e is the embedding of the conditioning row (when options.cond.dim > 0); it enters the input
// projection and every block, so the noise level can steer each residual branch. Without
// layer_norm the LN steps are the identity.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "idemgen/nn/activation_layer.hpp"
#include "idemgen/nn/dense.hpp"
#include "idemgen/nn/layer_norm.hpp"
#include "idemgen/nn/network_base.hpp"
#include "idemgen/nn/noise_embedding.hpp"

namespace idemgen::nn {

struct resmlp_options {
  index_t input_dim = 2;
  index_t output_dim = 2;
  index_t width = 256;
  index_t blocks = 3;
  activation_spec act = {activation::silu};
  bool layer_norm = true;
  conditioning cond = {};
  bool check_finite = true;
};

template <numeric_backend B>
class resmlp : public network_base<resmlp<B>, B> {
  using base = network_base<resmlp<B>, B>;
  friend base;
  using base::layout_;
  using base::params_;

 public:
  using typename base::const_view;
  using typename base::scalar;
  using typename base::view;
  static constexpr const char* name = "resmlp";

  struct block_cache {
    typename layer_norm<B>::cache norm;
    typename dense<B>::cache fc1, fc2;
    typename B::matrix h;  // h_{k+1}
  };
  struct cache {
    typename dense<B>::cache in_proj, head;
    std::vector<block_cache> blocks;
    typename layer_norm<B>::cache norm_out;
    typename activation_layer<B>::cache act_out;
    typename B::matrix embedding, dh, t1, t2, dx;
    index_t batch = 0;
    batch_shards<cache, B> shards;  // filled when network_base splits the batch
  };

  resmlp(const resmlp_options& opt, random_stream& init)
      : opt_(opt),
        in_proj_(layout_, "in_proj", checked(opt).input_dim, opt.width,
                 {activation::identity}, opt.cond.dim),
        act_out_(opt.act) {
    if (opt.cond.dim > 0) embed_.emplace(opt.cond);
    for (index_t k = 0; k < opt.blocks; ++k) {
      const std::string name = "blocks." + std::to_string(k);
      if (opt.layer_norm) norms_.emplace_back(layout_, name + ".norm", opt.width);
      fc1_.emplace_back(layout_, name + ".fc1", opt.width, opt.width, opt.act, opt.cond.dim);
      fc2_.emplace_back(layout_, name + ".fc2", opt.width, opt.width);
    }
    if (opt.layer_norm) norm_out_.emplace(layout_, "norm_out", opt.width);
    head_.emplace(layout_, "head", opt.width, opt.output_dim);
    this->allocate_parameters();
    in_proj_.initialize(params_, init);
    for (index_t k = 0; k < opt.blocks; ++k) {
      if (opt.layer_norm) norms_[k].initialize(params_, init);
      fc1_[k].initialize(params_, init);
      fc2_[k].initialize(params_, init);
    }
    if (norm_out_) norm_out_->initialize(params_, init);
    head_->initialize(params_, init);
  }
  resmlp(const resmlp_options& opt, random_stream&& init) : resmlp(opt, init) {}
  resmlp(const resmlp_options& opt, std::uint64_t seed) : resmlp(opt, random_stream(seed)) {}

  index_t input_dim() const { return opt_.input_dim; }
  index_t output_dim() const { return opt_.output_dim; }
  index_t cond_rows() const { return opt_.cond.dim > 0 ? 1 : 0; }
  const resmlp_options& options() const { return opt_; }

  using base::forward;

  /// out = a + b (public only because nvcc forbids device lambdas in private members).
  static void add(const_view a, const_view b, view out) {
    const scalar* pa = a.data();
    const scalar* pb = b.data();
    scalar* po = out.data();
    B::parallel_for(out.size(), [=] IDEMGEN_HOST_DEVICE(index_t i) { po[i] = pa[i] + pb[i]; });
  }

 private:
  // One shard of the batch, on the calling thread (network_base checks the input and splits).
  const_view forward_impl(const_view x, const_view cond, cache& c) const {
    const index_t n = x.cols();
    const scalar* p = params_.data();
    c.batch = n;
    c.blocks.resize(static_cast<std::size_t>(opt_.blocks));
    const_view e;
    if (embed_) {
      c.embedding.resize(embed_->dim(), n);
      embed_->forward(cond, c.embedding);
      e = c.embedding;
    }
    const_view h = in_proj_.forward(p, x, e, c.in_proj);
    for (index_t k = 0; k < opt_.blocks; ++k) {
      auto& bc = c.blocks[static_cast<std::size_t>(k)];
      const_view a = opt_.layer_norm ? norms_[k].forward(p, h, bc.norm) : h;
      const_view u = fc1_[k].forward(p, a, e, bc.fc1);
      const_view r = fc2_[k].forward(p, u, const_view{}, bc.fc2);
      bc.h.resize(opt_.width, n);
      add(h, r, bc.h);
      h = bc.h;
    }
    const_view a = norm_out_ ? norm_out_->forward(p, h, c.norm_out) : h;
    return head_->forward(p, act_out_.forward(a, c.act_out), const_view{}, c.head);
  }

  static const resmlp_options& checked(const resmlp_options& opt) {
    idemgen::detail::require_option(opt.input_dim > 0 && opt.output_dim > 0 && opt.width > 0 &&
                               opt.blocks >= 0,
                           "resmlp", "dims", "input_dim, output_dim, width > 0 and blocks >= 0",
                           fmt::format("{}, {}, {}, {}", opt.input_dim, opt.output_dim, opt.width,
                                       opt.blocks));
    return opt;
  }

  const_view backward_impl(cache& c, const_view dy, scalar* grads) const {
    const index_t n = c.batch, w = opt_.width;
    const scalar* p = params_.data();
    for (auto* m : {&c.dh, &c.t1, &c.t2}) m->resize(w, n);
    c.dx.resize(opt_.input_dim, n);
    head_->backward(p, c.head, dy, grads, c.t1);
    act_out_.backward(c.act_out, c.t1, c.t2);
    if (norm_out_)
      norm_out_->backward(p, c.norm_out, c.t2, grads, c.dh);
    else
      B::copy(c.t2, c.dh);
    for (index_t k = opt_.blocks; k-- > 0;) {
      auto& bc = c.blocks[static_cast<std::size_t>(k)];
      fc2_[k].backward(p, bc.fc2, c.dh, grads, c.t1);
      fc1_[k].backward(p, bc.fc1, c.t1, grads, c.t2);
      if (opt_.layer_norm) {
        norms_[k].backward(p, bc.norm, c.t2, grads, c.t1);
        B::axpy(scalar(1), c.t1, c.dh);  // residual: dh_k = dh_{k+1} + J_branchᵀ dh_{k+1}
      } else {
        B::axpy(scalar(1), c.t2, c.dh);
      }
    }
    in_proj_.backward(p, c.in_proj, c.dh, grads, c.dx);
    return c.dx;
  }

  resmlp_options opt_;
  dense<B> in_proj_;
  std::vector<layer_norm<B>> norms_;
  std::vector<dense<B>> fc1_, fc2_;
  std::optional<layer_norm<B>> norm_out_;
  activation_layer<B> act_out_;
  std::optional<dense<B>> head_;
  std::optional<noise_embedding<B>> embed_;
};

}  // namespace idemgen::nn
