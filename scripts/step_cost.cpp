// Not a test (it asserts nothing): the program scripts/compare-step-cost.sh builds twice.
// Runs `steps` training steps of one method (after one warm-up step) at a given width and batch,
// float, one thread, so that an instruction count (callgrind) of two builds compares the cost
// of a step without the machine's timing noise. Uses only the API every version since wave 1
// has (each method's alias with default options). Under callgrind with --instr-atstart=no only
// the timed steps are counted (client requests start instrumenting after the warm-up step);
// the printed sum of the steps' losses (17 digits) tells whether two builds compute the same bits.
//   step_cost METHOD WIDTH BATCH STEPS     METHOD: ign naign fm edm cdm
#include <cstdio>
#include <cstdlib>
#include <string>

#include <valgrind/callgrind.h>

#include "idemgen/backend/cpu.hpp"
#include "idemgen/data/toy.hpp"
#include "idemgen/models/diffusion.hpp"
#include "idemgen/models/flow_matching.hpp"
#include "idemgen/models/ign.hpp"
#include "idemgen/models/naign.hpp"
#include "idemgen/nn/mlp.hpp"

using namespace idemgen;
using be = backend::cpu<float>;
using net_t = nn::mlp<be>;

namespace {
template <class Gen>
int run(Gen& gen, index_t batch, int steps) {
  data::toy_sampler<be> sampler(data::toy::grid25);
  random_stream data_rng(5);
  be::matrix x(2, batch);
  double sum = 0;
  for (int step = 0; step <= steps; ++step) {
    if (step == 1) CALLGRIND_START_INSTRUMENTATION;  // after the warm-up step: buffers are allocated
    sampler.sample(x, data_rng);
    sum += gen.train_step(x).total;
  }
  CALLGRIND_STOP_INSTRUMENTATION;
  std::printf("%.17g\n", sum);
  return 0;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: step_cost METHOD WIDTH BATCH STEPS\n");
    return 2;
  }
  const std::string method = argv[1];
  const index_t width = std::atoi(argv[2]), batch = std::atoi(argv[3]);
  const int steps = std::atoi(argv[4]);
  be::set_num_threads(1);
  const net_t plain({.input_dim = 2, .output_dim = 2, .hidden = {width, width, width}}, 1);
  const net_t cond({.input_dim = 2, .output_dim = 2, .hidden = {width, width, width},
                    .cond = {.dim = 32, .kind = nn::embedding_kind::fourier, .fourier_scale = 2.0}},
                   1);
  const models::generator_options o{.optimizer = {.lr = 1e-3, .weight_decay = 0.0}, .seed = 3};
  const schedule::karras k{.sigma_data = 2.8, .p_mean = 0.52};
  if (method == "ign") { models::ign<net_t> g(plain, {}, {}, o); return run(g, batch, steps); }
  if (method == "naign") { models::naign<net_t> g(plain, {}, {}, o); return run(g, batch, steps); }
  if (method == "fm") { models::flow_matching<net_t> g(nn::velocity<net_t>(cond), {}, {}, o); return run(g, batch, steps); }
  if (method == "edm") { models::diffusion<net_t> g(nn::denoiser<net_t>(cond, k), {}, {}, o); return run(g, batch, steps); }
  if (method == "cdm") { models::cdm<net_t> g(nn::denoiser<net_t>(cond, k), {}, {}, o); return run(g, batch, steps); }
  std::fprintf(stderr, "step_cost: unknown method %s\n", method.c_str());
  return 2;
}
