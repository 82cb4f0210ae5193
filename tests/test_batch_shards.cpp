// Batch shards (nn/batch_shards.hpp): a pass split over two threads computes what the unsplit
// pass computes — outputs, input gradients, parameter gradients — up to rounding, keeps the
// routing rules, and matches finite differences. CTest runs tests on one thread; these set two.
#include <catch2/catch.hpp>

#include "support/gradcheck.hpp"
#include "support/routing.hpp"

namespace idemgen::test {

namespace {
struct pass {
  matrix y, dx, grads;
  int shards = 0;
};

/// Forward and backward on `threads` threads from zero gradients.
template <class Net>
pass run(Net& net, const matrix& x, const matrix& cond, const matrix& dy, int threads) {
  threads_scope scope(threads);
  typename Net::cache c;
  pass p;
  const auto y = net.forward(x, cond, c);
  p.shards = c.shards.count;
  p.y = matrix(y.rows(), y.cols());
  cpu::copy(y, p.y);
  net.zero_grad();
  const auto dx = net.backward(c, dy, net.gradients());
  p.dx = matrix(dx.rows(), dx.cols());
  cpu::copy(dx, p.dx);
  p.grads = matrix(net.parameter_count(), 1);
  cpu::copy(net.gradients(), p.grads);
  return p;
}

double max_relative_difference(const matrix& a, const matrix& b) {
  double worst = 0, scale = 0;
  for (index_t e = 0; e < a.size(); ++e) {
    worst = std::max(worst, std::abs(a.data()[e] - b.data()[e]));
    scale = std::max(scale, std::abs(a.data()[e]));
  }
  return worst / std::max(scale, 1e-300);
}

template <class Net>
void check_split_equals_unsplit(Net& net, index_t batch) {
  const matrix x = random_matrix(net.input_dim(), batch, 21);
  const matrix cond = net.cond_rows() > 0 ? random_matrix(1, batch, 22) : matrix();
  const matrix dy = random_matrix(net.output_dim(), batch, 23);
  const pass one = run(net, x, cond, dy, 1), two = run(net, x, cond, dy, 2);
  CHECK(one.shards == 0);
  REQUIRE(two.shards == 2);  // the pass really was split
  CHECK(max_relative_difference(one.y, two.y) < 1e-13);
  CHECK(max_relative_difference(one.dx, two.dx) < 1e-13);
  CHECK(max_relative_difference(one.grads, two.grads) < 1e-12);
}
}  // namespace

TEST_CASE("a batch split over two threads gives the unsplit pass's outputs and gradients",
          "[networks][shards]") {
  // 203 columns: shards of 101 and 102, both above the 64-column minimum.
  nn::mlp<cpu> mlp({.input_dim = 3, .output_dim = 2, .hidden = {20, 17}, .act = {nn::activation::relu},
                    .cond = {.dim = 8}},
                   1);
  check_split_equals_unsplit(mlp, 203);
  nn::resmlp<cpu> resmlp({.input_dim = 3, .output_dim = 3, .width = 16, .blocks = 2,
                          .act = {nn::activation::silu}, .layer_norm = true, .cond = {.dim = 8}},
                         2);
  check_split_equals_unsplit(resmlp, 203);
}

TEST_CASE("a batch below two shards of 64 columns is not split", "[networks][shards]") {
  threads_scope scope(2);
  nn::mlp<cpu> net({.input_dim = 2, .output_dim = 2, .hidden = {8}}, 1);
  nn::mlp<cpu>::cache c;
  net.forward(random_matrix(2, 127, 1), c);
  CHECK(c.shards.count == 0);
  net.forward(random_matrix(2, 128, 1), c);
  CHECK(c.shards.count == 2);
}

TEST_CASE("split passes match finite differences and keep the routing rules",
          "[networks][shards][gradcheck]") {
  threads_scope scope(2);
  nn::mlp<cpu> net({.input_dim = 3, .output_dim = 2, .hidden = {6, 5}, .act = {nn::activation::tanh},
                    .cond = {.dim = 4}},
                   3);
  matrix x = random_matrix(3, 130, 4);
  const matrix cond = random_matrix(1, 130, 5);
  const auto r = check_network(net, x, cond, 6);
  CHECK(r.params < 1e-6);
  CHECK(r.input < 1e-6);

  // Stop-gradient routing: grads == nullptr leaves every gradient as it was, same dx.
  const matrix dy = random_matrix(2, 130, 7);
  nn::mlp<cpu>::cache c;
  net.forward(x, cond, c);
  REQUIRE(c.shards.count == 2);
  check_stop_gradient_routing(net, c, dy, 8);

  // Two split calls accumulate exactly the sum of their separate gradients.
  matrix g1(net.parameter_count(), 1), g2(net.parameter_count(), 1);
  nn::mlp<cpu>::cache c2;
  const matrix x2 = random_matrix(3, 150, 9), cond2 = random_matrix(1, 150, 10),
               dy2 = random_matrix(2, 150, 11);
  cpu::fill(g1, 0.0);
  cpu::fill(g2, 0.0);
  net.forward(x, cond, c);
  net.backward(c, dy, g1);
  net.forward(x2, cond2, c2);
  net.backward(c2, dy2, g2);
  net.zero_grad();
  net.forward(x, cond, c);
  net.forward(x2, cond2, c2);
  net.backward(c2, dy2, net.gradients());
  net.backward(c, dy, net.gradients());
  for (index_t k = 0; k < net.parameter_count(); ++k) CHECK(net.gradients()[k] == g1(k, 0) + g2(k, 0));
}

}  // namespace idemgen::test
