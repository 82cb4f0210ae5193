// conv2d's oneDNN path (backend/cpu_dnnl_conv.hpp) computes the function its
// im2col path does: forward, weight, bias and input gradients agree in float to
// rounding, for stride 1 and 2, with and without padding and activation, across
// batch sizes and weight updates, and inside a batch shard's parallel region.
// The im2col path is itself checked against finite differences in double
// (test_layers.cpp). Built only where oneDNN is (tests/CMakeLists.txt).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "idemgen/idemgen.hpp"

namespace idemgen::test {

using be = backend::cpu<float>;

#if defined(IDEMGEN_USE_DNNL)
namespace {
/// Sets the oneDNN path on or off for one scope.
struct dnnl_scope {
  bool saved = backend::dnnl_conv::enabled();
  explicit dnnl_scope(bool on) { backend::dnnl_conv::set_enabled(on); }
  ~dnnl_scope() { backend::dnnl_conv::set_enabled(saved); }
};

struct conv_results {
  std::vector<float> y, grads, dx;
};

std::vector<float> values(be::const_view m) { return {m.data(), m.data() + m.size()}; }

/// ‖a − b‖ / ‖b‖.
double relative_difference(const std::vector<float>& a, const std::vector<float>& b) {
  double diff = 0, norm = 0;
  for (std::size_t i = 0; i < b.size(); ++i) {
    diff += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
    norm += double(b[i]) * b[i];
  }
  return std::sqrt(diff / std::max(norm, 1e-30));
}

/// One forward and backward of `conv` at `params` on x (the cache reused, as a
/// network does).
conv_results run(const nn::conv2d<be>& conv, const be::matrix& params, const be::matrix& x, const be::matrix& dy,
                 typename nn::conv2d<be>::cache& c) {
  conv_results r;
  r.y = values(conv.forward(params.data(), x, c));
  be::matrix grads(params.rows(), 1), dx(x.rows(), x.cols());
  be::fill(grads, 0.0f);
  conv.backward(params.data(), c, dy, grads.data(), dx);
  r.grads = values(grads);
  r.dx = values(dx);
  return r;
}

void check_close(const conv_results& a, const conv_results& b) {
  CHECK(a.y.size() == b.y.size());
  CHECK(relative_difference(a.y, b.y) < 2e-6);
  CHECK(relative_difference(a.grads, b.grads) < 2e-6);
  CHECK(relative_difference(a.dx, b.dx) < 2e-6);
}
}  // namespace

TEST_CASE(
    "conv2d on oneDNN: output and gradients equal the im2col path's in "
    "float, stride 1 and 2, any batch",
    "[conv][dnnl]") {
  const nn::conv2d_shape shapes[] = {
      {.in_channels = 16, .height = 9, .width = 7, .out_channels = 32, .kernel = 3, .stride = 1, .padding = 1},
      {.in_channels = 16, .height = 8, .width = 8, .out_channels = 16, .kernel = 4, .stride = 2, .padding = 1},
      {.in_channels = 32, .height = 5, .width = 6, .out_channels = 16, .kernel = 3, .stride = 1, .padding = 0}};
  for (const auto& shape : shapes) {
    for (auto kind : {nn::activation::identity, nn::activation::silu}) {
      CAPTURE(shape.in_channels, shape.out_channels, shape.kernel, shape.stride, shape.padding, nn::to_string(kind));
      nn::parameter_layout layout;
      nn::conv2d<be> conv(layout, "c", shape, {kind, 0.2});
      be::matrix params(layout.size(), 1);
      random_stream rng(4);
      conv.initialize(params, rng);
      typename nn::conv2d<be>::cache on, off;
      for (index_t batch : {3, 5, 3}) {  // a new batch size makes a new plan; the old size again
        be::matrix x(shape.in_dim(), batch), dy(shape.out_dim(), batch);
        be::fill_normal(x, rng);
        be::fill_normal(dy, rng);
        const conv_results reference = [&] {
          dnnl_scope path(false);
          return run(conv, params, x, dy, off);
        }();
        const conv_results direct = [&] {
          dnnl_scope path(true);
          return run(conv, params, x, dy, on);
        }();
        const auto* plan = on.direct.get(shape, batch);
        REQUIRE(plan != nullptr);  // the oneDNN path did run
        check_close(direct, reference);
        {
          dnnl_scope path(true);
          check_close(run(conv, params, x, dy, on), direct);  // the same plan again: the same values
        }
        CHECK(on.direct.get(shape, batch) == plan);
        be::scale(params, 0.9f);  // the next round reorders updated weights
      }
    }
  }
}

TEST_CASE(
    "conv2d on oneDNN: a plan made inside a parallel region (a batch "
    "shard) computes the same",
    "[conv][dnnl]") {
  const nn::conv2d_shape shape{
      .in_channels = 16, .height = 6, .width = 6, .out_channels = 16, .kernel = 3, .stride = 1, .padding = 1};
  nn::parameter_layout layout;
  nn::conv2d<be> conv(layout, "c", shape, {nn::activation::silu});
  be::matrix params(layout.size(), 1);
  random_stream rng(6);
  conv.initialize(params, rng);
  be::matrix x(shape.in_dim(), 4), dy(shape.out_dim(), 4);
  be::fill_normal(x, rng);
  be::fill_normal(dy, rng);
  typename nn::conv2d<be>::cache alone;
  const conv_results reference = run(conv, params, x, dy, alone);
  const int saved = be::num_threads();
  be::set_num_threads(2);
  std::vector<conv_results> shard(2);
  std::vector<typename nn::conv2d<be>::cache> caches(2);
#if defined(_OPENMP)
#pragma omp parallel for num_threads(2)
#endif
  for (int t = 0; t < 2; ++t)
    shard[static_cast<std::size_t>(t)] = run(conv, params, x, dy, caches[static_cast<std::size_t>(t)]);
  be::set_num_threads(saved);
  for (const auto& r : shard) check_close(r, reference);
}

TEST_CASE("conv2d: backward takes the path its forward took, when the path is switched between them",
          "[conv][dnnl]") {
  const nn::conv2d_shape shape{
      .in_channels = 16, .height = 6, .width = 6, .out_channels = 16, .kernel = 3, .stride = 1, .padding = 1};
  nn::parameter_layout layout;
  nn::conv2d<be> conv(layout, "c", shape);
  be::matrix params(layout.size(), 1), x(shape.in_dim(), 2), dy(shape.out_dim(), 2);
  random_stream rng(5);
  conv.initialize(params, rng);
  be::fill_normal(x, rng);
  be::fill_normal(dy, rng);
  for (const bool forward_on_dnnl : {true, false}) {
    CAPTURE(forward_on_dnnl);
    typename nn::conv2d<be>::cache same, switched;
    const conv_results reference = [&] {
      dnnl_scope path(forward_on_dnnl);
      return run(conv, params, x, dy, same);
    }();
    conv_results r;
    {
      dnnl_scope path(forward_on_dnnl);
      r.y = values(conv.forward(params.data(), x, switched));
    }
    dnnl_scope path(!forward_on_dnnl);
    be::matrix grads(params.rows(), 1), dx(x.rows(), x.cols());
    be::fill(grads, 0.0f);
    conv.backward(params.data(), switched, dy, grads.data(), dx);
    r.grads = values(grads);
    r.dx = values(dx);
    CHECK(r.grads == reference.grads);  // the same path: the same bits
    CHECK(r.dx == reference.dx);
  }
}

TEST_CASE(
    "conv2d on oneDNN: taken at 16 channels and more on both sides, and "
    "never with IDEMGEN_CONV=im2col",
    "[conv][dnnl]") {
  using backend::dnnl_conv::applies;
  using backend::dnnl_conv::geometry;
  dnnl_scope path(true);
  CHECK(applies(
      geometry{.batch = 2, .in_channels = 16, .height = 8, .width = 8, .out_channels = 16, .kernel = 3, .padding = 1}));
  CHECK_FALSE(applies(
      geometry{.batch = 2, .in_channels = 1, .height = 8, .width = 8, .out_channels = 32, .kernel = 3, .padding = 1}));
  CHECK_FALSE(applies(
      geometry{.batch = 2, .in_channels = 32, .height = 8, .width = 8, .out_channels = 1, .kernel = 3, .padding = 1}));
  backend::dnnl_conv::set_enabled(false);
  CHECK_FALSE(applies(
      geometry{.batch = 2, .in_channels = 16, .height = 8, .width = 8, .out_channels = 16, .kernel = 3, .padding = 1}));
  backend::dnnl_conv::slot slot;
  const nn::conv2d_shape shape{
      .in_channels = 16, .height = 8, .width = 8, .out_channels = 16, .kernel = 3, .stride = 1, .padding = 1};
  CHECK(slot.get(shape, 2) == nullptr);
  backend::dnnl_conv::set_enabled(true);
  CHECK(slot.get(shape, 2) != nullptr);
}
#endif

}  // namespace idemgen::test
