// The CPU backend's elementwise and reduction work: our OpenMP-simd loops (backend/cpu.hpp,
// and the functors the layers and optimisers hand to parallel_for) against the same work written
// as Eigen expressions over Eigen::Map views of the same buffers (idemgen/eigen.hpp), on the
// shapes of a training step: 512 × 512 (a width-512 layer over a batch of 512), 256 × 512 and
// 2 × 512. Each Eigen version runs inside the same parallel_chunks split as ours, so the A/B is
// the inner loop only. IDEMGEN_BENCH_THREADS threads (default 1). docs/PERFORMANCE.md, "Eigen".

#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdlib>

#include "idemgen/backend/cpu.hpp"
#include "idemgen/eigen.hpp"

namespace {

using namespace idemgen;
using be = backend::cpu<float>;
using vec = Eigen::Map<Eigen::ArrayXf>;
using cvec = Eigen::Map<const Eigen::ArrayXf>;

struct buffers {
  be::matrix x, y, z, m, v;
  explicit buffers(index_t rows, index_t cols) : x(rows, cols), y(rows, cols), z(rows, cols), m(rows, cols), v(rows, cols) {
    const char* threads = std::getenv("IDEMGEN_BENCH_THREADS");
    be::set_num_threads(threads ? std::max(1, std::atoi(threads)) : 1);
    random_stream rng(3);
    be::fill_normal(x, rng);
    be::fill_normal(y, rng);
    be::fill_normal(z, rng);
    be::fill_uniform(m, rng);
    be::fill_uniform(v, rng);
  }
};

template <class Body>
void chunks(index_t n, Body&& body) {
  backend::detail::parallel_chunks(n, backend::detail::parallel_grain, [&](index_t b, index_t e, int) { body(b, e - b); });
}

void bytes(benchmark::State& state, double per_element, index_t n) {
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * per_element * static_cast<double>(n)));
}

// ---- y += a x ---------------------------------------------------------------------------------
void axpy_loop(benchmark::State& state) {
  buffers b(state.range(0), state.range(1));
  for (auto _ : state) be::axpy(1e-3f, b.x, b.y);
  bytes(state, 12, b.x.size());
}
void axpy_eigen(benchmark::State& state) {
  buffers b(state.range(0), state.range(1));
  float* px = b.x.data();
  float* py = b.y.data();
  for (auto _ : state) chunks(b.x.size(), [&](index_t s, index_t n) { vec(py + s, n) += 1e-3f * cvec(px + s, n); });
  bytes(state, 12, b.x.size());
}

// ---- ReLU forward and backward (the dense layer's fused activation) --------------------------
void relu_loop(benchmark::State& state) {
  buffers b(state.range(0), state.range(1));
  const float* z = b.x.data();
  float* y = b.y.data();
  const float* dy = b.z.data();
  float* dz = b.m.data();
  for (auto _ : state) {
    be::parallel_for(b.x.size(), [=](index_t e) { y[e] = z[e] > 0 ? z[e] : 0.0f; });
    be::parallel_for(b.x.size(), [=](index_t e) { dz[e] = dy[e] * (z[e] > 0 ? 1.0f : 0.0f); });
  }
  bytes(state, 20, b.x.size());
}
void relu_eigen(benchmark::State& state) {
  buffers b(state.range(0), state.range(1));
  const float* z = b.x.data();
  float* y = b.y.data();
  const float* dy = b.z.data();
  float* dz = b.m.data();
  for (auto _ : state) {
    chunks(b.x.size(), [&](index_t s, index_t n) { vec(y + s, n) = cvec(z + s, n).max(0.0f); });
    chunks(b.x.size(), [&](index_t s, index_t n) {
      vec(dz + s, n) = (cvec(z + s, n) > 0.0f).select(cvec(dy + s, n), 0.0f);
    });
  }
  bytes(state, 20, b.x.size());
}

