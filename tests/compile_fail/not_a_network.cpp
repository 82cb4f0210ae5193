// Must not compile: a generator over something that is not a network.
// CHECK-COMPILE-ERROR: Net must satisfy idemgen::nn::network
#include "idemgen/idemgen.hpp"
#include "idemgen/models/naign.hpp"

struct not_a_network {
  using backend_type = idemgen::backend::cpu<float>;
  using cache = int;
};

int main() {
  idemgen::models::naign<not_a_network>* g = nullptr;
  (void)sizeof(*g);
}
