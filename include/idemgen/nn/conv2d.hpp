#pragma once
// conv2d: y = act(W ⋆ x + b), a 2-D convolution (cross-correlation, as PyTorch's nn.Conv2d)
// with stride and zero padding, the layer the image networks are built from. An image is one
// column of the batch in CHW order (data/image_set.hpp): C·H·W values in, O·H'·W' values out,
// H' = (H + 2·padding − k) / stride + 1.
//
// As GEMM, one image at a time (im2col): the image's k × k patches become the rows of a P × K
// matrix (P = H'·W' output positions, K = C·k·k; column q = (c, ky, kx) is the input channel c
// shifted by (ky, kx), written contiguously), and the output image, seen as a P × O
// column-major matrix, is exactly CHW: Y = patches · Wᵀ (+ b). W is an O × K block, as a dense
// layer's out × in, so a checkpoint holds it as [O, C·k·k]: PyTorch's [O, C, k, k] flattened.
// Backward: dW += dYᵀ · patches, db += Σ_p dY, d(patches) = dY · W, added back onto the input
// pixels (col2im) one input channel per thread, so no two threads write one value.
//
// Where the backend has a direct convolution (backend::cpu<float> with oneDNN,
// backend/cpu_dnnl_conv.hpp) and it applies to the shape, forward and backward go through it
// instead: the same function, another summation order.
//
// Initialisation follows nn.Conv2d: W, b ~ U(−1/√fan_in, 1/√fan_in), fan_in = C·k·k.

#include <cmath>
#include <string>
#include <type_traits>

#include <fmt/format.h>

#include "idemgen/core/concepts.hpp"
#include "idemgen/core/errors.hpp"
#include "idemgen/nn/activations.hpp"
#include "idemgen/nn/parameters.hpp"

namespace idemgen::nn {

namespace detail {
/// The backend's direct-convolution slot (B::direct_conv_slot), or none.
struct no_direct_conv {};
template <class B>
struct direct_conv_of {
  using type = no_direct_conv;
};
template <class B>
  requires requires { typename B::direct_conv_slot; } && (!std::is_void_v<typename B::direct_conv_slot>)
struct direct_conv_of<B> {
  using type = typename B::direct_conv_slot;
};
}  // namespace detail

struct conv2d_shape {
  index_t in_channels = 1, height = 0, width = 0;
  index_t out_channels = 1, kernel = 3, stride = 1, padding = 1;
  index_t out_height() const { return (height + 2 * padding - kernel) / stride + 1; }
  index_t out_width() const { return (width + 2 * padding - kernel) / stride + 1; }
  index_t in_dim() const { return in_channels * height * width; }
  index_t out_dim() const { return out_channels * out_height() * out_width(); }
  index_t patch_size() const { return in_channels * kernel * kernel; }
  /// Multiply-adds of one forward pass over one image: H'·W' · O · C·k·k.
  double multiply_adds() const {
    return static_cast<double>(out_height() * out_width()) * static_cast<double>(out_channels * patch_size());
  }
};

template <numeric_backend B>
class conv2d {
 public:
  using scalar = typename B::scalar;
  using view = typename B::view;
  using const_view = typename B::const_view;

  struct cache {
    const_view x;
    typename B::matrix z, y, dz;    // out_dim × batch: pre-activation, activation, backward workspace
    typename B::matrix patches;     // P × K, one image's im2col (reused image by image)
    typename B::matrix bias_sums;   // 1 × O, one image's Σ_p dY
    typename B::matrix phases;      // stride > 1: de-interleaved input rows (im2col, col2im)
    typename detail::direct_conv_of<B>::type direct;  // the backend's direct convolution, if any
    bool forward_was_direct = false;                   // backward takes the path forward took
    const_view output() const { return y.size() > 0 ? const_view(y) : const_view(z); }
  };

  conv2d(parameter_layout& layout, const std::string& name, const conv2d_shape& shape,
         activation_spec act = {activation::identity})
      : shape_(shape), act_(act) {
    idemgen::detail::require_option(
        shape.in_channels > 0 && shape.out_channels > 0 && shape.height > 0 && shape.width > 0 && shape.kernel > 0 &&
            shape.stride > 0 && shape.padding >= 0 && shape.padding < shape.kernel &&
            shape.height + 2 * shape.padding >= shape.kernel && shape.width + 2 * shape.padding >= shape.kernel,
        "nn::conv2d", "shape", "positive channels, sizes, kernel and stride; 0 <= padding < kernel <= padded size",
        [&] {
          return fmt::format("{}x{}x{} -> {} channels, kernel {}, stride {}, padding {}", shape.in_channels, shape.height,
                             shape.width, shape.out_channels, shape.kernel, shape.stride, shape.padding);
        });
    weight_ = layout.add(name + ".weight", shape.out_channels, shape.patch_size());
    bias_ = layout.add(name + ".bias", shape.out_channels, 1);
  }

