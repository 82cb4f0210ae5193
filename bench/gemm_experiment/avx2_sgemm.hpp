#pragma once
// An experiment kept for re-measurement, not part of the library: a single-precision GEMM for one
// thread on x86-64 with AVX2 + FMA, written to replace OpenBLAS inside backend::cpu<float>'s
// per-thread slabs (backend/cpu_gemm.hpp). bench/bench_gemm.cpp times it against OpenBLAS.
//
// Blocking follows BLIS (Van Zee & van de Geijn, "BLIS: A Framework for Rapidly Instantiating
// BLAS Functionality", 2015): op(B) is packed kc × nr panel by panel, op(A) mc × kc in mr-row
// panels, and a register-blocked micro-kernel computes one mr × nr tile of C per call with 12
// ymm accumulators (two FMA pipes of latency 4 need ≥ 8 independent chains). Packing makes every
// transpose case the same kernel and pads edges with zeros. Measured on the build machines' Zen 3
// cores (docs/PERFORMANCE.md, "Our own AVX2 GEMM"): on par with OpenBLAS 0.3.21's
// sgemm_kernel_ZEN, in isolation and inside the training steps — so not adopted. On a machine
// where OpenBLAS is weaker, bench_gemm says whether that still holds.

#if defined(__AVX2__) && defined(__FMA__)
#define IDEMGEN_BENCH_HAVE_AVX2_SGEMM 1

#include <immintrin.h>

#include <algorithm>
#include <cstdlib>
#include <memory>

#include "idemgen/core/matrix_view.hpp"

