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

TEST_CASE("activation_layer: gradients match finite differences", "[layers][gradcheck]") {
  for (auto kind : {nn::activation::relu, nn::activation::silu, nn::activation::gelu,
                    nn::activation::sigmoid}) {
    CAPTURE(nn::to_string(kind));
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
