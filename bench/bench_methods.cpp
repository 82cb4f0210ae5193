// One IGN and one NAIGN training step (the generator's train_step: every loss term, AdamW), mlp
// 2 → 512 → 512 → 512 → 2, ReLU, batch 512, float, 2 threads; NAIGN with M = 5 120 IMLE
// candidates (10 × batch). The same steps in PyTorch: bench/torch_methods.py.

#include "bench_common.hpp"
#include "idemgen/models/ign.hpp"
#include "idemgen/models/naign.hpp"

namespace {

using namespace idemgen;
using be = bench::be;
using net_t = nn::mlp<be>;

using bench::method_step;

net_t paper_net() { return net_t({.input_dim = 2, .output_dim = 2, .hidden = {512, 512, 512}}, 0); }

void ign_step(benchmark::State& state) {
  models::ign<net_t> gen(paper_net());
  method_step(state, gen);
}
void naign_step(benchmark::State& state) {
  models::naign<net_t> gen(paper_net(), models::naign_losses({}, {.candidates_per_sample = 10}, {}));
  method_step(state, gen);
}

BENCHMARK(ign_step)->Name("ign_step/width:512/batch:512")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(naign_step)->Name("naign_step/width:512/batch:512/M:5120")->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