  const conv2d_shape& shape() const { return shape_; }
  index_t in_dim() const { return shape_.in_dim(); }
  index_t out_dim() const { return shape_.out_dim(); }

  void initialize(view params, random_stream& rng) const {
    const scalar bound = scalar(1) / std::sqrt(static_cast<scalar>(shape_.patch_size()));
    B::fill_uniform(view(params.data() + weight_, shape_.out_channels, shape_.patch_size()), rng, -bound, bound);
    B::fill_uniform(view(params.data() + bias_, shape_.out_channels, 1), rng, -bound, bound);
  }

  /// Returns act(W ⋆ x + b) (out_dim × batch), stored in the cache; x must stay valid until backward.
  const_view forward(const scalar* params, const_view x, cache& c) const {
    idemgen::detail::require_dim("nn::conv2d::forward", "x", "rows", in_dim(), x.rows());
    const index_t n = x.cols(), positions = out_positions(), outs = shape_.out_channels;
    c.x = x;
    c.z.resize(out_dim(), n);
    const const_view weight(params + weight_, outs, shape_.patch_size());
    const scalar* bias = params + bias_;
    if (!direct_forward(x, weight.data(), bias, c)) {
      c.patches.resize(positions, shape_.patch_size());
      for (index_t j = 0; j < n; ++j) {
        im2col(x.data() + j * in_dim(), c.patches, c.phases);
        const view z_image(c.z.data() + j * out_dim(), positions, outs);
        scalar* z = z_image.data();
        B::parallel_for_2d(positions, outs, [=] IDEMGEN_HOST_DEVICE(index_t p, index_t o) { z[p + o * positions] = bias[o]; });
        B::gemm(transpose::no, transpose::yes, scalar(1), c.patches, weight, scalar(1), z_image);
      }
    }
    if (act_.kind == activation::identity) {
      c.y.resize(0, 0);
    } else {
      c.y.resize(out_dim(), n);
      const scalar* z = c.z.data();
      scalar* y = c.y.data();
      dispatch_activation(act_, [&](auto f) { apply_activation<B>(f, z, y, c.z.size()); });
    }
    return c.output();
  }

  /// Given dL/dy, accumulates dL/dW and dL/db into `grads` (skipped when grads == nullptr) and
  /// writes dL/dx into `dx` (skipped when dx is empty).
  void backward(const scalar* params, cache& c, const_view dy, scalar* grads, view dx) const {
    // dy must be of the batch the cache's forward saw (none: backward before forward).
    idemgen::detail::require_shape("nn::conv2d::backward", "dy", out_dim(), c.z.cols(), dy.rows(), dy.cols());
    if (!dx.empty()) idemgen::detail::require_shape("nn::conv2d::backward", "dx", in_dim(), c.z.cols(), dx.rows(), dx.cols());
    const index_t n = c.z.cols(), positions = out_positions(), outs = shape_.out_channels;
    const_view dz = dy;
    if (act_.kind != activation::identity) {
      c.dz.resize(out_dim(), n);
      scalar* pdz = c.dz.data();
      const scalar* pdy = dy.data();
      const scalar* z = c.z.data();
      const scalar* y = c.y.data();
      dispatch_activation(act_, [&](auto f) { apply_activation_derivative<B>(f, pdy, z, y, pdz, c.dz.size()); });
      dz = c.dz;
    }
    const const_view weight(params + weight_, outs, shape_.patch_size());
    if (direct_backward(c, dz, weight.data(), grads, dx)) return;
    c.bias_sums.resize(1, outs);
    for (index_t j = 0; j < n; ++j) {
      const const_view dz_image(dz.data() + j * out_dim(), positions, outs);
      if (grads != nullptr) {
        im2col(c.x.data() + j * in_dim(), c.patches, c.phases);  // recomputed: all of them would not fit
        B::gemm(transpose::yes, transpose::no, scalar(1), dz_image, c.patches, scalar(1),
                view(grads + weight_, outs, shape_.patch_size()));
        B::column_sums(dz_image, c.bias_sums);
        B::axpy(scalar(1), const_view(c.bias_sums.data(), outs, 1), view(grads + bias_, outs, 1));
      }
      if (!dx.empty()) {
        c.patches.resize(positions, shape_.patch_size());
        B::gemm(transpose::no, transpose::no, scalar(1), dz_image, weight, scalar(0), c.patches);
        col2im(c.patches, dx.data() + j * in_dim(), c.phases);
      }
    }
  }

 private:
  static constexpr bool has_direct = !std::is_same_v<typename detail::direct_conv_of<B>::type, detail::no_direct_conv>;

