#pragma once
// General matrix multiply on the host: C = alpha op(A) op(B) + beta C, column-major.
// With IDEMGEN_USE_CBLAS (the default when CMake finds OpenBLAS) this calls cblas_?gemm; otherwise
// Eigen's own GEMM. Measured on the 2-core build machines (docs/PERFORMANCE.md), 512³ sgemm:
// Eigen 3.4 86–106 GFLOP/s, OpenBLAS 0.3.21 threaded 117–128, and OpenBLAS called single-threaded
// on each half of C from our own OpenMP region 134–145 (64×64×256: 42 vs 70). The split is also
// what keeps a training step allocation-free: OpenBLAS's threaded driver mallocs its job table on
// every call, its single-threaded path allocates nothing. Eigen's GEMM allocates packing space.
//
// float GEMM may instead run oneDNN's dnnl_sgemm on the same slabs: by default on an Intel CPU
// where oneDNN runs AVX-512 kernels (measured faster there than OpenBLAS's, and no faster with
// AVX2 kernels: docs/PERFORMANCE.md, "oneDNN's sgemm"), or as IDEMGEN_GEMM / set_host_sgemm say.
// oneDNN's sgemm mallocs its packing buffers on every call — as OpenBLAS 0.3.21's AVX-512
// small-matrix kernels do — so only OpenBLAS with its AVX2 kernels keeps a step allocation-free
// (docs/RELIABILITY.md). double always takes cblas_dgemm.

#include <algorithm>
#include <cstdlib>
#include <string_view>

#include <fmt/format.h>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "idemgen/core/errors.hpp"
#include "idemgen/core/matrix_view.hpp"

#if defined(IDEMGEN_USE_CBLAS)
#include <cblas.h>
#else
#include "idemgen/core/eigen_core.hpp"
#endif
#if defined(IDEMGEN_USE_CBLAS) && defined(IDEMGEN_USE_DNNL) && !defined(__CUDACC__)
#include <oneapi/dnnl/dnnl.h>
#define IDEMGEN_HAVE_ONEDNN_SGEMM 1
#endif

