// Must not compile: a generator whose Coupling is not a coupling (no state<B>, no call that
// makes pairs). The static_assert message must say what is missing and where to read about it.
// CHECK-COMPILE-ERROR: Coupling must be a coupling
#include "idemgen/idemgen.hpp"
#include "idemgen/models/naign.hpp"

struct not_a_coupling {
  static constexpr const char* name = "nothing";
};

int main() {
  using be = idemgen::backend::cpu<float>;
  using net = idemgen::nn::mlp<be>;
  idemgen::models::naign<net, idemgen::metric::l2, not_a_coupling> g(net({.hidden = {4}}, 0));
  (void)g;
}
