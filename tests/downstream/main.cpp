// Trains a tiny mlp for a few steps through the installed headers; exits 0 when the loss fell.
#include <idemgen/idemgen.hpp>

#include <cstdio>

int main() {
  using be = idemgen::backend::cpu<float>;
  idemgen::nn::mlp<be> f({.input_dim = 2, .output_dim = 2, .hidden = {16}}, 1);
  idemgen::optim::adam<be> opt({.lr = 1e-2});
  be::matrix x(2, 64), dy(2, 64);
  idemgen::random_stream rng(2);
  be::fill_normal(x, rng);
  idemgen::nn::mlp<be>::cache c;
  double first = 0, last = 0;
  for (int step = 0; step < 50; ++step) {
    const auto y = f.forward(x, c);
    double loss = 0;  // ‖f(x) − x‖² / n: learn the identity
    for (idemgen::index_t e = 0; e < y.size(); ++e) {
      dy.data()[e] = 2 * (y[e] - x.data()[e]) / 64;
      loss += (y[e] - x.data()[e]) * (y[e] - x.data()[e]) / 64;
    }
    (step == 0 ? first : last) = loss;
    f.zero_grad();
    f.backward(c, dy, f.gradients());
    opt.step(f.parameters(), f.gradients());
  }
  std::printf("downstream: loss %.4f -> %.4f\n", first, last);
  return last < 0.5 * first ? 0 : 1;
}
