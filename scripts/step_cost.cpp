// Not a test (it asserts nothing): the program scripts/compare-step-cost.sh builds twice.
// Runs `steps` training steps of one method (after one warm-up step) at a given width and batch,
// float, one thread, so that an instruction count (callgrind) of two builds compares the cost
// of a step without the machine's timing noise. Uses only the API every version since wave 1
// has (each method's alias with default options); the methods added since (SIGN, LMM, the OT
// couplings) are compiled in where the build's headers have them, and an older build answers
// "unknown method" for them. Under callgrind with --instr-atstart=no only
// the timed steps are counted (client requests start instrumenting after the warm-up step);
// the printed sum of the steps' losses (17 digits) tells whether two builds compute the same bits.
//   step_cost METHOD WIDTH BATCH STEPS
//   METHOD: ign naign fm edm cdm, and where the headers have them sign lmm ot-naign ot-fm
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
#if __has_include("idemgen/models/sign.hpp")
#define STEP_COST_SIGN_LMM 1
#include "idemgen/models/lmm.hpp"
#include "idemgen/models/sign.hpp"
#include "idemgen/samplers/model_function.hpp"
#endif
#if __has_include("idemgen/couplings/minibatch_ot.hpp")
#define STEP_COST_OT 1
#endif

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
#if defined(STEP_COST_OT)
  if (method == "ot-naign") { models::ot_naign<net_t> g(plain, {}, {}, o); return run(g, batch, steps); }
  if (method == "ot-fm") {
    models::ot_flow_matching<net_t> g(nn::velocity<net_t>(cond), {}, {}, o);
    return run(g, batch, steps);
  }
#endif
#if defined(STEP_COST_SIGN_LMM)
  if (method == "sign") {  // SIGN eq. 9 with an (untrained) EDM teacher over the conditioned net
    const nn::denoiser<net_t> teacher_net(cond, k);
    auto teacher = std::make_shared<decltype(samplers::model_function(teacher_net))>(
        samplers::model_function(teacher_net));
    using teacher_t = decltype(teacher)::element_type;
    models::generator_options from_sigma_max = o;
    from_sigma_max.source_scale = 80.0;  // f generates from σ_max ε
    models::sign<net_t, teacher_t> g(plain, models::sign_losses<teacher_t>({}, {}, {.teacher = teacher}, {}), {},
                                     from_sigma_max);
    return run(g, batch, steps);
  }
  if (method == "lmm") {  // LMM eq. 3 on 20 000 stored Gaussian pairs
    auto pairs = std::make_shared<teachers::pair_set<be>>();
    random_stream rng(7);
    pairs->z.resize(2, 20000);
    pairs->y.resize(2, 20000);
    be::fill_normal(pairs->z, rng);
    be::fill_normal(pairs->y, rng, 0.0f, 2.8f);
    models::lmm_on_pairs<net_t> g(nn::denoiser<net_t>(cond, k), {}, {},
                                  models::basic_generator_options<optim::radam_options>{.optimizer = {.lr = 1e-3},
                                                                                       .seed = 3},
                                  coupling::stored_pairs<be>{pairs});
    return run(g, batch, steps);
  }
#endif
  std::fprintf(stderr, "step_cost: unknown method %s\n", method.c_str());
  return 2;
}
