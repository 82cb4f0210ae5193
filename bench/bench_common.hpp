#pragma once
// What the method benchmarks share: time generator::train_step on one grid-25 batch of 512,
// after 3 warm-up steps, on IDEMGEN_BENCH_THREADS threads (default 2, as compare_torch.sh), and
// report the step's arithmetic rate (FLOP/s counter) from its count of forward-pass equivalents,
// to set against the FMA peak of bench/bench_peak.cpp (docs/PERFORMANCE.md, "How far from the floor").

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <initializer_list>

#include "idemgen/data/toy.hpp"
#include "idemgen/idemgen.hpp"

namespace idemgen::bench {

using be = backend::cpu<float>;

/// FLOPs (2 per multiply-add) of one forward pass over n columns of an mlp whose layer widths
/// are `widths` (input incl. conditioning features, hidden…, output). A backward pass costs about
/// 2 such passes when it forms parameter gradients (dW and dx), 1 when it only passes dx on.
inline double mlp_forward_flops(std::initializer_list<double> widths, double n) {
  double macs = 0, previous = 0;
  for (const double w : widths) {
    macs += previous * w;
    previous = w;
  }
  return 2 * macs * n;
}

/// The noised models' benchmark net: mlp over [x; 32 Fourier features of t or c_noise] → 256 → 256
/// → 256 → 2, ReLU (the FM/EDM/CDM/LMM steps, and SIGN's EDM teacher).
inline nn::mlp<be> fourier_net_256() {
  return nn::mlp<be>({.input_dim = 2, .output_dim = 2, .hidden = {256, 256, 256},
                      .cond = {.dim = 32, .kind = nn::embedding_kind::fourier, .fourier_scale = 2.0}},
                     0);
}
/// One forward pass of fourier_net_256 over the batch of 512 (≈ 0.14 GFLOP).
inline const double fourier_net_256_pass = mlp_forward_flops({34, 256, 256, 256, 2}, 512);
/// EDM's preconditioning and σ distribution for the toy data (grid-25's σ_data).
inline const schedule::karras toy_karras = {.sigma_data = 2.8, .p_mean = 0.52};

/// The CPU backend's threads for a benchmark: IDEMGEN_BENCH_THREADS, default 2.
inline void set_bench_threads() {
  const char* threads = std::getenv("IDEMGEN_BENCH_THREADS");
  be::set_num_threads(threads ? std::max(1, std::atoi(threads)) : 2);
}

/// `flops`: the step's arithmetic (forward-pass equivalents × mlp_forward_flops), for the counter.
template <class Generator>
void method_step(benchmark::State& state, Generator& gen, double flops) {
  set_bench_threads();
  data::toy_sampler<be> data(data::toy::grid25);
  random_stream rng(1);
  be::matrix x(2, 512);
  data.sample(x, rng);
  for (int k = 0; k < 3; ++k) gen.train_step(x);
  for (auto _ : state) benchmark::DoNotOptimize(gen.train_step(x).total);
  state.counters["FLOP/s"] =
      benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}

}  // namespace idemgen::bench