  /// z = W ⋆ x + b through the backend's direct convolution, where it has one for this shape
  /// and batch; false: the im2col path's to do.
  bool direct_forward(const_view x, const scalar* weight, const scalar* bias, cache& c) const {
    c.forward_was_direct = false;
    if constexpr (has_direct) {
      if (auto* plan = c.direct.get(shape_, x.cols())) {
        plan->forward(x.data(), weight, bias, c.z.data());
        c.forward_was_direct = true;
        return true;
      }
    }
    return false;
  }
  /// The backward of direct_forward (the same plan): false where the im2col path ran forward,
  /// also when the path was switched between the two calls.
  bool direct_backward(cache& c, const_view dz, const scalar* weight, scalar* grads, view dx) const {
    if constexpr (has_direct) {
      if (auto* plan = c.forward_was_direct ? c.direct.current() : nullptr) {
        plan->backward(dz.data(), weight, grads == nullptr ? nullptr : grads + weight_,
                       grads == nullptr ? nullptr : grads + bias_, dx.empty() ? nullptr : dx.data());
        return true;
      }
    }
    return false;
  }

  index_t out_positions() const { return shape_.out_height() * shape_.out_width(); }

  /// The output positions o in [0, outs) whose input coordinate o·s − pad + kernel_offset lies
  /// in [0, size): [first, last). Computed once per kernel offset, so the loops over positions
  /// have no bounds test and, at stride 1, vectorise.
  IDEMGEN_HOST_DEVICE static void valid_range(index_t size, index_t outs, index_t s, index_t pad, index_t kernel_offset,
                                              index_t& first, index_t& last) {
    const index_t low = pad - kernel_offset, high = size - 1 + pad - kernel_offset;  // o·s ∈ [low, high]
    first = low > 0 ? (low + s - 1) / s : 0;
    last = high < 0 ? 0 : high / s + 1;
    if (last > outs) last = outs;
    if (first > last) first = last;
  }

  /// At stride s > 1 an input row is kept as s phase rows, pixel ix = q·s + φ at [φ][q] (q <
  /// ⌈w / s⌉): the pixels one kernel offset kx touches, ix = ox·s − pad + kx, are then contiguous,
  /// at phase φ = (kx − pad) mod s from q = ox + (kx − pad − φ) / s.
  index_t phase_row() const { return (shape_.width + shape_.stride - 1) / shape_.stride; }
  index_t phase_plane() const { return shape_.height * shape_.stride * phase_row(); }
  IDEMGEN_HOST_DEVICE static void phase_of(index_t kx, index_t pad, index_t s, index_t& phase, index_t& q_offset) {
    const index_t shift = kx - pad;
    phase = ((shift % s) + s) % s;
    q_offset = (shift - phase) / s;
  }

  /// patches(p, q) = x(c, oy·s − pad + ky, ox·s − pad + kx), 0 outside; p = (oy, ox), q = (c, ky, kx).
  /// One column q a thread: its P values are written in order. At stride s > 1 the image is
  /// first split into phase rows (one channel a thread), so every copy reads with unit stride.
  void im2col(const scalar* image, view patches, typename B::matrix& phases) const {
    const index_t k = shape_.kernel, s = shape_.stride, pad = shape_.padding, h = shape_.height, w = shape_.width;
    const index_t oh = shape_.out_height(), ow = shape_.out_width(), positions = out_positions();
    scalar* out = patches.data();
    const scalar* rows_data = image;  // stride 1: the image itself, one row of w a line
    index_t row_stride = w, per_channel = h * w;
    if (s > 1) {
      row_stride = phase_row();
      per_channel = phase_plane();
      phases.resize(per_channel, shape_.in_channels);
      scalar* split = phases.data();
      B::parallel_for(shape_.in_channels, [=] IDEMGEN_HOST_DEVICE(index_t channel) {
        const scalar* __restrict__ plane = image + channel * h * w;
        scalar* __restrict__ rows = split + channel * per_channel;
        for (index_t iy = 0; iy < h; ++iy)
          for (index_t phase = 0; phase < s; ++phase) {
            scalar* __restrict__ row = rows + (iy * s + phase) * row_stride;
            index_t q = 0;
            for (; q * s + phase < w; ++q) row[q] = plane[iy * w + q * s + phase];
            for (; q < row_stride; ++q) row[q] = scalar(0);
          }
      });
      rows_data = split;
    }
    B::parallel_for(shape_.patch_size(), [=] IDEMGEN_HOST_DEVICE(index_t q) {
      const index_t channel = q / (k * k), ky = (q / k) % k, kx = q % k;
      index_t oy_first, oy_last, ox_first, ox_last;
      valid_range(h, oh, s, pad, ky, oy_first, oy_last);
      valid_range(w, ow, s, pad, kx, ox_first, ox_last);
      index_t phase = 0, q_offset = kx - pad;  // stride 1: the row itself, shifted by kx − pad
      if (s > 1) phase_of(kx, pad, s, phase, q_offset);
      const scalar* __restrict__ rows = rows_data + channel * per_channel;
      scalar* __restrict__ column = out + q * positions;
      for (index_t p = 0; p < positions; ++p) column[p] = scalar(0);
      for (index_t oy = oy_first; oy < oy_last; ++oy) {
        const scalar* __restrict__ source = rows + ((oy * s - pad + ky) * s + phase) * row_stride + (ox_first + q_offset);
        scalar* __restrict__ target = column + oy * ow + ox_first;
        for (index_t t = 0; t < ox_last - ox_first; ++t) target[t] = source[t];
      }
    });
  }

