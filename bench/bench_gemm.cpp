// The host GEMM as backend::cpu<float> runs it — C split into one contiguous slab per thread,
// each slab one single-threaded call — with OpenBLAS's sgemm, with Eigen 3.4's own GEMM kernels
// (the CPU backend's fallback without OpenBLAS; with EIGEN_USE_BLAS Eigen would call the same
// sgemm as the first row), with oneDNN's dnnl_sgemm (where the build found oneDNN), and with the
// AVX2 kernel of
// bench/gemm_experiment/avx2_sgemm.hpp (an experiment, not adopted: docs/PERFORMANCE.md, "Our own
// AVX2 GEMM"). Shapes: the GEMMs of the W = 512 mlp step (512³ in the three transpose cases a
// dense layer uses: forward NN, weight gradient NT, input gradient TN) and of the W = 256 FM/EDM
// step at batch 512. Counter: GFLOP/s.

#include <benchmark/benchmark.h>
#include <omp.h>

#include <vector>

#include "idemgen/core/eigen_core.hpp"  // first: GCC 12 false AVX-512 warnings

#include "gemm_experiment/avx2_sgemm.hpp"
#include "idemgen/idemgen.hpp"

#if defined(IDEMGEN_USE_CBLAS)
#include <cblas.h>
#endif
#if defined(IDEMGEN_USE_DNNL)
#include <oneapi/dnnl/dnnl.h>
#endif

namespace {

using idemgen::index_t;

enum class kernel { openblas, eigen, avx2, dnnl };

void sgemm_slabs(benchmark::State& state, kernel which) {
  const bool ta = state.range(0) != 0, tb = state.range(1) != 0;
  const index_t m = state.range(2), n = state.range(3), k = state.range(4);
  const index_t lda = ta ? k : m, ldb = tb ? n : k;
  std::vector<float> a(static_cast<std::size_t>(lda * (ta ? m : k))),
      b(static_cast<std::size_t>(ldb * (tb ? k : n))), c(static_cast<std::size_t>(m * n));
  idemgen::random_stream rng(1);
  idemgen::backend::cpu<float>::fill_normal(idemgen::matrix_view<float>(a.data(), lda, ta ? m : k), rng);
  idemgen::backend::cpu<float>::fill_normal(idemgen::matrix_view<float>(b.data(), ldb, tb ? k : n), rng);
#if !defined(IDEMGEN_USE_CBLAS)
  if (which == kernel::openblas) return state.SkipWithError("built without OpenBLAS");
#endif
#if !defined(IDEMGEN_BENCH_HAVE_AVX2_SGEMM)
  if (which == kernel::avx2) return state.SkipWithError("built without AVX2 + FMA");
#endif
#if !defined(IDEMGEN_USE_DNNL)
  if (which == kernel::dnnl) return state.SkipWithError("built without oneDNN");
#endif
  for (auto _ : state) {
#pragma omp parallel num_threads(2)
    {
      // The split of backend/cpu_gemm.hpp: halves of the longer side of C.
      const int t = omp_get_thread_num();
      const bool by_columns = n >= m;
      const index_t extent = by_columns ? n : m, lo = t == 0 ? 0 : extent / 2,
                    hi = t == 0 ? extent / 2 : extent;
      const index_t r0 = by_columns ? 0 : lo, r1 = by_columns ? m : hi;
      const index_t c0 = by_columns ? lo : 0, c1 = by_columns ? hi : n;
      const float* ap = ta ? a.data() + r0 * lda : a.data() + r0;
      const float* bp = tb ? b.data() + c0 : b.data() + c0 * ldb;
      float* cp = c.data() + r0 + c0 * m;
      if (which == kernel::openblas) {
#if defined(IDEMGEN_USE_CBLAS)
        cblas_sgemm(CblasColMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                    static_cast<int>(r1 - r0), static_cast<int>(c1 - c0), static_cast<int>(k), 1.0f,
                    ap, static_cast<int>(lda), bp, static_cast<int>(ldb), 1.0f, cp, static_cast<int>(m));
#endif
      } else if (which == kernel::eigen) {
        using mat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic>;
        using stride = Eigen::OuterStride<>;
        Eigen::Map<mat, 0, stride> cm(cp, r1 - r0, c1 - c0, stride(m));
        Eigen::Map<const mat, 0, stride> am(ap, ta ? k : r1 - r0, ta ? r1 - r0 : k, stride(lda));
        Eigen::Map<const mat, 0, stride> bm(bp, tb ? c1 - c0 : k, tb ? k : c1 - c0, stride(ldb));
        if (!ta && !tb) cm.noalias() += am * bm;
        else if (!ta) cm.noalias() += am * bm.transpose();
        else if (!tb) cm.noalias() += am.transpose() * bm;
        else cm.noalias() += am.transpose() * bm.transpose();
      } else if (which == kernel::dnnl) {
#if defined(IDEMGEN_USE_DNNL)
        // oneDNN's sgemm is row-major: column-major C = op(A) op(B) is row-major Cᵀ = op(B)ᵀ op(A)ᵀ.
        dnnl_sgemm(tb ? 'T' : 'N', ta ? 'T' : 'N', c1 - c0, r1 - r0, k, 1.0f, bp, ldb, ap, lda, 1.0f, cp, m);
#endif
      } else {
#if defined(IDEMGEN_BENCH_HAVE_AVX2_SGEMM)
        idemgen::bench::avx2::sgemm(ta, tb, r1 - r0, c1 - c0, k, 1.0f, ap, lda, bp, ldb, 1.0f, cp, m);
#endif
      }
    }
    benchmark::DoNotOptimize(c.data());
  }
  state.counters["FLOP/s"] = benchmark::Counter(2.0 * static_cast<double>(m * n * k),
                                                benchmark::Counter::kIsIterationInvariantRate,
                                                benchmark::Counter::kIs1000);
}

void shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"ta", "tb", "m", "n", "k"});
  b->Args({0, 0, 512, 512, 512})->Args({0, 1, 512, 512, 512})->Args({1, 0, 512, 512, 512});
  b->Args({0, 0, 256, 512, 256})->Args({0, 1, 256, 256, 512})->Args({1, 0, 256, 512, 256});
  b->Unit(benchmark::kMicrosecond)->UseRealTime();
}

BENCHMARK_CAPTURE(sgemm_slabs, openblas, kernel::openblas)->Apply(shapes);
BENCHMARK_CAPTURE(sgemm_slabs, eigen, kernel::eigen)->Apply(shapes);
BENCHMARK_CAPTURE(sgemm_slabs, avx2_experiment, kernel::avx2)->Apply(shapes);
BENCHMARK_CAPTURE(sgemm_slabs, onednn, kernel::dnnl)->Apply(shapes);

}  // namespace

BENCHMARK_MAIN();