namespace idemgen::backend {

/// The kernel behind float GEMM on the host: OpenBLAS's sgemm or oneDNN's (the default: automatic_host_sgemm).
enum class host_sgemm { openblas, onednn };

/// Whether this build can run oneDNN's sgemm (OpenBLAS and oneDNN both found, a host compiler).
inline constexpr bool have_onednn_sgemm() {
#if defined(IDEMGEN_HAVE_ONEDNN_SGEMM)
  return true;
#else
  return false;
#endif
}

/// The kernel IDEMGEN_GEMM unset (or "auto") takes: oneDNN's sgemm on an Intel CPU where oneDNN
/// runs AVX-512 kernels (ONEDNN_MAX_CPU_ISA is respected), OpenBLAS's elsewhere — the machines
/// each was measured faster on. AMD's AVX-512 (Zen 4) was not measured: OpenBLAS there.
inline host_sgemm automatic_host_sgemm() {
#if defined(IDEMGEN_HAVE_ONEDNN_SGEMM) && (defined(__x86_64__) || defined(__i386__))
  const auto isa = static_cast<unsigned>(dnnl_get_effective_cpu_isa());
  const auto avx512 = static_cast<unsigned>(dnnl_cpu_isa_avx512_core);
  if (__builtin_cpu_is("intel") && (isa & avx512) == avx512) return host_sgemm::onednn;
#endif
  return host_sgemm::openblas;
}

namespace detail {
inline host_sgemm checked_sgemm(host_sgemm k) {
  if (k == host_sgemm::onednn && !have_onednn_sgemm())
    throw invalid_argument("set_host_sgemm", "kernel", "openblas (this build has no oneDNN sgemm)", "onednn");
  return k;
}
/// IDEMGEN_GEMM from the environment: unset or "auto" (automatic_host_sgemm), "openblas" or
/// "onednn"; anything else is an invalid_argument at the first GEMM.
inline host_sgemm& host_sgemm_choice() {
  static host_sgemm choice = [] {
    const char* v = std::getenv("IDEMGEN_GEMM");
    const std::string_view name = v == nullptr ? "auto" : v;
    if (name == "auto") return automatic_host_sgemm();
    if (name == "openblas") return host_sgemm::openblas;
    if (name == "onednn") return checked_sgemm(host_sgemm::onednn);
    throw invalid_argument("IDEMGEN_GEMM", "value", "auto, openblas or onednn", name);
  }();
  return choice;
}
}  // namespace detail

/// The float GEMM kernel every later call takes (IDEMGEN_GEMM sets the first; invalid_argument
/// for onednn in a build without it). Set it between steps, not while another thread multiplies.
inline void set_host_sgemm(host_sgemm kernel) { detail::host_sgemm_choice() = detail::checked_sgemm(kernel); }
inline host_sgemm current_host_sgemm() { return detail::host_sgemm_choice(); }

namespace detail {
/// Threads worth using for an m × n × k product: one unless OpenMP is on, the product is large
/// enough to amortise a fork (≈ 64³ multiply-adds) and the split side has two 16-wide slabs.
inline int gemm_threads(index_t m, index_t n, index_t k) {
#if defined(_OPENMP)
  const int max = omp_get_max_threads();
  if (max <= 1 || omp_in_parallel() || m * n * k < 262144 || std::max(m, n) < 32) return 1;
  return static_cast<int>(std::min<index_t>(max, std::max(m, n) / 16));
#else
  (void)m, (void)n, (void)k;
  return 1;
#endif
}
}  // namespace detail

template <class Scalar>
void gemm_host(transpose ta, transpose tb, Scalar alpha, matrix_view<const Scalar> a,
               matrix_view<const Scalar> b, Scalar beta, matrix_view<Scalar> c) {
  const index_t m = ta == transpose::no ? a.rows() : a.cols();
  const index_t k = ta == transpose::no ? a.cols() : a.rows();
  const index_t kb = tb == transpose::no ? b.rows() : b.cols();
  const index_t n = tb == transpose::no ? b.cols() : b.rows();
  if (k != kb)
    throw shape_error("gemm", "b", fmt::format("op(b) rows {} (= op(a) cols)", k),
                      fmt::format("{}", kb));
  if (c.rows() != m || c.cols() != n)
    throw shape_error("gemm", "c", fmt::format("{}x{}", m, n),
                      fmt::format("{}x{}", c.rows(), c.cols()));
  if (m == 0 || n == 0) return;
#if defined(IDEMGEN_USE_CBLAS)
  const Scalar* pa = a.data();
  const Scalar* pb = b.data();
  Scalar* pc = c.data();
  const index_t lda = std::max<index_t>(a.rows(), 1), ldb = std::max<index_t>(b.rows(), 1),
              ldc = std::max<index_t>(c.rows(), 1);
  // k = 0 stays on cblas: dnnl_sgemm returns without scaling C by β there.
  [[maybe_unused]] const bool onednn = sizeof(Scalar) == 4 && k > 0 && current_host_sgemm() == host_sgemm::onednn;
  // C(r0:r1, c0:c1) = op(A)(r0:r1, :) op(B)(:, c0:c1), on the calling thread; false if oneDNN
  // refused the call (cblas reports through its own error handler).
  const auto block = [&](index_t r0, index_t r1, index_t c0, index_t c1) {
    const Scalar* ap = ta == transpose::no ? pa + r0 : pa + r0 * lda;
    const Scalar* bp = tb == transpose::no ? pb + c0 * ldb : pb + c0;
    const auto t = [](transpose x) { return x == transpose::yes ? CblasTrans : CblasNoTrans; };
    const int mm = static_cast<int>(r1 - r0), nn = static_cast<int>(c1 - c0);
#if defined(IDEMGEN_HAVE_ONEDNN_SGEMM)
    if constexpr (sizeof(Scalar) == 4) {
      if (onednn)  // dnnl_sgemm is row-major: column-major C = op(A) op(B) is row-major Cᵀ = op(B)ᵀ op(A)ᵀ
        return dnnl_sgemm(tb == transpose::yes ? 'T' : 'N', ta == transpose::yes ? 'T' : 'N', nn, mm, k, alpha, bp,
                          ldb, ap, lda, beta, pc + r0 + c0 * ldc, ldc) == dnnl_success;
    }
#endif
    if constexpr (sizeof(Scalar) == 4)
      cblas_sgemm(CblasColMajor, t(ta), t(tb), mm, nn, static_cast<int>(k), alpha, ap,
                  static_cast<int>(lda), bp, static_cast<int>(ldb), beta, pc + r0 + c0 * ldc,
                  static_cast<int>(ldc));
    else
      cblas_dgemm(CblasColMajor, t(ta), t(tb), mm, nn, static_cast<int>(k), alpha, ap,
                  static_cast<int>(lda), bp, static_cast<int>(ldb), beta, pc + r0 + c0 * ldc,
                  static_cast<int>(ldc));
    return true;
  };
  const auto refused = [&] {
    return invalid_argument("gemm", "dnnl_sgemm", "a call oneDNN accepts",
                            fmt::format("refused for {}x{}x{}", m, n, k));
  };
  const int threads = detail::gemm_threads(m, n, k);
  if (threads <= 1) {
    if (!block(0, m, 0, n)) throw refused();
    return;
  }
  // Split the longer side of C into one contiguous slab per thread (a multiple of 16 so that
  // each slab keeps whole micro-kernel tiles). (gemm_threads is 1 without OpenMP.)
#if defined(_OPENMP)
  bool all_done = true;
#pragma omp parallel num_threads(threads)
  {
    const int tid = omp_get_thread_num(), nt = omp_get_num_threads();
    const index_t extent = n >= m ? n : m;
    const auto cut = [&](int i) { return std::min(extent, (extent * i / nt + 8) / 16 * 16); };
    const index_t lo = tid == 0 ? 0 : cut(tid), hi = tid == nt - 1 ? extent : cut(tid + 1);
    if (hi > lo && !(n >= m ? block(0, m, lo, hi) : block(lo, hi, 0, n))) {
#pragma omp atomic write
      all_done = false;
    }
  }
  if (!all_done) throw refused();
#endif
#else
  using mat = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
  Eigen::Map<const mat> ea(a.data(), a.rows(), a.cols());
  Eigen::Map<const mat> eb(b.data(), b.rows(), b.cols());
  Eigen::Map<mat> ec(c.data(), c.rows(), c.cols());
  if (beta == Scalar(0))
    ec.setZero();
  else if (beta != Scalar(1))
    ec *= beta;
  if (k == 0) return;
  if (ta == transpose::no && tb == transpose::no)
    ec.noalias() += alpha * ea * eb;
  else if (ta == transpose::no)
    ec.noalias() += alpha * ea * eb.transpose();
  else if (tb == transpose::no)
    ec.noalias() += alpha * ea.transpose() * eb;
  else
    ec.noalias() += alpha * ea.transpose() * eb.transpose();
#endif
}

}  // namespace idemgen::backend
