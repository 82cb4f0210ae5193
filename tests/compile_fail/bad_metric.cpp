// Must not compile: a generator whose Metric is not a distance. The static_assert message must
// say what is missing and where to read about it (CTest checks the compiler output).
// CHECK-COMPILE-ERROR: Metric must satisfy idemgen::metric::distance
#include "idemgen/idemgen.hpp"
#include "idemgen/models/naign.hpp"

struct not_a_metric {};

int main() {
  using be = idemgen::backend::cpu<float>;
  using net = idemgen::nn::mlp<be>;
  idemgen::models::naign<net, not_a_metric> g(net({.hidden = {4}}, 0));
  (void)g;
}
