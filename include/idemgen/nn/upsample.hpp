#pragma once
// Nearest-neighbour up-sampling by an integer factor F, as PyTorch's
// nn.Upsample(scale_factor=F, mode="nearest"): each pixel of each channel (CHW, one image a
// column) becomes an F × F block. With a convolution after it, the decoder's way up that avoids
// transposed convolutions' checkerboard artefacts (Odena, Dumoulin & Olah 2016). Parameter-free;
// backward sums each block's gradients.

#include <fmt/format.h>

#include "idemgen/core/concepts.hpp"
#include "idemgen/core/errors.hpp"

namespace idemgen::nn {

template <numeric_backend B>
class upsample_nearest {
 public:
  using scalar = typename B::scalar;
  using view = typename B::view;
  using const_view = typename B::const_view;

  struct cache {
    typename B::matrix y;
    const_view output() const { return y; }
  };

  upsample_nearest(index_t channels, index_t height, index_t width, index_t factor = 2)
      : channels_(channels), height_(height), width_(width), factor_(factor) {
    idemgen::detail::require_option(channels > 0 && height > 0 && width > 0 && factor >= 1, "nn::upsample_nearest",
                                    "shape", "positive channels, height, width and factor", [&] {
                                      return fmt::format("{}x{}x{}, factor {}", channels, height, width, factor);
                                    });
  }

  index_t in_dim() const { return channels_ * height_ * width_; }
  index_t out_dim() const { return in_dim() * factor_ * factor_; }

  const_view forward(const_view x, cache& c) const {
    idemgen::detail::require_dim("nn::upsample_nearest::forward", "x", "rows", in_dim(), x.rows());
    c.y.resize(out_dim(), x.cols());
    const index_t f = factor_, h = height_, w = width_, in = in_dim(), out = out_dim();
    const scalar* px = x.data();
    scalar* py = c.y.data();
    // One input row (channel, iy) of one image a call: it writes its F output rows whole.
    B::parallel_for_2d(channels_ * h, x.cols(), [=] IDEMGEN_HOST_DEVICE(index_t row, index_t j) {
      const scalar* source = px + row * w + j * in;
      scalar* target = py + row * f * (w * f) + j * out;
      for (index_t ix = 0; ix < w; ++ix)
        for (index_t b = 0; b < f; ++b) target[ix * f + b] = source[ix];
      for (index_t a = 1; a < f; ++a)
        for (index_t ox = 0; ox < w * f; ++ox) target[a * w * f + ox] = target[ox];
    });
    return c.y;
  }

  void backward(const_view dy, view dx) const {
    const index_t f = factor_, h = height_, w = width_, in = in_dim(), out = out_dim();
    const scalar* pdy = dy.data();
    scalar* pdx = dx.data();
    B::parallel_for_2d(channels_ * h, dx.cols(), [=] IDEMGEN_HOST_DEVICE(index_t row, index_t j) {
      const scalar* source = pdy + row * f * (w * f) + j * out;
      scalar* target = pdx + row * w + j * in;
      for (index_t ix = 0; ix < w; ++ix) {
        scalar sum = 0;
        for (index_t a = 0; a < f; ++a)
          for (index_t b = 0; b < f; ++b) sum += source[a * w * f + ix * f + b];
        target[ix] = sum;
      }
    });
  }

 private:
  index_t channels_, height_, width_, factor_;
};

}  // namespace idemgen::nn
