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
