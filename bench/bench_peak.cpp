// The machine's floor: single-precision FMA throughput with 1 and 2 threads, as the
// FLOP/s counter. A step's FLOP/s counter (bench_train_step, bench_methods, bench_diffusion)
// divided by this is the fraction of peak it reaches; PyTorch's time over (step FLOPs / peak)
// bounds the ratio any implementation of the same arithmetic can reach against it.
//
// Twelve independent 8-wide FMA chains per thread: enough to cover the FMA latency (4–5 cycles)
// on two FMA pipes, so the loop runs at the pipes' issue rate, not at one chain's latency. Where
// the CPU has AVX-512 the same loop runs 16 wide too (fma_peak_avx512): on some CPUs (Intel with
// two 512-bit FMA units) that doubles the peak, on others (AMD Zen 4 splits a 512-bit FMA in two
// 256-bit halves) it does not; the peak is the larger of the two.

#include <benchmark/benchmark.h>
#include <omp.h>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif

namespace {

void fma_peak(benchmark::State& state) {
#if defined(__AVX2__) && defined(__FMA__)
  const int threads = static_cast<int>(state.range(0));
  constexpr long iterations = 1 << 22;  // per thread and benchmark iteration
  constexpr int chains = 12, lanes = 8;
  float sink = 0;
  for (auto _ : state) {
#pragma omp parallel num_threads(threads) reduction(+ : sink)
    {
      __m256 acc[chains];
      for (int c = 0; c < chains; ++c) acc[c] = _mm256_set1_ps(1.0f + 1e-3f * static_cast<float>(c));
      const __m256 a = _mm256_set1_ps(0.9999999f), b = _mm256_set1_ps(1e-7f);
      for (long k = 0; k < iterations; ++k) {
#pragma GCC unroll 12
        for (int c = 0; c < chains; ++c) acc[c] = _mm256_fmadd_ps(acc[c], a, b);
      }
      float lane[lanes];
      for (int c = 0; c < chains; ++c) {
        _mm256_storeu_ps(lane, acc[c]);
        sink += lane[0];
      }
    }
    benchmark::DoNotOptimize(sink);
  }
  const double flops = 2.0 * lanes * chains * static_cast<double>(iterations) * threads;
  state.counters["FLOP/s"] =
      benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
#else
  state.SkipWithError("built without AVX2 + FMA (-march=native on an x86-64 with FMA)");
#endif
}

void fma_peak_avx512(benchmark::State& state) {
#if defined(__AVX512F__)
  const int threads = static_cast<int>(state.range(0));
  constexpr long iterations = 1 << 21;
  constexpr int chains = 12, lanes = 16;
  float sink = 0;
  for (auto _ : state) {
#pragma omp parallel num_threads(threads) reduction(+ : sink)
    {
      __m512 acc[chains];
      for (int c = 0; c < chains; ++c) acc[c] = _mm512_set1_ps(1.0f + 1e-3f * static_cast<float>(c));
      const __m512 a = _mm512_set1_ps(0.9999999f), b = _mm512_set1_ps(1e-7f);
      for (long k = 0; k < iterations; ++k) {
#pragma GCC unroll 12
        for (int c = 0; c < chains; ++c) acc[c] = _mm512_fmadd_ps(acc[c], a, b);
      }
      for (int c = 0; c < chains; ++c) sink += _mm512_reduce_add_ps(acc[c]);
    }
    benchmark::DoNotOptimize(sink);
  }
  const double flops = 2.0 * lanes * chains * static_cast<double>(iterations) * threads;
  state.counters["FLOP/s"] =
      benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
#else
  state.SkipWithError("built without AVX-512 (-march=native on a CPU without it)");
#endif
}
BENCHMARK(fma_peak)->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(fma_peak_avx512)->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
