// Must not compile: a loss set with a term that has no call operator.
// CHECK-COMPILE-ERROR: every term has a static name
#include "idemgen/idemgen.hpp"
#include "idemgen/models/generator.hpp"

struct no_call {
  static constexpr const char* name = "broken";
  static constexpr idemgen::losses::model_kind model = idemgen::losses::model_kind::one_step;
  double weight = 1;
};

int main() {
  using be = idemgen::backend::cpu<float>;
  using net = idemgen::nn::mlp<be>;
  idemgen::models::generator<net, idemgen::metric::l2, idemgen::coupling::independent,
                             idemgen::losses::set<no_call>>
      g(net({.hidden = {4}}, 0));
  (void)g;
}
