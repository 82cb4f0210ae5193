// Must not compile: a noised term that takes "the model's schedule" (schedule::of_model, the
// default) evaluated over a network that carries none.
// CHECK-COMPILE-ERROR: the model carries no schedule
#include "idemgen/idemgen.hpp"
#include "idemgen/metrics/metric.hpp"
#include "idemgen/models/step_context.hpp"

using be = idemgen::backend::cpu<float>;
using net = idemgen::nn::mlp<be>;

int main() {
  net f({.input_dim = 2, .output_dim = 2, .hidden = {4}}, 0);
  idemgen::metric::l2 m;
  idemgen::random_stream rng(0);
  idemgen::models::step_context<net, idemgen::metric::l2> ctx(f, m, rng);
  (void)ctx.level(idemgen::schedule::of_model{});
}
