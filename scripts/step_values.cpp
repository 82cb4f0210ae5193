// Not a test (it asserts nothing): the program scripts/compare-step-values.sh builds twice.
// Prints every term of every method for 5 training steps in double with fixed seeds, one line
// per step, at full precision. It uses only the API that every version since wave 1 has (each
// method's alias with default options), so scripts/compare-step-values.sh can build it against
// an earlier commit and against the working tree and compare the two outputs (a redesign keeps
// behaviour: equal to 1e-12).
#include <cstdio>

#include "idemgen/backend/cpu.hpp"
#include "idemgen/data/toy.hpp"
#include "idemgen/models/diffusion.hpp"
#include "idemgen/models/flow_matching.hpp"
#include "idemgen/models/ign.hpp"
#include "idemgen/models/naign.hpp"
#include "idemgen/nn/mlp.hpp"

using namespace idemgen;
using be = backend::cpu<double>;
using net_t = nn::mlp<be>;

namespace {
net_t plain_net() { return net_t({.input_dim = 2, .output_dim = 2, .hidden = {16, 16}, .act = {nn::activation::tanh}}, 11); }
net_t cond_net() {
  return net_t({.input_dim = 2, .output_dim = 2, .hidden = {16, 16}, .act = {nn::activation::tanh},
                .cond = {.dim = 8, .kind = nn::embedding_kind::fourier, .fourier_scale = 2.0, .seed = 7}},
               11);
}

template <class Gen>
void run(const char* name, Gen& gen) {
  data::toy_sampler<be> sampler(data::toy::grid25);
  random_stream data_rng(5);
  be::matrix x(2, 64);
  for (int step = 0; step < 5; ++step) {
    sampler.sample(x, data_rng);
    const auto r = gen.train_step(x);
    std::printf("%s %d", name, step);
    for (double t : r.terms) std::printf(" %.17g", t);
    std::printf(" | %.17g\n", r.grad_norm);
  }
}
}  // namespace

int main() {
  be::set_num_threads(1);
  const models::generator_options o{.optimizer = {.lr = 1e-3, .weight_decay = 0.0}, .seed = 3};
  { models::ign<net_t> g(plain_net(), {}, {}, o); run("ign", g); }
  { models::naign<net_t> g(plain_net(), {}, {}, o); run("naign", g); }
  { models::naign_minus<net_t> g(plain_net(), {}, {}, o); run("naign-minus", g); }
  const schedule::karras k{.sigma_data = 2.8};
  { models::diffusion<net_t> g(nn::denoiser<net_t>(cond_net(), k), {}, {}, o); run("diffusion", g); }
  { models::cdm<net_t> g(nn::denoiser<net_t>(cond_net(), k), {}, {}, o); run("cdm", g); }
  { models::flow_matching<net_t> g(nn::velocity<net_t>(cond_net()), {}, {}, o); run("fm", g); }
  return 0;
}
