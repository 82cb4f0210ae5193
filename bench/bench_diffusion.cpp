// One flow-matching, one EDM (DSM) and one CDM training step (the generator's train_step: every
// loss term, AdamW), velocity/denoiser over mlp 2 (+32 Fourier features of t or c_noise) → 256 →
// 256 → 256 → 2, ReLU, batch 512, float, 2 threads; CDM with two 5-step reverse-SDE chains; LMM
// (lines loss, RAdam) on 200 000 stored pairs. The same steps in PyTorch: bench/torch_diffusion.py.

#include "bench_common.hpp"
#include "idemgen/models/diffusion.hpp"
#include "idemgen/models/flow_matching.hpp"
#include "idemgen/models/lmm.hpp"

namespace {

using namespace idemgen;
using be = bench::be;
using net_t = nn::mlp<be>;

using bench::method_step;

using bench::toy_karras;
const auto bench_net = bench::fourier_net_256;
const double pass = bench::fourier_net_256_pass;
const models::generator_options adam = {.optimizer = {.lr = 1e-3, .weight_decay = 0.0}};

void fm_step(benchmark::State& state) {
  models::flow_matching<net_t> gen(nn::velocity<net_t>(bench_net()), {}, {}, adam);
  method_step(state, gen, 3 * pass);  // one forward, one backward with parameter gradients
}
// OT-CFM: the same step over the exact mini-batch OT coupling of z and y (512 × 512, squared
// Euclidean); the difference from fm_step is the coupling's cost.
void ot_fm_step(benchmark::State& state) {
  models::ot_flow_matching<net_t> gen(nn::velocity<net_t>(bench_net()), {}, {}, adam);
  method_step(state, gen, 3 * pass);
}
void edm_step(benchmark::State& state) {
  models::diffusion<net_t> gen(nn::denoiser<net_t>(bench_net(), toy_karras), {}, {}, adam);
  method_step(state, gen, 3 * pass);
}
void cdm_step(benchmark::State& state) {
  models::cdm<net_t> gen(nn::denoiser<net_t>(bench_net(), toy_karras), {}, {}, adam);
  // Anchor 3; two 5-step chains as one 2n-column call per step (10); h1, h2 in one 2n call with
  // backward (2 + 4) = 19 passes.
  method_step(state, gen, 19 * pass);
}

// LMM eq. 3 on stored pairs (z, y): N of them drawn each step, σ uniform over the 18-point Karras
// grid, one denoiser call with backward. The pairs are Gaussian stand-ins: the step's cost does
// not depend on what they are.
void lmm_step(benchmark::State& state) {
  auto pairs = std::make_shared<teachers::pair_set<be>>();
  random_stream rng(7);
  pairs->z.resize(2, 200000);
  pairs->y.resize(2, 200000);
  be::fill_normal(pairs->z, rng);
  be::fill_normal(pairs->y, rng, 0.0f, 2.8f);
  models::lmm_on_pairs<net_t> gen(nn::denoiser<net_t>(bench_net(), toy_karras), {}, {},
                                  models::basic_generator_options<optim::radam_options>{.optimizer = {.lr = 1e-3}},
                                  coupling::stored_pairs<be>{pairs});
  method_step(state, gen, 3 * pass);
}

BENCHMARK(fm_step)->Name("fm_step/width:256/batch:512")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(ot_fm_step)->Name("ot_fm_step/width:256/batch:512")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(edm_step)->Name("edm_step/width:256/batch:512")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(cdm_step)->Name("cdm_step/width:256/batch:512")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(lmm_step)->Name("lmm_step/width:256/batch:512")->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
