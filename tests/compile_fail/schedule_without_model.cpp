// Must not compile: a noise schedule over a bare network — the schedule has to come with a model
// that carries it (nn::denoiser for karras/vp, nn::velocity for linear).
// CHECK-COMPILE-ERROR: Net must be a model that carries that same schedule
#include "idemgen/idemgen.hpp"
#include "idemgen/models/diffusion.hpp"

using net = idemgen::nn::mlp<idemgen::backend::cpu<float>>;

int main() {
  idemgen::models::generator<net, idemgen::metric::squared_l2, idemgen::schedule::karras,
                             idemgen::coupling::independent, idemgen::models::diffusion_losses>* g = nullptr;
  (void)sizeof(*g);
}
