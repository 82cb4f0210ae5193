#pragma once
// backend::dnnl_conv: nn::conv2d's forward and backward for float on the CPU
// through oneDNN's direct convolution (the library PyTorch's CPU convolutions
// run on), an optional capability of backend::cpu<float> (IDEMGEN_USE_DNNL, set
// by CMake when libdnnl-dev is found).
//
// Why: conv2d's own path, im2col + one GEMM per image, runs OpenBLAS's kernel
// with O = 32–64 output channels as GEMM's narrow side, plus the im2col/col2im
// passes around it. oneDNN's JIT kernels work on channel-blocked layouts
// (nChw16c) and measured faster on the image networks' shapes, reorders to and
// from our layout included (docs/PERFORMANCE.md, "conv2d on oneDNN").
//
// Layouts: our images are the batch's columns in CHW order, i.e. NCHW; a conv2d
// weight is an O × C·k·k column-major block (o fastest: IHWO); the bias is O
// values. Each call reorders its inputs into the layouts the primitive chose
// and its outputs back (a copy, not a change of any value). The forward's
// input, reordered, is kept for the weight gradient. Every buffer, the
// primitives' scratchpads included, is allocated when the plan is made:
// steady-state steps allocate nothing here.
//
// A plan is made for one shape, one batch size and one thread count (a plan
// made inside a batch shard's parallel region is single-threaded, as the
// shard's other operations are); a change of any makes a new one. Results are
// deterministic for a fixed plan; they differ from the im2col path's by float
// rounding (another summation order), which tests/test_conv_dnnl.cpp bounds.
// IDEMGEN_CONV=im2col in the environment (or set_enabled(false)) keeps every
// conv2d on the im2col path: the A/B of the benches.

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <dnnl.hpp>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "idemgen/backend/cpu_parallel.hpp"
#include "idemgen/core/config.hpp"

namespace idemgen::backend::dnnl_conv {

inline bool& enabled_flag() {
  static bool on = [] {
    const char* v = std::getenv("IDEMGEN_CONV");
    return v == nullptr || std::string(v) != "im2col";
  }();
  return on;
}
/// Whether conv2d takes oneDNN's path (default yes; IDEMGEN_CONV=im2col: no).
inline bool enabled() { return enabled_flag(); }
inline void set_enabled(bool on) { enabled_flag() = on; }

/// One convolution's shape, its batch and the threads its plan may use.
struct geometry {
  index_t batch = 0, in_channels = 0, height = 0, width = 0, out_channels = 0, kernel = 0, stride = 1, padding = 0;
  int threads = 1;
  index_t out_height() const { return (height + 2 * padding - kernel) / stride + 1; }
  index_t out_width() const { return (width + 2 * padding - kernel) / stride + 1; }
  bool operator==(const geometry&) const = default;
};

/// The convolutions oneDNN's path takes: 16 channels or more on both sides. With
/// the stem (1 input channel) and the head (1 output channel) on oneDNN too, the
/// conv_net step was slower (docs/PERFORMANCE.md, "conv2d on oneDNN").
inline bool applies(const geometry& g) { return enabled() && g.in_channels >= 16 && g.out_channels >= 16; }

inline dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

/// oneDNN sizes its kernels' thread partition by omp_get_max_threads() when a
/// primitive is made and expects that many threads when it runs. Inside a batch
/// shard's parallel region that is still the process's count, but the shard
/// runs alone on its thread (its kernels' barriers then spun forever, seen in
/// tests/test_conv_dnnl.cpp): for a plan's life, its calls see its own thread
/// count. omp_set_num_threads inside a parallel region sets only the calling
/// thread's value.
class thread_count_scope {
 public:
  explicit thread_count_scope(int threads) {
#if defined(_OPENMP)
    saved_ = omp_get_max_threads();
    if (saved_ != threads) omp_set_num_threads(threads);
#else
    (void)threads;
#endif
  }
  ~thread_count_scope() {
#if defined(_OPENMP)
    if (omp_get_max_threads() != saved_) omp_set_num_threads(saved_);
#endif
  }
  thread_count_scope(const thread_count_scope&) = delete;
  thread_count_scope& operator=(const thread_count_scope&) = delete;

