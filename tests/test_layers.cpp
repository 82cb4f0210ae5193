// Every layer's input and parameter gradients equal central finite differences in double.
#include <catch2/catch.hpp>

#include "support/gradcheck.hpp"

namespace idemgen::test {

namespace {
constexpr double tolerance = 1e-6;

struct layer_check {
  double params, input;
};

// L = Σ w ⊙ layer(x); `forward(params, x)` returns the output view; `backward(params, dy,
// grads, dx)` runs the layer's backward.
template <class Forward, class Backward>
layer_check check_layer(index_t n_params, matrix& params, matrix& x, Forward forward,
                        Backward backward) {
  const auto y = forward(params.data(), x);
  const matrix w = random_matrix(y.rows(), y.cols(), 99);
  matrix grads(std::max<index_t>(n_params, 1), 1), dx(x.rows(), x.cols());
  cpu::fill(grads, 0.0);
  forward(params.data(), x);
  backward(params.data(), w, grads.data(), dx);
  const auto loss = [&] { return weighted_sum(w, forward(params.data(), x)); };
  layer_check r{0, 0};
  if (n_params > 0)
    r.params = relative_error(grads.data(), numerical_gradient(loss, params.data(), n_params));
  r.input = relative_error(dx.data(), numerical_gradient(loss, x.data(), x.size()));
  return r;
}
}  // namespace

TEST_CASE("dense: gradients match finite differences for every activation, with side input",
          "[layers][gradcheck]") {
  const nn::activation kinds[] = {nn::activation::identity, nn::activation::relu,
                                  nn::activation::leaky_relu, nn::activation::silu,
                                  nn::activation::gelu, nn::activation::tanh,
                                  nn::activation::sigmoid};
  for (index_t side_dim : {0, 3}) {
    for (auto kind : kinds) {
      CAPTURE(nn::to_string(kind), side_dim);
      nn::parameter_layout layout;
      nn::dense<cpu> layer(layout, "l", 4, 5, {kind, 0.1}, side_dim);
      matrix params(layout.size(), 1);
      random_stream rng(1);
      layer.initialize(params, rng);
      matrix x = random_matrix(4, 6, 2), side = random_matrix(side_dim, 6, 3);
      typename nn::dense<cpu>::cache c;
      const auto r = check_layer(
          layout.size(), params, x,
          [&](const double* p, const matrix& in) {
            return layer.forward(p, in, side_dim > 0 ? cpu::const_view(side) : cpu::const_view{}, c);
          },
          [&](const double* p, const matrix& dy, double* g, matrix& dx) {
            layer.backward(p, c, dy, g, dx);
          });
      CHECK(r.params < tolerance);
      CHECK(r.input < tolerance);
    }
  }
}

TEST_CASE("dense: side-input weights get the gradient of concatenating x and s", "[layers]") {
  // dense(x, s) with weights [W V] equals dense([x; s]) with the concatenated weight matrix.
  nn::parameter_layout la, lb;
  nn::dense<cpu> split(la, "a", 2, 3, {nn::activation::tanh}, 2);
  nn::dense<cpu> joint(lb, "b", 4, 3, {nn::activation::tanh});
  matrix pa(la.size(), 1);
  random_stream rng(4);
  split.initialize(pa, rng);
  matrix pb(lb.size(), 1);  // W (3×2), V (3×2), b (3) → [W V] (3×4), b
  std::copy_n(pa.data(), 15, pb.data());
  matrix x = random_matrix(2, 5, 5), s = random_matrix(2, 5, 6), xs(4, 5);
  for (index_t j = 0; j < 5; ++j)
    for (index_t i = 0; i < 2; ++i) xs(i, j) = x(i, j), xs(i + 2, j) = s(i, j);
  typename nn::dense<cpu>::cache ca, cb;
  const auto ya = split.forward(pa.data(), x, s, ca);
  const auto yb = joint.forward(pb.data(), xs, {}, cb);
  for (index_t e = 0; e < ya.size(); ++e) CHECK(ya[e] == Approx(yb[e]).epsilon(1e-14));
}

TEST_CASE("layer_norm: gradients match finite differences", "[layers][gradcheck]") {
  nn::parameter_layout layout;
  nn::layer_norm<cpu> norm(layout, "n", 5);
  matrix params = random_matrix(layout.size(), 1, 7);  // non-trivial γ, β
  matrix x = random_matrix(5, 4, 8, 2.0);
  typename nn::layer_norm<cpu>::cache c;
  const auto r = check_layer(
      layout.size(), params, x,
      [&](const double* p, const matrix& in) { return norm.forward(p, in, c); },
      [&](const double* p, const matrix& dy, double* g, matrix& dx) { norm.backward(p, c, dy, g, dx); });
  CHECK(r.params < tolerance);
  CHECK(r.input < tolerance);
}

TEST_CASE("layer_norm: each output column has mean β and standard deviation |γ| at init",
          "[layers]") {
  nn::parameter_layout layout;
  nn::layer_norm<cpu> norm(layout, "n", 64);
  matrix params(layout.size(), 1);
  random_stream rng(0);
  norm.initialize(params, rng);
  matrix x = random_matrix(64, 3, 9, 5.0);
  typename nn::layer_norm<cpu>::cache c;
  const auto y = norm.forward(params.data(), x, c);
  for (index_t j = 0; j < 3; ++j) {
    double m = 0, v = 0;
    for (index_t i = 0; i < 64; ++i) m += y(i, j);
    m /= 64;
    for (index_t i = 0; i < 64; ++i) v += (y(i, j) - m) * (y(i, j) - m);
    CHECK(std::abs(m) < 1e-12);
    CHECK(v / 64 == Approx(1.0).epsilon(1e-4));  // ε = 1e-5 in the denominator
  }
}

TEST_CASE("conv2d: gradients match finite differences with stride, padding and activations", "[layers][gradcheck]") {
  const nn::conv2d_shape shapes[] = {
      {.in_channels = 2, .height = 5, .width = 4, .out_channels = 3, .kernel = 3, .stride = 1, .padding = 1},
      {.in_channels = 1, .height = 6, .width = 7, .out_channels = 2, .kernel = 3, .stride = 2, .padding = 1},
      {.in_channels = 3, .height = 4, .width = 4, .out_channels = 2, .kernel = 2, .stride = 2, .padding = 0}};
  for (const auto& shape : shapes) {
    for (auto kind : {nn::activation::identity, nn::activation::silu, nn::activation::leaky_relu}) {
      CAPTURE(shape.kernel, shape.stride, shape.padding, nn::to_string(kind));
      nn::parameter_layout layout;
      nn::conv2d<cpu> conv(layout, "c", shape, {kind, 0.2});
      matrix params(layout.size(), 1);
      random_stream rng(4);
      conv.initialize(params, rng);
      matrix x = random_matrix(shape.in_dim(), 3, 5);
      typename nn::conv2d<cpu>::cache c;
      const auto r = check_layer(
          layout.size(), params, x, [&](const double* p, const matrix& in) { return conv.forward(p, in, c); },
          [&](const double* p, const matrix& dy, double* g, matrix& dx) { conv.backward(p, c, dy, g, dx); });
      CHECK(r.params < tolerance);
      CHECK(r.input < tolerance);
    }
  }
}

TEST_CASE("conv2d: the output is PyTorch's cross-correlation, CHW, with the weight as [O, C*k*k]", "[layers]") {
  const nn::conv2d_shape shape{.in_channels = 2, .height = 7, .width = 6, .out_channels = 3, .kernel = 3, .stride = 2, .padding = 1};
  nn::parameter_layout layout;
  nn::conv2d<cpu> conv(layout, "c", shape);
  REQUIRE(layout.blocks()[0].rows == 3);  // [O, C·k·k], as a dense layer's [out, in]
  REQUIRE(layout.blocks()[0].cols == 2 * 3 * 3);
  matrix params = random_matrix(layout.size(), 1, 1);
  matrix x = random_matrix(shape.in_dim(), 2, 2);
  typename nn::conv2d<cpu>::cache c;
  const auto y = conv.forward(params.data(), x, c);
  REQUIRE(shape.out_height() == 4);
  REQUIRE(shape.out_width() == 3);
  const double* weight = params.data();  // O × (C·k·k), column-major
  const double* bias = params.data() + 3 * 2 * 9;
  for (index_t j = 0; j < 2; ++j)
    for (index_t o = 0; o < 3; ++o)
      for (index_t oy = 0; oy < 4; ++oy)
        for (index_t ox = 0; ox < 3; ++ox) {
          double expected = bias[o];
          for (index_t ch = 0; ch < 2; ++ch)
            for (index_t ky = 0; ky < 3; ++ky)
              for (index_t kx = 0; kx < 3; ++kx) {
                const index_t iy = 2 * oy - 1 + ky, ix = 2 * ox - 1 + kx;
                if (iy < 0 || iy >= 7 || ix < 0 || ix >= 6) continue;
                expected += weight[o + 3 * ((ch * 3 + ky) * 3 + kx)] * x((ch * 7 + iy) * 6 + ix, j);
              }
          CHECK(y((o * 4 + oy) * 3 + ox, j) == Approx(expected).margin(1e-13));
        }
  CHECK_THROWS_AS(conv.forward(params.data(), random_matrix(5, 2, 3), c), shape_error);
  nn::parameter_layout other;
  CHECK_THROWS_AS(nn::conv2d<cpu>(other, "bad", {.in_channels = 1, .height = 2, .width = 2, .kernel = 5, .padding = 1}),
                  invalid_argument);
}

TEST_CASE("conv2d: backward before forward, or with another batch than forward's, raises shape_error", "[conv]") {
  const nn::conv2d_shape shape{
      .in_channels = 16, .height = 4, .width = 4, .out_channels = 16, .kernel = 3, .stride = 1, .padding = 1};
  nn::parameter_layout layout;
  nn::conv2d<cpu> conv(layout, "c", shape);
  cpu::matrix params(layout.size(), 1), x(shape.in_dim(), 3), dy(shape.out_dim(), 3), dx(shape.in_dim(), 3),
      other_dy(shape.out_dim(), 2);
  random_stream rng(6);
  conv.initialize(params, rng);
  cpu::fill_normal(x, rng);
  cpu::fill_normal(dy, rng);
  cpu::matrix grads(params.rows(), 1);
  typename nn::conv2d<cpu>::cache c;
  CHECK_THROWS_AS(conv.backward(params.data(), c, dy, grads.data(), dx), shape_error);
  conv.forward(params.data(), x, c);
  CHECK_THROWS_AS(conv.backward(params.data(), c, other_dy, grads.data(), dx), shape_error);
  CHECK_NOTHROW(conv.backward(params.data(), c, dy, grads.data(), dx));
}

namespace {
/// Finite differences for a group norm of `channels` × `positions` in `groups`, followed by `act`.
void check_group_norm_gradients(index_t channels, index_t positions, index_t groups, nn::activation_spec act) {
  nn::parameter_layout layout;
  nn::group_norm<cpu> norm(layout, "g", channels, positions, groups, act);
  matrix params = random_matrix(layout.size(), 1, 7);  // non-trivial γ, β
  matrix x = random_matrix(channels * positions, 3, 8, 2.0);
  typename nn::group_norm<cpu>::cache c;
  const auto r = check_layer(
      layout.size(), params, x, [&](const double* p, const matrix& in) { return norm.forward(p, in, c); },
      [&](const double* p, const matrix& dy, double* g, matrix& dx) { norm.backward(p, c, dy, g, dx); });
  CHECK(r.params < tolerance);
  CHECK(r.input < tolerance);
}
}  // namespace

TEST_CASE("group_norm: gradients match finite differences", "[layers][gradcheck]") {
  for (index_t groups : {1, 2, 4}) {
    CAPTURE(groups);
    check_group_norm_gradients(4, 3, groups, {nn::activation::identity});  // 4 channels of 3 positions
  }
}

TEST_CASE("group_norm with an activation: gradients match finite differences", "[layers][gradcheck]") {
  for (const nn::activation kind : {nn::activation::silu, nn::activation::leaky_relu, nn::activation::tanh}) {
    const std::string name(nn::to_string(kind));
    CAPTURE(name);
    check_group_norm_gradients(4, 6, 2, {kind, 0.2});
  }
}

namespace {
// The fused layer against group norm, then activation_layer: forward, dx and dθ, and dθ alone
// (backward without dx takes the scratch-buffer path).
template <class Backend>
void check_fused_norm_activation(nn::activation kind, double tolerance_) {
  using S = typename Backend::scalar;
  using M = typename Backend::matrix;
  const index_t channels = 8, positions = 20, groups = 4, n = 3, d = channels * positions;
  nn::parameter_layout fused_layout, plain_layout;
  const nn::activation_spec spec{kind, 0.2};
  nn::group_norm<Backend> fused(fused_layout, "g", channels, positions, groups, spec);
  nn::group_norm<Backend> plain(plain_layout, "g", channels, positions, groups);
  nn::activation_layer<Backend> activation(spec);
  const matrix params64 = random_matrix(fused_layout.size(), 1, 21), x64 = random_matrix(d, n, 22, 3.0),
               dy64 = random_matrix(d, n, 23);
  M params(params64.rows(), 1), x(d, n), dy(d, n);
  for (index_t i = 0; i < params.size(); ++i) params.data()[i] = S(params64.data()[i]);
  for (index_t i = 0; i < x.size(); ++i) x.data()[i] = S(x64.data()[i]), dy.data()[i] = S(dy64.data()[i]);
  typename nn::group_norm<Backend>::cache fused_cache, plain_cache;
  typename nn::activation_layer<Backend>::cache activation_cache;
  const auto y_fused = fused.forward(params.data(), x, fused_cache);
  const auto y_plain = activation.forward(plain.forward(params.data(), x, plain_cache), activation_cache);
  M grads_fused(params.rows(), 1), grads_plain(params.rows(), 1), grads_only(params.rows(), 1), dx_fused(d, n),
      dx_plain(d, n), dz(d, n);
  for (M* m : {&grads_fused, &grads_plain, &grads_only}) Backend::fill(*m, S(0));
  fused.backward(params.data(), fused_cache, dy, grads_fused.data(), dx_fused);
  fused.backward(params.data(), fused_cache, dy, grads_only.data(), typename Backend::view{});
  activation.backward(activation_cache, dy, dz);
  plain.backward(params.data(), plain_cache, dz, grads_plain.data(), dx_plain);
  const auto relative = [](const auto& a, const auto& b) {
    double diff = 0, norm = 0;
    for (index_t i = 0; i < a.size(); ++i) {
      diff = std::max(diff, std::abs(double(a.data()[i]) - double(b.data()[i])));
      norm = std::max(norm, std::abs(double(b.data()[i])));
    }
    return diff / norm;
  };
  CHECK(relative(y_fused, y_plain) < tolerance_);
  CHECK(relative(dx_fused, dx_plain) < tolerance_);
  CHECK(relative(grads_fused, grads_plain) < tolerance_);
  CHECK(relative(grads_only, grads_plain) < tolerance_);
}
}  // namespace

TEST_CASE("group_norm with an activation equals group norm followed by activation_layer", "[layers]") {
  for (const nn::activation kind : {nn::activation::silu, nn::activation::leaky_relu, nn::activation::relu,
                                    nn::activation::gelu, nn::activation::tanh, nn::activation::sigmoid}) {
    const std::string name(nn::to_string(kind));
    CAPTURE(name);
    check_fused_norm_activation<backend::cpu<double>>(kind, 1e-13);
    check_fused_norm_activation<backend::cpu<float>>(kind, 1e-5);  // float SiLU: the backend's packet exp
  }
}

TEST_CASE("group_norm: each group of each image has mean 0 and variance 1 at init, independent of the batch", "[layers]") {
  nn::parameter_layout layout;
  nn::group_norm<cpu> norm(layout, "g", 6, 5, 3);
  matrix params(layout.size(), 1);
  random_stream rng(0);
  norm.initialize(params, rng);
  matrix x = random_matrix(30, 4, 9, 5.0);
  typename nn::group_norm<cpu>::cache c, single;
  const auto y = norm.forward(params.data(), x, c);
  for (index_t j = 0; j < 4; ++j)
    for (index_t g = 0; g < 3; ++g) {
      double m = 0, v = 0;
      for (index_t i = g * 10; i < g * 10 + 10; ++i) m += y(i, j);
      m /= 10;
      for (index_t i = g * 10; i < g * 10 + 10; ++i) v += (y(i, j) - m) * (y(i, j) - m);
      CHECK(std::abs(m) < 1e-12);
      CHECK(v / 10 == Approx(1.0).epsilon(1e-4));
    }
  const auto one = norm.forward(params.data(), cpu::const_view(x).columns(2, 1), single);
  for (index_t i = 0; i < 30; ++i) CHECK(one(i, 0) == y(i, 2));
  nn::parameter_layout other;
  CHECK_THROWS_AS(nn::group_norm<cpu>(other, "bad", 6, 5, 4), invalid_argument);
  typename nn::group_norm<cpu>::cache unused;  // backward before forward: no batch to match
  matrix dy = random_matrix(30, 4, 10), dx(30, 4);
  CHECK_THROWS_AS(norm.backward(params.data(), unused, dy, nullptr, dx), shape_error);
}

TEST_CASE("upsample_nearest: each pixel becomes an F x F block, and backward sums the block", "[layers][gradcheck]") {
  nn::upsample_nearest<cpu> up(2, 2, 3, 2);  // 2 channels of 2 x 3 -> 4 x 6
  matrix x = random_matrix(12, 2, 3);
  typename nn::upsample_nearest<cpu>::cache c;
  const auto y = up.forward(x, c);
  REQUIRE(y.rows() == 48);
  for (index_t j = 0; j < 2; ++j)
    for (index_t ch = 0; ch < 2; ++ch)
      for (index_t oy = 0; oy < 4; ++oy)
        for (index_t ox = 0; ox < 6; ++ox) CHECK(y((ch * 4 + oy) * 6 + ox, j) == x((ch * 2 + oy / 2) * 3 + ox / 2, j));
  matrix none(1, 1);
  const auto r = check_layer(
      0, none, x, [&](const double*, const matrix& in) { return up.forward(in, c); },
      [&](const double*, const matrix& dy, double*, matrix& dx) { up.backward(dy, dx); });
  CHECK(r.input < tolerance);
}

TEST_CASE("activation_layer: gradients match finite differences", "[layers][gradcheck]") {
  for (auto kind : {nn::activation::relu, nn::activation::silu, nn::activation::gelu,
                    nn::activation::sigmoid}) {
    const std::string name(nn::to_string(kind));
    CAPTURE(name);
    nn::activation_layer<cpu> act({kind});
    matrix none(1, 1);
    matrix x = random_matrix(3, 4, 10);
    typename nn::activation_layer<cpu>::cache c;
    const auto r = check_layer(
        0, none, x, [&](const double*, const matrix& in) { return act.forward(in, c); },
        [&](const double*, const matrix& dy, double*, matrix& dx) { act.backward(c, dy, dx); });
    CHECK(r.input < tolerance);
  }
}

TEST_CASE("noise_embedding: positional features are cos/sin of geometric frequencies",
          "[layers]") {
  nn::noise_embedding<cpu> emb({.dim = 4, .kind = nn::embedding_kind::positional, .max_period = 100});
  matrix c(1, 2), out(4, 2);
  c(0, 0) = 0.5;
  c(0, 1) = -2.0;
  emb.forward(c, out);
  for (index_t j = 0; j < 2; ++j) {
    CHECK(out(0, j) == Approx(std::cos(c(0, j))));
    CHECK(out(1, j) == Approx(std::cos(c(0, j) * 0.1)));  // 100^(-1/2)
    CHECK(out(2, j) == Approx(std::sin(c(0, j))));
    CHECK(out(3, j) == Approx(std::sin(c(0, j) * 0.1)));
  }
  CHECK_THROWS_AS(nn::noise_embedding<cpu>({.dim = 3}), invalid_argument);
}

}  // namespace idemgen::test

namespace idemgen::test {

TEST_CASE("activations never return a subnormal float (their arithmetic, and GEMMs over them, run slowly)",
          "[layers]") {
  const nn::act::silu silu;
  const nn::act::sigmoid sigmoid;
  const nn::act::gelu gelu;
  int subnormal = 0;
  for (float z = -200.0f; z <= 200.0f; z += 0.01f) {
    const float values[] = {silu.value(z), silu.derivative(z, silu.value(z)), sigmoid.value(z),
                            sigmoid.derivative(z, sigmoid.value(z)), gelu.value(z), gelu.derivative(z, gelu.value(z))};
    for (float v : values) subnormal += std::fpclassify(v) == FP_SUBNORMAL;
  }
  CHECK(subnormal == 0);
  // What the cutoff drops is below 1e-33: the values just above it are still the exact ones.
  const float z = nn::act::subnormal_cutoff<float>() + 0.5f;
  CHECK(silu.value(z) == Approx(z / (1 + std::exp(-static_cast<double>(z)))).epsilon(1e-5));
  CHECK(std::abs(silu.value(nn::act::subnormal_cutoff<float>() - 0.5f)) == 0.0f);
}

}  // namespace idemgen::test