// ---- AdamW's update (optim/adam.hpp), decoupled weight decay ----------------------------------
constexpr float b1 = 0.9f, b2 = 0.999f, step_size = 1e-3f, inv_sqrt_bc2 = 1.2f, eps = 1e-8f, decay = 0.9999f;
void adam_loop(benchmark::State& state) {
  buffers b(state.range(0), state.range(1));
  float* p = b.x.data();
  const float* g = b.y.data();
  float* m = b.m.data();
  float* v = b.v.data();
  for (auto _ : state)
    be::parallel_for(b.x.size(), [=](index_t i) {
      const float gi = g[i];
      p[i] *= decay;
      m[i] = b1 * m[i] + (1.0f - b1) * gi;
      v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
      p[i] -= step_size * m[i] / (std::sqrt(v[i]) * inv_sqrt_bc2 + eps);
    });
  bytes(state, 28, b.x.size());
}
void adam_eigen(benchmark::State& state) {
  buffers b(state.range(0), state.range(1));
  float* p = b.x.data();
  const float* g = b.y.data();
  float* m = b.m.data();
  float* v = b.v.data();
  for (auto _ : state)
    chunks(b.x.size(), [&](index_t s, index_t n) {
      vec pp(p + s, n), mm(m + s, n), vv(v + s, n);
      const cvec gg(g + s, n);
      mm = b1 * mm + (1.0f - b1) * gg;
      vv = b2 * vv + (1.0f - b2) * gg.square();
      pp = pp * decay - step_size * mm / (vv.sqrt() * inv_sqrt_bc2 + eps);
    });
  bytes(state, 28, b.x.size());
}

// ---- bias gradient: one sum per row ----------------------------------------------------------
void row_sums_loop(benchmark::State& state) {
  buffers b(state.range(0), state.range(1));
  be::matrix out(b.x.rows(), 1);
  for (auto _ : state) be::row_sums(b.x, out);
  bytes(state, 4, b.x.size());
}
void row_sums_eigen(benchmark::State& state) {
  buffers b(state.range(0), state.range(1));
  be::matrix out(b.x.rows(), 1);
  for (auto _ : state) eigen::map(out).col(0) = eigen::map(b.x).rowwise().sum();
  bytes(state, 4, b.x.size());
}

// ---- per-sample sums: one per column ----------------------------------------------------------
void column_sums_loop(benchmark::State& state) {
  buffers b(state.range(0), state.range(1));
  be::matrix out(1, b.x.cols());
  for (auto _ : state) be::column_sums(b.x, out);
  bytes(state, 4, b.x.size());
}
void column_sums_eigen(benchmark::State& state) {
  buffers b(state.range(0), state.range(1));
  be::matrix out(1, b.x.cols());
  for (auto _ : state) eigen::map(out).row(0) = eigen::map(b.x).colwise().sum();
  bytes(state, 4, b.x.size());
}

// ---- dot product, accumulated in double (loss values, gradient norms) -------------------------
void dot_loop(benchmark::State& state) {
  buffers b(state.range(0), state.range(1));
  for (auto _ : state) benchmark::DoNotOptimize(be::dot(b.x, b.y));
  bytes(state, 8, b.x.size());
}
void dot_eigen(benchmark::State& state) {
  buffers b(state.range(0), state.range(1));
  for (auto _ : state)
    benchmark::DoNotOptimize(
        (cvec(b.x.data(), b.x.size()).cast<double>() * cvec(b.y.data(), b.y.size()).cast<double>()).sum());
  bytes(state, 8, b.x.size());
}

void shapes(benchmark::internal::Benchmark* b) {
  b->Args({512, 512})->Args({256, 512})->Args({2, 512})->Unit(benchmark::kMicrosecond)->UseRealTime();
}
BENCHMARK(axpy_loop)->Apply(shapes);
BENCHMARK(axpy_eigen)->Apply(shapes);
BENCHMARK(relu_loop)->Apply(shapes);
BENCHMARK(relu_eigen)->Apply(shapes);
BENCHMARK(adam_loop)->Apply(shapes);
BENCHMARK(adam_eigen)->Apply(shapes);
BENCHMARK(row_sums_loop)->Apply(shapes);
BENCHMARK(row_sums_eigen)->Apply(shapes);
BENCHMARK(column_sums_loop)->Apply(shapes);
BENCHMARK(column_sums_eigen)->Apply(shapes);
BENCHMARK(dot_loop)->Apply(shapes);
BENCHMARK(dot_eigen)->Apply(shapes);

}  // namespace

BENCHMARK_MAIN();