  /// dx(c, iy, ix) = Σ over the (ky, kx, oy, ox) that read it of d(patches)((oy, ox), (c, ky, kx)):
  /// one input channel a thread, which alone writes that channel's pixels. At stride s > 1 the
  /// pixels one (ky, kx) writes, ix = ox·s − pad + kx, are s apart: a scalar loop of dependent
  /// read-add-writes (half of the conv IGN step's backward, profiled). They are all of one phase
  /// φ = ix mod s, so each input row is kept as s contiguous phase rows (ix = q·s + φ at [φ][q]),
  /// accumulated with unit stride, and interleaved into the image once at the end. Every pixel
  /// receives its terms in the same (ky, kx, oy) order either way: the same sums, bit for bit.
  void col2im(const_view patch_grads, scalar* dx_image, typename B::matrix& phases) const {
    const index_t k = shape_.kernel, s = shape_.stride, pad = shape_.padding, h = shape_.height, w = shape_.width;
    const index_t oh = shape_.out_height(), ow = shape_.out_width(), positions = out_positions();
    const scalar* g = patch_grads.data();
    if (s == 1) {
      B::parallel_for(shape_.in_channels, [=] IDEMGEN_HOST_DEVICE(index_t channel) {
        scalar* __restrict__ plane = dx_image + channel * h * w;
        for (index_t i = 0; i < h * w; ++i) plane[i] = scalar(0);
        for (index_t ky = 0; ky < k; ++ky) {
          index_t oy_first, oy_last;
          valid_range(h, oh, 1, pad, ky, oy_first, oy_last);
          for (index_t kx = 0; kx < k; ++kx) {
            index_t ox_first, ox_last;
            valid_range(w, ow, 1, pad, kx, ox_first, ox_last);
            const scalar* __restrict__ column = g + ((channel * k + ky) * k + kx) * positions;
            for (index_t oy = oy_first; oy < oy_last; ++oy) {
              scalar* __restrict__ target = plane + (oy - pad + ky) * w + (ox_first - pad + kx);
              const scalar* __restrict__ source = column + oy * ow + ox_first;
              for (index_t t = 0; t < ox_last - ox_first; ++t) target[t] += source[t];
            }
          }
        }
      });
      return;
    }
    const index_t row_phase = phase_row(), per_channel = phase_plane();
    phases.resize(per_channel, shape_.in_channels);
    scalar* phase_data = phases.data();
    B::parallel_for(shape_.in_channels, [=] IDEMGEN_HOST_DEVICE(index_t channel) {
      scalar* __restrict__ rows = phase_data + channel * per_channel;  // [iy][φ][q]
      for (index_t i = 0; i < per_channel; ++i) rows[i] = scalar(0);
      for (index_t ky = 0; ky < k; ++ky) {
        index_t oy_first, oy_last;
        valid_range(h, oh, s, pad, ky, oy_first, oy_last);
        for (index_t kx = 0; kx < k; ++kx) {
          index_t ox_first, ox_last;
          valid_range(w, ow, s, pad, kx, ox_first, ox_last);
          index_t phase, q_offset;
          phase_of(kx, pad, s, phase, q_offset);
          const scalar* __restrict__ column = g + ((channel * k + ky) * k + kx) * positions;
          for (index_t oy = oy_first; oy < oy_last; ++oy) {
            scalar* __restrict__ target = rows + ((oy * s - pad + ky) * s + phase) * row_phase + (ox_first + q_offset);
            const scalar* __restrict__ source = column + oy * ow + ox_first;
            for (index_t t = 0; t < ox_last - ox_first; ++t) target[t] += source[t];
          }
        }
      }
      scalar* __restrict__ plane = dx_image + channel * h * w;
      for (index_t iy = 0; iy < h; ++iy)
        for (index_t phase = 0; phase < s; ++phase) {
          const scalar* __restrict__ row = rows + (iy * s + phase) * row_phase;
          for (index_t q = 0; q * s + phase < w; ++q) plane[iy * w + q * s + phase] = row[q];
        }
    });
  }

  conv2d_shape shape_;
  activation_spec act_;
  index_t weight_ = 0, bias_ = 0;
};

}  // namespace idemgen::nn
