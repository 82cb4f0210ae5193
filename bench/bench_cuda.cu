// GPU against CPU (issue 6): one NAIGN training step (mlp 2 → 512³ → 2, ReLU, M = 10 N IMLE
// candidates) and one EDM step (denoiser over 2 + 32 → 256³ → 2) at batch 512 and 4 096, on
// backend::cuda<float> and on backend::cpu<float> (2 threads), plus NAIGN's IMLE search alone at
// M = 51 200 candidates (N = 512, M/N = 100). Built wherever nvcc is; run it on a machine with a
// GPU (without one every benchmark reports an error and is skipped). GPU times include a device
// synchronisation per step (train_step reads its loss values back).

#include <benchmark/benchmark.h>

#include "idemgen/backend/cpu.hpp"
#include "idemgen/backend/cuda/cuda.cuh"
#include "idemgen/data/toy.hpp"
#include "idemgen/models/diffusion.hpp"
#include "idemgen/models/naign.hpp"
#include "idemgen/nn/mlp.hpp"

namespace {

using namespace idemgen;
using cpu = backend::cpu<float>;
using gpu = backend::cuda<float>;

template <class Be, class Generator>
void run_steps(benchmark::State& state, Generator& gen, index_t batch) {
  cpu::set_num_threads(2);
  data::toy_sampler<cpu> sampler(data::toy::grid25);
  random_stream rng(1);
  cpu::matrix host(2, batch);
  sampler.sample(host, rng);
  typename Be::matrix x(2, batch);
  Be::copy_from_host(host.data(), x);
  for (int k = 0; k < 3; ++k) gen.train_step(x);
  for (auto _ : state) benchmark::DoNotOptimize(gen.train_step(x).total);
  state.counters["samples/s"] = benchmark::Counter(static_cast<double>(batch), benchmark::Counter::kIsIterationInvariantRate);
}

template <class Be>
void naign_step(benchmark::State& state) {
  if constexpr (std::is_same_v<Be, gpu>)
    if (!gpu::available()) return state.SkipWithError("no usable CUDA device");
  using net_t = nn::mlp<Be>;
  models::naign<net_t> gen(net_t({.input_dim = 2, .output_dim = 2, .hidden = {512, 512, 512}}, 0));
  run_steps<Be>(state, gen, state.range(0));
}

template <class Be>
void edm_step(benchmark::State& state) {
  if constexpr (std::is_same_v<Be, gpu>)
    if (!gpu::available()) return state.SkipWithError("no usable CUDA device");
  using net_t = nn::mlp<Be>;
  models::diffusion<net_t> gen(nn::denoiser<net_t>(
      net_t({.input_dim = 2, .output_dim = 2, .hidden = {256, 256, 256},
             .cond = {.dim = 32, .kind = nn::embedding_kind::fourier, .fourier_scale = 2.0}},
            0),
      schedule::karras{.sigma_data = 2.8, .p_mean = 0.52}));
  run_steps<Be>(state, gen, state.range(0));
}

/// IMLE's nearest-neighbour search alone: M candidate outputs against N data points.
template <class Be>
void imle_search(benchmark::State& state) {
  if constexpr (std::is_same_v<Be, gpu>)
    if (!gpu::available()) return state.SkipWithError("no usable CUDA device");
  cpu::set_num_threads(2);
  const index_t n = 512, m = state.range(0);
  typename Be::matrix x(2, n), candidates(2, m), d(m, n), best(1, n);
  typename Be::index_matrix idx(1, n);
  random_stream rng(2);
  Be::fill_normal(x, rng);
  Be::fill_normal(candidates, rng);
  for (auto _ : state) {
    Be::pairwise_squared_distances(candidates, x, d);
    Be::column_argmin(d, idx, best);
    benchmark::DoNotOptimize(Be::sum(best));  // reads back: includes the synchronisation
  }
}

BENCHMARK(naign_step<gpu>)->Name("gpu/naign_step/width:512")->Arg(512)->Arg(4096)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(naign_step<cpu>)->Name("cpu/naign_step/width:512")->Arg(512)->Arg(4096)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(edm_step<gpu>)->Name("gpu/edm_step/width:256")->Arg(512)->Arg(4096)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(edm_step<cpu>)->Name("cpu/edm_step/width:256")->Arg(512)->Arg(4096)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(imle_search<gpu>)->Name("gpu/imle_search/N:512")->Arg(51200)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(imle_search<cpu>)->Name("cpu/imle_search/N:512")->Arg(51200)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
