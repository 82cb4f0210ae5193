// Must not compile: CDM's consistency term under a metric other than squared l2 (its two-chain
// estimator is an inner product: the unbiased estimate of a squared l2 distance only).
// CHECK-COMPILE-ERROR: the model's metric must be metric::squared_l2
#include "idemgen/idemgen.hpp"
#include "idemgen/models/diffusion.hpp"

int main() {
  using be = idemgen::backend::cpu<float>;
  using net = idemgen::nn::mlp<be>;
  idemgen::models::cdm<net, idemgen::schedule::karras, idemgen::metric::l1> g(
      idemgen::nn::denoiser<net>(net({.input_dim = 2, .output_dim = 2, .hidden = {4}, .cond = {.dim = 4}}, 0)));
  be::matrix x(2, 8);
  g.train_step(x);
}
