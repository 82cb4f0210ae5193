// One IGN and one NAIGN training step (the generator's train_step: every loss term, AdamW), mlp
// 2 → 512 → 512 → 512 → 2, ReLU, batch 512, float, 2 threads; NAIGN with M = 5 120 IMLE
// candidates (10 × batch). The same steps in PyTorch: bench/torch_methods.py.

#include <benchmark/benchmark.h>

#include "idemgen/data/toy.hpp"
#include "idemgen/idemgen.hpp"
#include "idemgen/models/ign.hpp"
#include "idemgen/models/naign.hpp"

namespace {

using namespace idemgen;
using be = backend::cpu<float>;
using net_t = nn::mlp<be>;

template <class Generator>
void method_step(benchmark::State& state, Generator& gen) {
  be::set_num_threads(2);
  data::toy_sampler<be> data(data::toy::grid25);
  random_stream rng(1);
  be::matrix x(2, 512);
  data.sample(x, rng);
  for (int k = 0; k < 3; ++k) gen.train_step(x);
  for (auto _ : state) benchmark::DoNotOptimize(gen.train_step(x).total);
}

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
