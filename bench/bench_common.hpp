#pragma once
// What the method benchmarks share: time generator::train_step on one grid-25 batch of 512,
// after 3 warm-up steps, on IDEMGEN_BENCH_THREADS threads (default 2, as compare_torch.sh).

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>

#include "idemgen/data/toy.hpp"
#include "idemgen/idemgen.hpp"

namespace idemgen::bench {

using be = backend::cpu<float>;

template <class Generator>
void method_step(benchmark::State& state, Generator& gen) {
  const char* threads = std::getenv("IDEMGEN_BENCH_THREADS");
  be::set_num_threads(threads ? std::max(1, std::atoi(threads)) : 2);
  data::toy_sampler<be> data(data::toy::grid25);
  random_stream rng(1);
  be::matrix x(2, 512);
  data.sample(x, rng);
  for (int k = 0; k < 3; ++k) gen.train_step(x);
  for (auto _ : state) benchmark::DoNotOptimize(gen.train_step(x).total);
}

}  // namespace idemgen::bench
