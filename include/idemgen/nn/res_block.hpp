#pragma once
// res_block: the residual block of the U-Net (nn/unet.hpp), as in DDPM's and EDM's image
// networks (Ho et al. 2020, App. B; Karras et al. 2022, App. F.2), with a noise embedding e:
//
//   h = conv₃ₓ₃( act( GN₁(x) ) ) + P e          (P e: one value per output channel, every pixel)
//   y = skip(x) + conv₃ₓ₃( act( GN₂(h) ) )       skip = identity, or a 1×1 conv when C_in ≠ C_out
//
// With embedding_dim = 0 the block has no P and h = conv₃ₓ₃(act(GN₁(x))): the blocks of an
// unconditioned U-Net (SIGN §5's student, "without time embeddings").
// Images are columns in CHW order. backward writes dL/dx, accumulates dL/dθ, and adds
// dL/de into the caller's d_embedding (the U-Net sums it over its blocks).

#include <optional>
#include <string>

#include "idemgen/nn/activations.hpp"
#include "idemgen/nn/conv2d.hpp"
#include "idemgen/nn/dense.hpp"
#include "idemgen/nn/group_norm.hpp"

namespace idemgen::nn {

struct res_block_shape {
  index_t in_channels = 1, out_channels = 1, height = 1, width = 1;
  index_t groups = 1;          // at most the smaller channel count; must divide both
  index_t embedding_dim = 0;   // rows of e; 0: no embedding
};

template <numeric_backend B>
class res_block {
 public:
  using scalar = typename B::scalar;
  using view = typename B::view;
  using const_view = typename B::const_view;

  struct cache {
    typename group_norm<B>::cache norm1, norm2;  // each with the activation after it
    typename conv2d<B>::cache conv1, conv2, skip;
    typename dense<B>::cache projection;
    typename B::matrix shifted, y;                       // h, and the block's output
    typename B::matrix grad_out, grad_shifted, grad_in, d_projection, d_embedding;  // backward workspace
  };

  res_block(parameter_layout& layout, const std::string& name, const res_block_shape& shape, activation_spec act)
      : shape_(shape),
        norm1_(layout, name + ".norm1", shape.in_channels, shape.height * shape.width, groups_for(shape.in_channels, shape),
               act),
        conv1_(layout, name + ".conv1", conv_shape(shape.in_channels, 3)),
        projection_(make_projection(layout, name)),
        norm2_(layout, name + ".norm2", shape.out_channels, shape.height * shape.width,
               groups_for(shape.out_channels, shape), act),
        conv2_(layout, name + ".conv2", conv_shape(shape.out_channels, 3)) {
    if (shape.in_channels != shape.out_channels) skip_.emplace(layout, name + ".skip", conv_shape(shape.in_channels, 1));
  }


  index_t in_dim() const { return shape_.in_channels * positions(); }
  index_t out_dim() const { return shape_.out_channels * positions(); }

  /// Multiply-adds of the block's convolutions over one image (H·W · O · C·k·k each).
  double multiply_adds_per_image() const {
    return conv1_.shape().multiply_adds() + conv2_.shape().multiply_adds() + (skip_ ? skip_->shape().multiply_adds() : 0);
  }

  void initialize(view params, random_stream& rng) const {
    norm1_.initialize(params, rng);
    conv1_.initialize(params, rng);
    if (projection_) projection_->initialize(params, rng);
    norm2_.initialize(params, rng);
    conv2_.initialize(params, rng);
    if (skip_) skip_->initialize(params, rng);
  }

  /// y (out_dim × batch, held by the cache) for x (in_dim × batch) and e (embedding_dim × batch,
  /// empty without an embedding); x and e must stay valid until backward.
  const_view forward(const scalar* params, const_view x, const_view embedding, cache& c) const {
    const index_t n = x.cols();
    const const_view a1 = norm1_.forward(params, x, c.norm1);
    const const_view z1 = conv1_.forward(params, a1, c.conv1);
    const_view h = z1;
    if (projection_) {
      const const_view per_channel = projection_->forward(params, embedding, const_view{}, c.projection);
      c.shifted.resize(out_dim(), n);
      add_per_channel(z1, per_channel, positions(), c.shifted);
      h = c.shifted;
    }
    const const_view a2 = norm2_.forward(params, h, c.norm2);
    const const_view z2 = conv2_.forward(params, a2, c.conv2);
    c.y.resize(out_dim(), n);
    B::copy(skip_ ? skip_->forward(params, x, c.skip) : x, c.y);
    B::axpy(scalar(1), z2, c.y);
    return c.y;
  }

