// Must not compile: denoising score matching in a generator with no noise schedule (IGN-style
// step context: no σ, no anchor call).
// CHECK-COMPILE-ERROR: noised_step_context otherwise
#include "idemgen/idemgen.hpp"
#include "idemgen/models/diffusion.hpp"

using net = idemgen::nn::mlp<idemgen::backend::cpu<float>>;

int main() {
  idemgen::models::generator<net, idemgen::metric::l2, idemgen::schedule::none, idemgen::coupling::independent,
                             idemgen::models::diffusion_losses>* g = nullptr;
  (void)sizeof(*g);
}
