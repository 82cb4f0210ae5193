// Must not compile: denoising score matching (a noised term: it calls the model with a noise
// level) in a generator over a plain one-step network f.
// CHECK-COMPILE-ERROR: calls the model with one: wrap the network in nn::denoiser or nn::velocity
#include "idemgen/idemgen.hpp"
#include "idemgen/models/diffusion.hpp"

using net = idemgen::nn::mlp<idemgen::backend::cpu<float>>;

int main() {
  idemgen::models::generator<net, idemgen::metric::l2, idemgen::coupling::independent,
                             idemgen::models::diffusion_losses>* g = nullptr;
  (void)sizeof(*g);
}
