// The GEMM of a 3 × 3, stride-1, padding-1 convolution (the U-Net's and conv_net's commonest
// layer), batch G = 64, one thread, three ways:
//   per_image  what nn::conv2d does: one (H·W × 9C) · (9C × O) GEMM an image, on one reused
//              im2col buffer (im2col itself not timed);
//   batched    one (G·H·W × 9C) · (9C × O) GEMM for the whole batch ("several images per GEMM");
//   shifted    no im2col: the padded images stacked as a (G·(H+2)(W+2) × C) matrix, and nine
//              GEMMs with K = C, one per kernel offset, each reading it shifted by the offset
//              (ky·(W+2) + kx) and accumulating into a 1024-row block of the output that stays
//              in cache; the rows of padding positions are computed and thrown away.
// All three call OpenBLAS's sgemm directly (the shifted form needs a leading dimension, which
// the backend's contiguous views do not have). Counter: useful GFLOP/s, 2·G·H·W·9C·O per
// iteration for all three (the shifted form's discarded rows count as lost time).
// docs/PERFORMANCE.md, "The U-Net's EDM step", reads it.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <vector>

#include "idemgen/core/eigen_core.hpp"  // first: GCC 12 false AVX-512 warnings

#include "idemgen/idemgen.hpp"

#if defined(IDEMGEN_USE_CBLAS)
#include <cblas.h>
#endif

namespace {

using idemgen::index_t;
using B = idemgen::backend::cpu<float>;

/// C (m × n, ldc) = beta·C + A (m × k, lda) · Bᵀ (B: n × k, ldb), column-major, one thread.
void gemm_nt(index_t m, index_t n, index_t k, const float* a, index_t lda, const float* b, index_t ldb, float beta,
             float* c, index_t ldc) {
#if defined(IDEMGEN_USE_CBLAS)
  cblas_sgemm(CblasColMajor, CblasNoTrans, CblasTrans, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k),
              1.0f, a, static_cast<int>(lda), b, static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
#else
  (void)m, (void)n, (void)k, (void)a, (void)lda, (void)b, (void)ldb, (void)beta, (void)c, (void)ldc;
#endif
}

constexpr index_t images = 64;

struct conv_shape {
  index_t channels, outs, size;
  index_t positions() const { return size * size; }
  index_t patch() const { return 9 * channels; }
  double flops() const {
    return 2.0 * static_cast<double>(images * positions()) * static_cast<double>(patch() * outs);
  }
};

conv_shape shape_of(const benchmark::State& state) { return {state.range(0), state.range(1), state.range(2)}; }

std::vector<float> normal(index_t count, std::uint64_t seed) {
  std::vector<float> v(static_cast<std::size_t>(count));
  idemgen::random_stream rng(seed);
  B::fill_normal(B::view(v.data(), count, 1), rng);
  return v;
}

bool skip_without_blas(benchmark::State& state) {
#if !defined(IDEMGEN_USE_CBLAS)
  state.SkipWithError("built without OpenBLAS");
  return true;
#else
  B::set_num_threads(1);
  (void)state;
  return false;
#endif
}

void report(benchmark::State& state, const conv_shape& s) {
  state.counters["useful_GFLOP/s"] =
      benchmark::Counter(s.flops() * static_cast<double>(state.iterations()) / 1e9, benchmark::Counter::kIsRate);
}

void per_image(benchmark::State& state) {
  if (skip_without_blas(state)) return;
  const conv_shape s = shape_of(state);
  const auto patches = normal(s.positions() * s.patch(), 1), weight = normal(s.outs * s.patch(), 2);
  std::vector<float> out(static_cast<std::size_t>(images * s.positions() * s.outs));
  for (auto _ : state)
    for (index_t j = 0; j < images; ++j)
      gemm_nt(s.positions(), s.outs, s.patch(), patches.data(), s.positions(), weight.data(), s.outs, 0.0f,
              out.data() + j * s.positions() * s.outs, s.positions());
  benchmark::DoNotOptimize(out.data());
  report(state, s);
}

void batched(benchmark::State& state) {
  if (skip_without_blas(state)) return;
  const conv_shape s = shape_of(state);
  const index_t rows = images * s.positions();
  const auto patches = normal(rows * s.patch(), 1), weight = normal(s.outs * s.patch(), 2);
  std::vector<float> out(static_cast<std::size_t>(rows * s.outs));
  for (auto _ : state)
    gemm_nt(rows, s.outs, s.patch(), patches.data(), rows, weight.data(), s.outs, 0.0f, out.data(), rows);
  benchmark::DoNotOptimize(out.data());
  report(state, s);
}

void shifted(benchmark::State& state) {
  if (skip_without_blas(state)) return;
  const conv_shape s = shape_of(state);
  const index_t row = s.size + 2, plane = row * row, rows = images * plane, margin = 2 * row + 2, block = 1024;
  // The stacked padded images, lda = rows + margin (the last image's shifted reads stay inside).
  const index_t lda = rows + margin;
  const auto padded = normal(lda * s.channels, 1), weight = normal(s.outs * s.patch(), 2);
  std::vector<float> out(static_cast<std::size_t>(block * s.outs));
  for (auto _ : state)
    for (index_t first = 0; first < rows; first += block) {
      const index_t m = std::min(block, rows - first);
      for (index_t offset = 0; offset < 9; ++offset) {
        const index_t shift = (offset / 3) * row + offset % 3;
        // W's columns (c, ky, kx) = c·9 + offset: for one offset an O × C matrix with ld 9·O.
        gemm_nt(m, s.outs, s.channels, padded.data() + first + shift, lda, weight.data() + offset * s.outs, 9 * s.outs,
                offset == 0 ? 0.0f : 1.0f, out.data(), block);
      }
    }
  benchmark::DoNotOptimize(out.data());
  report(state, s);
}

// {C, O, H}: the U-Net's (channels 32, 64, 64) levels at 28 × 28 and 14 × 14, and its 7 × 7 middle.
void shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"C", "O", "H"})->Args({32, 32, 28})->Args({64, 64, 14})->Args({64, 64, 7})->Unit(benchmark::kMillisecond);
}

BENCHMARK(per_image)->Apply(shapes);
BENCHMARK(batched)->Apply(shapes);
BENCHMARK(shifted)->Apply(shapes);

}  // namespace

BENCHMARK_MAIN();
