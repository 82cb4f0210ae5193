// Must not compile: IGN's idempotence under a metric that does not declare that it is a function
// of a − b — the term takes ∂D/∂b as −∂D/∂a, which only such a metric allows.
// CHECK-COMPILE-ERROR: which holds for a metric of a − b only
#include "idemgen/idemgen.hpp"
#include "idemgen/models/ign.hpp"

// l2's values and gradient, without the declaration.
struct undeclared_l2 {
  static constexpr const char* name = "undeclared_l2";
  template <class B>
  double evaluate(typename B::const_view a, typename B::const_view b, typename B::view per_sample,
                  typename B::view grad_a, typename B::scalar scale) const {
    return idemgen::metric::l2{}.evaluate<B>(a, b, per_sample, grad_a, scale);
  }
  template <class B>
  void pairwise(typename B::const_view a, typename B::const_view b, typename B::view out) const {
    idemgen::metric::l2{}.pairwise<B>(a, b, out);
  }
};

int main() {
  using be = idemgen::backend::cpu<float>;
  using net = idemgen::nn::mlp<be>;
  idemgen::models::ign<net, undeclared_l2> g(net({.input_dim = 2, .output_dim = 2, .hidden = {4}}, 0));
  be::matrix x(2, 8);
  g.train_step(x);
}