 private:
  int saved_ = 1;
};

/// A tensor in our plain layout (`user`, over the caller's pointer) and in the
/// layout a primitive chose (`chosen`: its own buffer, or `user` itself when
/// the layouts agree).
class staged {
 public:
  staged() = default;
  staged(const dnnl::memory::desc& plain, const dnnl::memory::desc& chosen_desc)
      : user_(plain, cpu_engine(), DNNL_MEMORY_NONE), reordered_(!(plain == chosen_desc)) {
    if (!reordered_) {
      chosen_ = user_;
      return;
    }
    chosen_ = dnnl::memory(chosen_desc, cpu_engine());
    to_chosen_ = dnnl::reorder(user_, chosen_);
    to_user_ = dnnl::reorder(chosen_, user_);
  }
  /// An input: `data` in the chosen layout.
  const dnnl::memory& in(dnnl::stream& s, const float* data) {
    user_.set_data_handle(const_cast<float*>(data));
    if (reordered_) to_chosen_.execute(s, user_, chosen_);
    return chosen_;
  }
  /// An output the primitive writes: call finish(s) after it ran.
  const dnnl::memory& out(float* data) {
    user_.set_data_handle(data);
    return chosen_;
  }
  void finish(dnnl::stream& s) {
    if (reordered_) to_user_.execute(s, chosen_, user_);
  }
  const dnnl::memory& chosen() const { return chosen_; }

 private:
  dnnl::memory user_, chosen_;
  dnnl::reorder to_chosen_, to_user_;
  bool reordered_ = false;
};

class plan {
 public:
  explicit plan(const geometry& g) : shape_(g), stream_(cpu_engine()) {
    const thread_count_scope threads(g.threads);
    using dnnl::memory;
    using tag = memory::format_tag;
    const auto f32 = memory::data_type::f32;
    const memory::dims src{g.batch, g.in_channels, g.height, g.width},
        weights{g.out_channels, g.in_channels, g.kernel, g.kernel}, bias{g.out_channels},
        dst{g.batch, g.out_channels, g.out_height(), g.out_width()}, strides{g.stride, g.stride},
        padding{g.padding, g.padding};
    // The weight is an O × C·k·k column-major block (nn::conv2d): o fastest,
    // then kx, ky, c.
    const memory::dims weight_strides{1, g.kernel * g.kernel * g.out_channels, g.kernel * g.out_channels,
                                      g.out_channels};
    const memory::desc plain_src(src, f32, tag::nchw), plain_weights(weights, f32, weight_strides),
        bias_desc(bias, f32, tag::x), plain_dst(dst, f32, tag::nchw), any_src(src, f32, tag::any),
        any_weights(weights, f32, tag::any), any_dst(dst, f32, tag::any);
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    const auto direct = dnnl::algorithm::convolution_direct;
    const dnnl::convolution_forward::primitive_desc forward_pd(
        {dnnl::prop_kind::forward_training, direct, any_src, any_weights, bias_desc, any_dst, strides, padding,
         padding},
        attr, cpu_engine());
    const dnnl::convolution_backward_data::primitive_desc data_pd(
        {direct, any_src, any_weights, any_dst, strides, padding, padding}, attr, cpu_engine(), forward_pd);
    const dnnl::convolution_backward_weights::primitive_desc weights_pd(
        {direct, any_src, any_weights, bias_desc, any_dst, strides, padding, padding}, attr, cpu_engine(), forward_pd);
    forward_ = dnnl::convolution_forward(forward_pd);
    backward_data_ = dnnl::convolution_backward_data(data_pd);
    backward_weights_ = dnnl::convolution_backward_weights(weights_pd);

    src_ = staged(plain_src, forward_pd.src_desc());
    forward_weights_ = staged(plain_weights, forward_pd.weights_desc());
    dst_ = staged(plain_dst, forward_pd.dst_desc());
    data_diff_dst_ = staged(plain_dst, data_pd.diff_dst_desc());
    data_weights_ = staged(plain_weights, data_pd.weights_desc());
    diff_src_ = staged(plain_src, data_pd.diff_src_desc());
    weights_src_same_ = weights_pd.src_desc() == forward_pd.src_desc();
    weights_src_ = staged(plain_src, weights_pd.src_desc());
    weights_diff_dst_same_ = weights_pd.diff_dst_desc() == data_pd.diff_dst_desc();
    weights_diff_dst_ = staged(plain_dst, weights_pd.diff_dst_desc());
    diff_weights_ = staged(plain_weights, weights_pd.diff_weights_desc());
    bias_ = memory(bias_desc, cpu_engine(), DNNL_MEMORY_NONE);
    weight_grads_.resize(static_cast<std::size_t>(g.out_channels * g.in_channels * g.kernel * g.kernel));
    bias_grads_.resize(static_cast<std::size_t>(g.out_channels));
    diff_bias_ = memory(bias_desc, cpu_engine(), bias_grads_.data());

    const auto scratch_size = std::max({forward_pd.scratchpad_desc().get_size(), data_pd.scratchpad_desc().get_size(),
                                        weights_pd.scratchpad_desc().get_size()});
    scratchpad_.resize(std::max<std::size_t>(scratch_size, 1));
    forward_scratch_ = memory(forward_pd.scratchpad_desc(), cpu_engine(), scratchpad_.data());
    data_scratch_ = memory(data_pd.scratchpad_desc(), cpu_engine(), scratchpad_.data());
    weights_scratch_ = memory(weights_pd.scratchpad_desc(), cpu_engine(), scratchpad_.data());
  }

