// Must not compile: IGN's idempotence (a one-step term: it calls f(z) without a noise level) in
// a generator over a denoiser D(x; σ).
// CHECK-COMPILE-ERROR: a one-step term .rec, pair, idem, tight. calls f without one
#include "idemgen/idemgen.hpp"
#include "idemgen/models/ign.hpp"

using net = idemgen::nn::mlp<idemgen::backend::cpu<float>>;

int main() {
  idemgen::models::generator<idemgen::nn::denoiser<net>, idemgen::metric::l2, idemgen::coupling::independent,
                             idemgen::models::ign_losses>* g = nullptr;
  (void)sizeof(*g);
}
