#pragma once
// dense: y = act(W x + V s + b), the fused affine layer every network here is built from.
// `s` is an optional side input (the noise embedding of a conditioning row): V s is
// the same as concatenating s to x, without the copy. `nn::linear` is a dense with the identity.
// Initialisation follows PyTorch's nn.Linear: W, V, b ~ U(−1/√fan_in, 1/√fan_in),
// fan_in = in + side.

#include <cmath>
#include <string>

#include "idemgen/core/concepts.hpp"
#include "idemgen/core/errors.hpp"
#include "idemgen/nn/activations.hpp"
#include "idemgen/nn/parameters.hpp"

namespace idemgen::nn {

template <numeric_backend B>
class dense {
 public:
  using scalar = typename B::scalar;
  using view = typename B::view;
  using const_view = typename B::const_view;

  /// What backward needs from one forward call. The input views must stay valid and unchanged
  /// until backward (like PyTorch's saved tensors).
  struct cache {
    const_view x, side;
    typename B::matrix z;   // pre-activation W x + V s + b
    typename B::matrix y;   // act(z); for the identity y is not stored (output() returns z)
    typename B::matrix dz;  // backward workspace
    const_view output() const { return y.size() > 0 ? const_view(y) : const_view(z); }
  };

  dense(parameter_layout& layout, const std::string& name, index_t in, index_t out,
        activation_spec act = {activation::identity}, index_t side = 0)
      : in_(in), out_(out), side_(side), act_(act) {
    idemgen::detail::require_option(in > 0 && out > 0 && side >= 0, "nn::dense", "dims",
                           "in > 0, out > 0, side >= 0",
                           fmt::format("in {}, out {}, side {}", in, out, side));
    weight_ = layout.add(name + ".weight", out, in);
    if (side > 0) side_weight_ = layout.add(name + ".side_weight", out, side);
    bias_ = layout.add(name + ".bias", out, 1);
  }

  index_t in_dim() const { return in_; }
  index_t out_dim() const { return out_; }
  index_t side_dim() const { return side_; }

  void initialize(view params, random_stream& rng) const {
    const scalar bound = scalar(1) / std::sqrt(static_cast<scalar>(in_ + side_));
    B::fill_uniform(block(params.data(), weight_, out_, in_), rng, -bound, bound);
    if (side_ > 0) B::fill_uniform(block(params.data(), side_weight_, out_, side_), rng, -bound, bound);
    B::fill_uniform(block(params.data(), bias_, out_, 1), rng, -bound, bound);
  }

  /// Returns act(W x + V side + b) (out × batch), stored in the cache.
  const_view forward(const scalar* params, const_view x, const_view side, cache& c) const {
    const index_t n = x.cols();
    c.x = x;
    c.side = side;
    c.z.resize(out_, n);
    // z starts as the bias and the GEMMs accumulate into it (β = 1): BLAS then skips its
    // zeroing pass over C, and the bias costs a write-only pass instead of a read-modify-write.
    scalar* z = c.z.data();
    const scalar* b = params + bias_;
    const index_t rows = out_;
    B::parallel_for_2d(rows, n, [=] IDEMGEN_HOST_DEVICE(index_t i, index_t j) { z[i + j * rows] = b[i]; });
    B::gemm(transpose::no, transpose::no, scalar(1), block(params, weight_, out_, in_), x,
            scalar(1), c.z);
    if (side_ > 0)
      B::gemm(transpose::no, transpose::no, scalar(1), block(params, side_weight_, out_, side_),
              side, scalar(1), c.z);
    if (act_.kind == activation::identity) {
      c.y.resize(0, 0);
    } else {
      c.y.resize(out_, n);
      scalar* y = c.y.data();
      dispatch_activation(act_, [&](auto f) { apply_activation<B>(f, z, y, c.z.size()); });
    }
    return c.output();
  }

  /// Given dL/dy, accumulates dL/dW, dL/dV, dL/db into `grads` (skipped when grads == nullptr:
  /// stop-gradient as routing) and writes dL/dx into `dx` (skipped when dx is empty).
  void backward(const scalar* params, cache& c, const_view dy, scalar* grads, view dx) const {
    const index_t n = c.z.cols();
    const_view dz = dy;
    if (act_.kind != activation::identity) {
      c.dz.resize(out_, n);
      scalar* pdz = c.dz.data();
      const scalar* pdy = dy.data();
      const scalar* z = c.z.data();
      const scalar* y = c.y.data();
      dispatch_activation(act_, [&](auto f) { apply_activation_derivative<B>(f, pdy, z, y, pdz, c.dz.size()); });
      dz = c.dz;
    }
    if (grads != nullptr) {
      B::gemm(transpose::no, transpose::yes, scalar(1), dz, c.x, scalar(1),
              block(grads, weight_, out_, in_));
      if (side_ > 0)
        B::gemm(transpose::no, transpose::yes, scalar(1), dz, c.side, scalar(1),
                block(grads, side_weight_, out_, side_));
      B::row_sums(dz, block(grads, bias_, out_, 1), scalar(1), scalar(1));
    }
    if (!dx.empty())
      B::gemm(transpose::yes, transpose::no, scalar(1), block(params, weight_, out_, in_), dz,
              scalar(0), dx);
  }

 private:
  static view block(scalar* base, index_t offset, index_t rows, index_t cols) {
    return view(base + offset, rows, cols);
  }
  static const_view block(const scalar* base, index_t offset, index_t rows, index_t cols) {
    return const_view(base + offset, rows, cols);
  }

  index_t in_, out_, side_;
  activation_spec act_;
  index_t weight_ = 0, side_weight_ = 0, bias_ = 0;
};

}  // namespace idemgen::nn
