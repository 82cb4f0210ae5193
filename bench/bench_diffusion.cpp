// One flow-matching, one EDM (DSM) and one CDM training step (the generator's train_step: every
// loss term, AdamW), velocity/denoiser over mlp 2 (+32 Fourier features of t or c_noise) → 256 →
// 256 → 256 → 2, ReLU, batch 512, float, 2 threads; CDM with two 5-step reverse-SDE chains. The
// same steps in PyTorch: bench/torch_diffusion.py.

#include "bench_common.hpp"
#include "idemgen/models/diffusion.hpp"
#include "idemgen/models/flow_matching.hpp"

namespace {

using namespace idemgen;
using be = bench::be;
using net_t = nn::mlp<be>;

using bench::method_step;

net_t bench_net() {
  return net_t({.input_dim = 2, .output_dim = 2, .hidden = {256, 256, 256},
                .cond = {.dim = 32, .kind = nn::embedding_kind::fourier, .fourier_scale = 2.0}},
               0);
}
// One forward pass over the batch of 512: [x; 32 features] → 256 → 256 → 256 → 2 (≈ 0.14 GFLOP).
const double pass = bench::mlp_forward_flops({34, 256, 256, 256, 2}, 512);
const models::generator_options adam = {.optimizer = {.lr = 1e-3, .weight_decay = 0.0}};
const schedule::karras toy_karras = {.sigma_data = 2.8, .p_mean = 0.52};

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

BENCHMARK(fm_step)->Name("fm_step/width:256/batch:512")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(ot_fm_step)->Name("ot_fm_step/width:256/batch:512")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(edm_step)->Name("edm_step/width:256/batch:512")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(cdm_step)->Name("cdm_step/width:256/batch:512")->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
