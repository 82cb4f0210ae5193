#pragma once
// General matrix multiply on the host: C = alpha op(A) op(B) + beta C, column-major.
// With IDEMGEN_USE_CBLAS (the default when CMake finds OpenBLAS) this calls cblas_?gemm; otherwise
// Eigen's own GEMM. On the 2-core build machines OpenBLAS 0.3.21 ran 512³ sgemm at 116–130
// GFLOP/s against Eigen 3.4's 86–106 (docs/PERFORMANCE.md), and it keeps its packing buffers
// between calls, so a training step allocates nothing; Eigen's GEMM allocates packing space
// per call.

#include <fmt/format.h>

#include "idemgen/core/errors.hpp"
#include "idemgen/core/matrix_view.hpp"

#if defined(IDEMGEN_USE_CBLAS)
#include <cblas.h>
#else
#include <Eigen/Core>
#endif

namespace idemgen::backend {

template <class Scalar>
void gemm_host(transpose ta, transpose tb, Scalar alpha, matrix_view<const Scalar> a,
               matrix_view<const Scalar> b, Scalar beta, matrix_view<Scalar> c) {
  const index m = ta == transpose::no ? a.rows() : a.cols();
  const index k = ta == transpose::no ? a.cols() : a.rows();
  const index kb = tb == transpose::no ? b.rows() : b.cols();
  const index n = tb == transpose::no ? b.cols() : b.rows();
  if (k != kb)
    throw shape_error("gemm", "b", fmt::format("op(b) rows {} (= op(a) cols)", k),
                      fmt::format("{}", kb));
  if (c.rows() != m || c.cols() != n)
    throw shape_error("gemm", "c", fmt::format("{}x{}", m, n),
                      fmt::format("{}x{}", c.rows(), c.cols()));
  if (m == 0 || n == 0) return;
#if defined(IDEMGEN_USE_CBLAS)
  const auto t = [](transpose x) { return x == transpose::yes ? CblasTrans : CblasNoTrans; };
  const auto ld = [](index rows) { return static_cast<int>(rows > 1 ? rows : 1); };
  if constexpr (sizeof(Scalar) == 4)
    cblas_sgemm(CblasColMajor, t(ta), t(tb), static_cast<int>(m), static_cast<int>(n),
                static_cast<int>(k), alpha, a.data(), ld(a.rows()), b.data(), ld(b.rows()), beta,
                c.data(), ld(c.rows()));
  else
    cblas_dgemm(CblasColMajor, t(ta), t(tb), static_cast<int>(m), static_cast<int>(n),
                static_cast<int>(k), alpha, a.data(), ld(a.rows()), b.data(), ld(b.rows()), beta,
                c.data(), ld(c.rows()));
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
