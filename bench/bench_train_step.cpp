// One training step of an mlp — forward, mean-squared-error gradient, backward, AdamW — the
// same step as bench/torch_train_step.py, for a side-by-side ratio (bench/compare_torch.sh).
//   2 → W → W → W → 2, ReLU, float; (W, batch) = (512, 512) and (64, 256); on
//   IDEMGEN_BENCH_THREADS threads (default 2), as the method benchmarks (bench_common.hpp).

#include <benchmark/benchmark.h>

#include "bench_common.hpp"

namespace {

using namespace idemgen;
using be = backend::cpu<float>;

void mlp_train_step(benchmark::State& state) {
  const index_t width = state.range(0), batch = state.range(1);
  bench::set_bench_threads();
  nn::mlp<be> net({.input_dim = 2, .output_dim = 2, .hidden = {width, width, width}}, 0);
  optim::adamw<be> opt({.lr = 1e-4});
  be::matrix x(2, batch), target(2, batch), dy(2, batch);
  random_stream rng(1);
  be::fill_normal(x, rng);
  be::fill_normal(target, rng);
  nn::mlp<be>::cache cache;
  const float scale = 2.0f / static_cast<float>(2 * batch);
  for (auto _ : state) {
    net.zero_grad();
    const auto y = net.forward(x, cache);
    const float* py = y.data();
    const float* pt = target.data();
    float* pd = dy.data();
    be::parallel_for(y.size(), [=](index_t e) { pd[e] = scale * (py[e] - pt[e]); });
    net.backward(cache, dy, net.gradients());
    opt.step(net.parameters(), net.gradients());
    benchmark::DoNotOptimize(net.parameters().data());
  }
  // Multiply-adds ×2 of forward + backward (dW for every layer, dx for all but the first).
  const double w = static_cast<double>(width), n = static_cast<double>(batch);
  const double forward = 2 * n * (2 * w + 2 * w * w + 2 * w);
  const double backward = forward + 2 * n * (2 * w * w + 2 * w);
  state.counters["FLOP/s"] = benchmark::Counter(forward + backward,
                                                benchmark::Counter::kIsIterationInvariantRate,
                                                benchmark::Counter::kIs1000);
}

BENCHMARK(mlp_train_step)
    ->ArgNames({"width", "batch"})
    ->Args({512, 512})
    ->Args({64, 256})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