  /// dx = dL/dx (in_dim × batch, overwritten); with grads, dL/dθ += and d_embedding += dL/de
  /// (d_embedding is unused without an embedding).
  void backward(const scalar* params, cache& c, const_view dy, scalar* grads, view dx, view d_embedding) const {
    const index_t n = dy.cols();
    c.grad_out.resize(out_dim(), n);
    c.grad_shifted.resize(out_dim(), n);
    c.grad_in.resize(in_dim(), n);
    conv2_.backward(params, c.conv2, dy, grads, c.grad_out);
    norm2_.backward(params, c.norm2, c.grad_out, grads, c.grad_shifted);  // dL/dh
    if (grads != nullptr && projection_) {
      c.d_projection.resize(shape_.out_channels, n);
      // dL/d(P e)[o, j] = Σ over the pixels of channel o of image j: the d × n gradient seen as
      // positions × (channels · batch) has exactly one (o, j) a column.
      B::column_sums(const_view(c.grad_shifted.data(), positions(), shape_.out_channels * n), c.d_projection);
      c.d_embedding.resize(shape_.embedding_dim, n);
      projection_->backward(params, c.projection, c.d_projection, grads, c.d_embedding);
      B::axpy(scalar(1), c.d_embedding, d_embedding);
    }
    conv1_.backward(params, c.conv1, c.grad_shifted, grads, c.grad_in);
    norm1_.backward(params, c.norm1, c.grad_in, grads, dx);
    if (skip_) {
      skip_->backward(params, c.skip, dy, grads, c.grad_in);
      B::axpy(scalar(1), c.grad_in, dx);
    } else {
      B::axpy(scalar(1), dy, dx);
    }
  }

  /// out[o·P + p, j] = z[o·P + p, j] + shift[o, j] (public only because nvcc forbids device
  /// lambdas in private members).
  static void add_per_channel(const_view z, const_view shift, index_t positions, view out) {
    const scalar* pz = z.data();
    const scalar* ps = shift.data();
    scalar* po = out.data();
    B::parallel_for_2d(positions, shift.size(), [=] IDEMGEN_HOST_DEVICE(index_t p, index_t k) {
      po[p + k * positions] = pz[p + k * positions] + ps[k];
    });
  }

 private:
  index_t positions() const { return shape_.height * shape_.width; }
  conv2d_shape conv_shape(index_t in, index_t kernel) const {
    return {.in_channels = in, .height = shape_.height, .width = shape_.width, .out_channels = shape_.out_channels,
            .kernel = kernel, .stride = 1, .padding = kernel / 2};
  }
  // P's parameters come right after conv1's in the layout, as before blocks could go without one.
  std::optional<dense<B>> make_projection(parameter_layout& layout, const std::string& name) const {
    if (shape_.embedding_dim == 0) return std::nullopt;
    return std::optional<dense<B>>(std::in_place, layout, name + ".embedding", shape_.embedding_dim, shape_.out_channels);
  }
  static index_t groups_for(index_t channels, const res_block_shape& shape) {
    idemgen::detail::require_option(shape.embedding_dim >= 0 && shape.groups > 0, "nn::res_block", "shape",
                                    "embedding_dim >= 0 and groups > 0",
                                    fmt::format("{} embedding rows, {} groups", shape.embedding_dim, shape.groups));
    return std::min(shape.groups, channels);
  }

  res_block_shape shape_;
  group_norm<B> norm1_;  // GN₁ then act, fused (nn/group_norm.hpp)
  conv2d<B> conv1_;
  std::optional<dense<B>> projection_;  // P; none without an embedding
  group_norm<B> norm2_;
  conv2d<B> conv2_;
  std::optional<conv2d<B>> skip_;
};

}  // namespace idemgen::nn
