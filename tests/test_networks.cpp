// mlp, resmlp, conv_net and unet: gradients against finite differences (with and without conditioning), and
// stop-gradient routing.
#include <catch2/catch.hpp>

#include "support/gradcheck.hpp"
#include "support/routing.hpp"

namespace idemgen::test {

namespace {
constexpr double tolerance = 1e-6;

nn::mlp_options small_mlp(nn::activation act, index_t cond_dim) {
  return {.input_dim = 3, .output_dim = 2, .hidden = {6, 5}, .act = {act},
          .cond = {.dim = cond_dim, .kind = nn::embedding_kind::fourier, .fourier_scale = 1, .seed = 3}};
}
nn::resmlp_options small_resmlp(bool norm, index_t cond_dim) {
  return {.input_dim = 3, .output_dim = 2, .width = 6, .blocks = 2, .act = {nn::activation::silu},
          .layer_norm = norm, .cond = {.dim = cond_dim}};
}
}  // namespace

TEST_CASE("mlp: parameter and input gradients match finite differences", "[networks][gradcheck]") {
  for (auto act : {nn::activation::relu, nn::activation::silu, nn::activation::tanh}) {
    for (index_t cond_dim : {0, 4}) {
      CAPTURE(nn::to_string(act), cond_dim);
      nn::mlp<cpu> net(small_mlp(act, cond_dim), 1);
      matrix x = random_matrix(3, 7, 2);
      matrix cond = cond_dim > 0 ? random_matrix(1, 7, 3) : matrix();
      const auto r = check_network(net, x, cond, 4);
      CHECK(r.params < tolerance);
      CHECK(r.input < tolerance);
    }
  }
}

TEST_CASE("resmlp: parameter and input gradients match finite differences",
          "[networks][gradcheck]") {
  for (bool norm : {true, false}) {
    for (index_t cond_dim : {0, 4}) {
      CAPTURE(norm, cond_dim);
      nn::resmlp<cpu> net(small_resmlp(norm, cond_dim), 5);
      matrix x = random_matrix(3, 6, 6);
      matrix cond = cond_dim > 0 ? random_matrix(1, 6, 7) : matrix();
      const auto r = check_network(net, x, cond, 8);
      CHECK(r.params < tolerance);
      CHECK(r.input < tolerance);
    }
  }
}

TEST_CASE("conv_net: parameter and input gradients match finite differences", "[networks][gradcheck]") {
  const nn::conv_net_options shapes[] = {
      {.channels_in = 1, .height = 8, .width = 8, .channels = {4, 4, 6}, .groups = 2, .act = {nn::activation::silu}},
      {.channels_in = 3, .height = 4, .width = 6, .channels = {4, 6}, .groups = 2, .act = {nn::activation::silu}},
      {.channels_in = 2, .height = 3, .width = 3, .channels = {3}, .groups = 1, .act = {nn::activation::tanh}}};
  for (const auto& options : shapes) {
    CAPTURE(options.channels_in, options.height, options.width, options.channels.size());
    nn::conv_net<cpu> net(options, 9);
    matrix x = random_matrix(net.input_dim(), 3, 10);
    const auto r = check_network(net, x, matrix(), 11);
    CHECK(r.params < tolerance);
    CHECK(r.input < tolerance);
  }
}

TEST_CASE("conv_net: maps images to images of the same shape, each image independently of the batch", "[networks]") {
  nn::conv_net<cpu> net({.channels_in = 1, .height = 28, .width = 28, .channels = {8, 16, 16}, .groups = 4}, 1);
  CHECK(net.output_dim() == 784);
  const matrix x = random_matrix(784, 5, 2);
  const matrix all = eval(net, x);
  const matrix third = eval(net, cpu::const_view(x).columns(2, 1));
  for (index_t i = 0; i < 784; ++i) CHECK(third(i, 0) == Approx(all(i, 2)).margin(1e-12));
  CHECK_THROWS_AS(nn::conv_net<cpu>({.height = 30, .width = 28, .channels = {8, 8, 8}}, 1), invalid_argument);
  CHECK_THAT(net.describe(), Catch::Contains(R"("type": "conv_net")"));
}

namespace {
nn::unet_options small_unet(index_t channels_in, index_t height, index_t width, std::vector<index_t> widths,
                            index_t groups) {
  return {.channels_in = channels_in, .height = height, .width = width, .channels = std::move(widths),
          .groups = groups, .embedding_width = 5,
          .cond = {.dim = 4, .kind = nn::embedding_kind::fourier, .fourier_scale = 1, .seed = 3}};
}
}  // namespace

TEST_CASE("unet: parameter and input gradients match finite differences", "[networks][gradcheck]") {
  // Two levels (identity and 1x1-conv skips, both joins), one level at an odd size after halving,
  // and no level at all (stem, middle block, head).
  const nn::unet_options shapes[] = {small_unet(1, 8, 8, {4, 4, 6}, 2), small_unet(3, 4, 6, {4, 6}, 2),
                                     small_unet(2, 3, 3, {3}, 1)};
  for (const auto& options : shapes) {
    CAPTURE(options.channels_in, options.height, options.width, options.channels.size());
    nn::unet<cpu> net(options, 9);
    matrix x = random_matrix(net.input_dim(), 3, 10);
    const matrix cond = random_matrix(1, 3, 12);
    const auto r = check_network(net, x, cond, 11);
    CHECK(r.params < tolerance);
    CHECK(r.input < tolerance);
  }
}

TEST_CASE("unet: each image independently of the batch, steered by its own conditioning value", "[networks]") {
  nn::unet<cpu> net(small_unet(1, 8, 8, {4, 8}, 2), 1);
  const matrix x = random_matrix(64, 9, 2), cond = random_matrix(1, 9, 3);
  const matrix all = eval(net, x, cond);  // 9 columns: split over the threads
  const matrix third = eval(net, cpu::const_view(x).columns(2, 1), cpu::const_view(cond).columns(2, 1));
  for (index_t i = 0; i < 64; ++i) CHECK(third(i, 0) == Approx(all(i, 2)).margin(1e-12));
  const matrix other = eval(net, cpu::const_view(x).columns(2, 1), cpu::const_view(cond).columns(3, 1));
  double diff = 0;
  for (index_t i = 0; i < 64; ++i) diff += std::abs(other(i, 0) - third(i, 0));
  CHECK(diff > 1e-4);
  nn::unet<cpu>::cache c;
  CHECK_THROWS_AS(net.forward(x, cpu::const_view{}, c), shape_error);  // the conditioning row is required
  CHECK_THROWS_AS(nn::unet<cpu>(small_unet(1, 6, 8, {4, 4, 4}, 2), 1), invalid_argument);  // 6 is not divisible by 4
  CHECK_THROWS_AS(nn::unet<cpu>(small_unet(1, 8, 8, {4, 6}, 4), 1), invalid_argument);     // 6 channels in 4 groups
  CHECK_THAT(net.describe(), Catch::Contains(R"("type": "unet")"));
}

TEST_CASE("unet without conditioning (cond.dim 0): gradients match finite differences, no conditioning row", "[networks][gradcheck]") {
  nn::unet_options options = small_unet(1, 8, 8, {4, 4, 6}, 2);
  options.cond.dim = 0;
  nn::unet<cpu> net(options, 9);
  CHECK(net.cond_rows() == 0);
  // The conditioned U-Net less the embedding MLP (4·5 + 5 + 5·5 + 5) and each block's P (5·c + c).
  const nn::unet<cpu> conditioned(small_unet(1, 8, 8, {4, 4, 6}, 2), 9);
  const index_t blocks_p = (5 * 4 + 4) * 2 + (5 * 4 + 4) * 2 + (5 * 6 + 6);  // down/up at c 4 and 4, middle at 6
  CHECK(net.parameter_count() == conditioned.parameter_count() - (4 * 5 + 5 + 5 * 5 + 5) - blocks_p);
  matrix x = random_matrix(net.input_dim(), 3, 10);
  const auto r = check_network(net, x, matrix(), 11);
  CHECK(r.params < tolerance);
  CHECK(r.input < tolerance);
  nn::unet<cpu>::cache c;
  CHECK_THROWS_AS(net.forward(x, random_matrix(1, 3, 12), c), shape_error);  // no row to take
  matrix dy = random_matrix(net.input_dim(), 3, 2);
  net.forward(x, c);
  check_stop_gradient_routing(net, c, dy, 3);
}

TEST_CASE("unet: backward with grads == nullptr routes dx and touches no gradient", "[networks][routing]") {
  nn::unet<cpu> net(small_unet(1, 4, 4, {4, 4}, 2), 5);
  matrix x = random_matrix(16, 3, 1), cond = random_matrix(1, 3, 4), dy = random_matrix(16, 3, 2);
  nn::unet<cpu>::cache c;
  net.forward(x, cond, c);
  check_stop_gradient_routing(net, c, dy, 3);
}

TEST_CASE("the conditioning row changes the output of a conditioned network", "[networks]") {
  nn::mlp<cpu> net(small_mlp(nn::activation::silu, 4), 1);
  matrix x = random_matrix(3, 2, 2), c1(1, 2), c2(1, 2);
  cpu::fill(c1, 0.1);
  cpu::fill(c2, 0.9);
  nn::mlp<cpu>::cache a, b;
  const auto ya = net.forward(x, c1, a);
  const auto yb = net.forward(x, c2, b);
  double diff = 0;
  for (index_t e = 0; e < ya.size(); ++e) diff += std::abs(ya[e] - yb[e]);
  CHECK(diff > 1e-3);
}

TEST_CASE("backward with grads == nullptr returns the same dx and touches no gradient",
          "[networks][routing]") {
  nn::resmlp<cpu> net(small_resmlp(true, 0), 9);
  matrix x = random_matrix(3, 5, 1), dy = random_matrix(2, 5, 2);
  nn::resmlp<cpu>::cache c;
  net.forward(x, {}, c);
  check_stop_gradient_routing(net, c, dy, 3);
}

TEST_CASE("two calls in one step accumulate exactly the sum of their separate gradients",
          "[networks][routing]") {
  nn::mlp<cpu> net(small_mlp(nn::activation::tanh, 0), 11);
  matrix x1 = random_matrix(3, 4, 1), x2 = random_matrix(3, 6, 2);
  matrix dy1 = random_matrix(2, 4, 3), dy2 = random_matrix(2, 6, 4);
  nn::mlp<cpu>::cache c1, c2;
  const index_t p = net.parameter_count();
  matrix g1(p, 1), g2(p, 1);
  // Separately: each into a fresh buffer.
  cpu::fill(g1, 0.0);
  cpu::fill(g2, 0.0);
  net.forward(x1, c1);
  net.backward(c1, dy1, g1);
  net.forward(x2, c2);
  net.backward(c2, dy2, g2);
  // Together: two caches alive at once, both forwards before both backwards, one buffer.
  net.zero_grad();
  net.forward(x1, c1);
  net.forward(x2, c2);
  net.backward(c2, dy2, net.gradients());
  net.backward(c1, dy1, net.gradients());
  for (index_t k = 0; k < p; ++k) CHECK(net.gradients()[k] == Approx(g1(k, 0) + g2(k, 0)).epsilon(1e-13));
}

TEST_CASE("a composed call f(f(x)) differentiates through both calls (chain rule)",
          "[networks][routing]") {
  // L = Σ w ⊙ f(f(x)), inner call trained, outer call frozen: the IGN idempotence routing.
  nn::mlp<cpu> net({.input_dim = 2, .output_dim = 2, .hidden = {5}, .act = {nn::activation::tanh}}, 3);
  matrix x = random_matrix(2, 4, 1), w = random_matrix(2, 4, 2);
  nn::mlp<cpu>::cache inner, outer;
  net.zero_grad();
  const auto u = net.forward(x, inner);
  net.forward(u, outer);
  const auto du = net.backward(outer, w, nullptr);
  net.backward(inner, du, net.gradients());
  // Reference: θ appears twice; perturb only the inner call's copy.
  nn::mlp<cpu> frozen = net;  // the outer call keeps the unperturbed θ
  const auto loss = [&] {
    nn::mlp<cpu>::cache a, b;
    return weighted_sum(w, frozen.forward(net.forward(x, a), b));
  };
  const auto num = numerical_gradient(loss, net.parameters().data(), net.parameter_count());
  CHECK(relative_error(net.gradients().data(), num) < tolerance);
}

}  // namespace idemgen::test