  const geometry& shape() const { return shape_; }

  /// z = W ⋆ x + b: x (batch images, NCHW), weight [O, C·k·k], bias O values, z
  /// (NCHW).
  void forward(const float* x, const float* weight, const float* bias, float* z) {
    const thread_count_scope threads(shape_.threads);
    x_ = x;
    const dnnl::memory& src = src_.in(stream_, x);
    const dnnl::memory& weights = forward_weights_.in(stream_, weight);
    bias_.set_data_handle(const_cast<float*>(bias));
    forward_.execute(stream_, {{DNNL_ARG_SRC, src},
                               {DNNL_ARG_WEIGHTS, weights},
                               {DNNL_ARG_BIAS, bias_},
                               {DNNL_ARG_DST, dst_.out(z)},
                               {DNNL_ARG_SCRATCHPAD, forward_scratch_}});
    dst_.finish(stream_);
    stream_.wait();
  }

  /// After forward(x, …): given dz = dL/dz, adds dL/dW and dL/db into
  /// weight_grads and bias_grads (skipped when weight_grads is null) and writes
  /// dL/dx into dx (skipped when dx is null).
  void backward(const float* dz, const float* weight, float* weight_grads, float* bias_grads, float* dx) {
    const thread_count_scope threads(shape_.threads);
    const dnnl::memory& diff_dst = data_diff_dst_.in(stream_, dz);
    if (weight_grads != nullptr) {
      const dnnl::memory& src = weights_src_same_ ? src_.chosen() : weights_src_.in(stream_, x_);
      const dnnl::memory& weights_diff_dst = weights_diff_dst_same_ ? diff_dst : weights_diff_dst_.in(stream_, dz);
      backward_weights_.execute(stream_, {{DNNL_ARG_SRC, src},
                                          {DNNL_ARG_DIFF_DST, weights_diff_dst},
                                          {DNNL_ARG_DIFF_WEIGHTS, diff_weights_.out(weight_grads_.data())},
                                          {DNNL_ARG_DIFF_BIAS, diff_bias_},
                                          {DNNL_ARG_SCRATCHPAD, weights_scratch_}});
      diff_weights_.finish(stream_);
      stream_.wait();
      for (std::size_t i = 0; i < weight_grads_.size(); ++i) weight_grads[i] += weight_grads_[i];
      for (std::size_t i = 0; i < bias_grads_.size(); ++i) bias_grads[i] += bias_grads_[i];
    }
    if (dx != nullptr) {
      backward_data_.execute(stream_, {{DNNL_ARG_DIFF_DST, diff_dst},
                                       {DNNL_ARG_WEIGHTS, data_weights_.in(stream_, weight)},
                                       {DNNL_ARG_DIFF_SRC, diff_src_.out(dx)},
                                       {DNNL_ARG_SCRATCHPAD, data_scratch_}});
      diff_src_.finish(stream_);
    }
    stream_.wait();
  }

 private:
  geometry shape_;
  dnnl::stream stream_;
  dnnl::convolution_forward forward_;
  dnnl::convolution_backward_data backward_data_;
  dnnl::convolution_backward_weights backward_weights_;
  staged src_, forward_weights_, dst_, data_diff_dst_, data_weights_, diff_src_, weights_src_, weights_diff_dst_,
      diff_weights_;
  bool weights_src_same_ = true, weights_diff_dst_same_ = true;
  dnnl::memory bias_, diff_bias_, forward_scratch_, data_scratch_, weights_scratch_;
  std::vector<float> weight_grads_, bias_grads_;
  std::vector<unsigned char> scratchpad_;
  const float* x_ = nullptr;
};

/// A conv2d cache's plan: the one for the last geometry asked, made when it
/// changes; null where the path does not apply or oneDNN has no primitive for
/// the shape.
class slot {
 public:
  template <class Shape>
  plan* get(const Shape& s, index_t batch) {
    if (!enabled()) return nullptr;
    const geometry g{batch,     s.in_channels,        s.height, s.width, s.out_channels, s.kernel, s.stride,
                     s.padding, detail::max_threads()};
    if (asked_ && g == asked_for_) return plan_.get();
    asked_ = true;
    asked_for_ = g;
    plan_.reset();
    if (!applies(g)) return nullptr;
    try {
      plan_ = std::make_unique<plan>(g);
    } catch (const dnnl::error&) {
      plan_.reset();  // no oneDNN primitive for this shape: the im2col path
                      // serves it
    }
    return plan_.get();
  }
  /// The plan the last get() gave, without asking again (conv2d's backward: the plan its
  /// forward ran, even if the path has been switched off since).
  plan* current() const { return plan_.get(); }

 private:
  std::unique_ptr<plan> plan_;
  geometry asked_for_{};
  bool asked_ = false;
};

}  // namespace idemgen::backend::dnnl_conv