namespace idemgen::bench::avx2 {

inline constexpr index_t mr = 16, nr = 6;
inline constexpr index_t kc_max = 512;  // a kc × nr panel of op(B) (12 KiB) stays in L1
inline constexpr index_t mc_max = 128;  // an mc × kc block of op(A) (256 KiB) stays in L2
inline constexpr index_t nc_max = 1020;  // a kc × nc block of op(B) (2 MiB) in L3; bounds the buffer

namespace detail {

/// Per-thread packing buffers, grown to the largest product seen and then reused (so that a
/// training step in steady state would allocate nothing).
struct pack_buffers {
  struct aligned_free {
    void operator()(float* p) const { std::free(p); }
  };
  std::unique_ptr<float, aligned_free> a, b;
  index_t a_size = 0, b_size = 0;
  static float* grow(std::unique_ptr<float, aligned_free>& p, index_t& have, index_t need) {
    if (need > have) {
      const auto bytes = static_cast<std::size_t>((need * 4 + 63) / 64 * 64);
      p.reset(static_cast<float*>(std::aligned_alloc(64, bytes)));
      if (!p) throw std::bad_alloc();
      have = need;
    }
    return p.get();
  }
};
inline pack_buffers& buffers() {
  thread_local pack_buffers b;
  return b;
}

/// Packs op(A)(i0 : i0 + mc, p0 : p0 + kc) as mr-row panels, each kc × mr, row-fastest; rows past
/// mc are zero.
inline void pack_a(bool trans, const float* a, index_t lda, index_t i0, index_t mc, index_t p0,
                   index_t kc, float* dst) {
  for (index_t ir = 0; ir < mc; ir += mr, dst += mr * kc) {
    const index_t rows = std::min(mr, mc - ir);
    if (!trans && rows == mr) {
      const float* src = a + (i0 + ir) + p0 * lda;
      for (index_t p = 0; p < kc; ++p, src += lda) {
        _mm256_store_ps(dst + p * mr, _mm256_loadu_ps(src));
        _mm256_store_ps(dst + p * mr + 8, _mm256_loadu_ps(src + 8));
      }
    } else if (!trans) {
      for (index_t p = 0; p < kc; ++p)
        for (index_t i = 0; i < mr; ++i)
          dst[p * mr + i] = i < rows ? a[(i0 + ir + i) + (p0 + p) * lda] : 0.0f;
    } else {
      // op(A)(i, p) = A(p, i): each of the panel's rows is a contiguous run of a column of A.
      for (index_t i = 0; i < mr; ++i) {
        if (i < rows) {
          const float* src = a + p0 + (i0 + ir + i) * lda;
          for (index_t p = 0; p < kc; ++p) dst[p * mr + i] = src[p];
        } else {
          for (index_t p = 0; p < kc; ++p) dst[p * mr + i] = 0.0f;
        }
      }
    }
  }
}

/// Packs alpha · op(B)(p0 : p0 + kc, j0 : j0 + nc) as nr-column panels, each kc × nr,
/// column-fastest; columns past nc are zero.
inline void pack_b(bool trans, const float* b, index_t ldb, index_t p0, index_t kc, index_t j0,
                   index_t nc, float alpha, float* dst) {
  for (index_t jr = 0; jr < nc; jr += nr, dst += nr * kc) {
    const index_t cols = std::min(nr, nc - jr);
    if (!trans) {
      const float* src = b + p0 + (j0 + jr) * ldb;
      for (index_t p = 0; p < kc; ++p)
        for (index_t j = 0; j < nr; ++j) dst[p * nr + j] = j < cols ? alpha * src[p + j * ldb] : 0.0f;
    } else {
      // op(B)(p, j) = B(j, p): a panel row is a contiguous run of a column of B.
      const float* src = b + (j0 + jr) + p0 * ldb;
      for (index_t p = 0; p < kc; ++p)
        for (index_t j = 0; j < nr; ++j) dst[p * nr + j] = j < cols ? alpha * src[j + p * ldb] : 0.0f;
    }
  }
}

/// The mr × nr tile at c (leading dimension ldc) = Ap Bp (+ the tile, when accumulate).
inline void micro_kernel(index_t kc, const float* __restrict ap, const float* __restrict bp,
                         float* c, index_t ldc, bool accumulate) {
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00,
         c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
#pragma GCC unroll 4
  for (index_t p = 0; p < kc; ++p, ap += mr, bp += nr) {
    const __m256 a0 = _mm256_load_ps(ap), a1 = _mm256_load_ps(ap + 8);
    __m256 b = _mm256_broadcast_ss(bp + 0);
    c00 = _mm256_fmadd_ps(a0, b, c00), c01 = _mm256_fmadd_ps(a1, b, c01);
    b = _mm256_broadcast_ss(bp + 1);
    c10 = _mm256_fmadd_ps(a0, b, c10), c11 = _mm256_fmadd_ps(a1, b, c11);
    b = _mm256_broadcast_ss(bp + 2);
    c20 = _mm256_fmadd_ps(a0, b, c20), c21 = _mm256_fmadd_ps(a1, b, c21);
    b = _mm256_broadcast_ss(bp + 3);
    c30 = _mm256_fmadd_ps(a0, b, c30), c31 = _mm256_fmadd_ps(a1, b, c31);
    b = _mm256_broadcast_ss(bp + 4);
    c40 = _mm256_fmadd_ps(a0, b, c40), c41 = _mm256_fmadd_ps(a1, b, c41);
    b = _mm256_broadcast_ss(bp + 5);
    c50 = _mm256_fmadd_ps(a0, b, c50), c51 = _mm256_fmadd_ps(a1, b, c51);
  }
  const __m256 tile[2 * nr] = {c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51};
  for (index_t j = 0; j < nr; ++j) {
    float* cj = c + j * ldc;
    __m256 lo = tile[2 * j], hi = tile[2 * j + 1];
    if (accumulate) {
      lo = _mm256_add_ps(lo, _mm256_loadu_ps(cj));
      hi = _mm256_add_ps(hi, _mm256_loadu_ps(cj + 8));
    }
    _mm256_storeu_ps(cj, lo);
    _mm256_storeu_ps(cj + 8, hi);
  }
}

}  // namespace detail

/// C(m × n) = alpha op(A) op(B) + beta C on the calling thread (column-major, leading dimensions
/// lda, ldb, ldc).
inline void sgemm(bool trans_a, bool trans_b, index_t m, index_t n, index_t k, float alpha,
                  const float* a, index_t lda, const float* b, index_t ldb, float beta, float* c,
                  index_t ldc) {
  if (m <= 0 || n <= 0) return;
  if (beta != 0.0f && beta != 1.0f)
    for (index_t j = 0; j < n; ++j)
      for (index_t i = 0; i < m; ++i) c[i + j * ldc] *= beta;
  if (k <= 0) {
    if (beta == 0.0f)
      for (index_t j = 0; j < n; ++j) std::fill(c + j * ldc, c + j * ldc + m, 0.0f);
    return;
  }
  auto& buf = detail::buffers();
  const index_t nc_step = std::min(n, nc_max), kc_step = std::min(k, kc_max);
  float* bp = detail::pack_buffers::grow(buf.b, buf.b_size, kc_step * ((nc_step + nr - 1) / nr * nr));
  float* ap = detail::pack_buffers::grow(buf.a, buf.a_size, kc_step * mc_max);
  alignas(32) float edge[mr * nr];
  for (index_t j0 = 0; j0 < n; j0 += nc_step) {
    const index_t nc = std::min(nc_step, n - j0);
    for (index_t p0 = 0; p0 < k; p0 += kc_step) {
      const index_t kc = std::min(kc_step, k - p0);
      const bool accumulate = p0 > 0 || beta != 0.0f;
      detail::pack_b(trans_b, b, ldb, p0, kc, j0, nc, alpha, bp);
      for (index_t i0 = 0; i0 < m; i0 += mc_max) {
        const index_t mc = std::min(mc_max, m - i0);
        detail::pack_a(trans_a, a, lda, i0, mc, p0, kc, ap);
        for (index_t jr = 0; jr < nc; jr += nr) {
          const index_t cols = std::min(nr, nc - jr);
          for (index_t ir = 0; ir < mc; ir += mr) {
            const index_t rows = std::min(mr, mc - ir);
            float* tile = c + (i0 + ir) + (j0 + jr) * ldc;
            if (rows == mr && cols == nr) {
              detail::micro_kernel(kc, ap + ir * kc, bp + jr * kc, tile, ldc, accumulate);
            } else {  // an edge tile: through a full-size scratch tile
              for (index_t j = 0; j < nr; ++j)
                for (index_t i = 0; i < mr; ++i)
                  edge[i + j * mr] = accumulate && i < rows && j < cols ? tile[i + j * ldc] : 0.0f;
              detail::micro_kernel(kc, ap + ir * kc, bp + jr * kc, edge, mr, true);
              for (index_t j = 0; j < cols; ++j)
                for (index_t i = 0; i < rows; ++i) tile[i + j * ldc] = edge[i + j * mr];
            }
          }
        }
      }
    }
  }
}

}  // namespace idemgen::bench::avx2

#endif  // __AVX2__ && __FMA__
