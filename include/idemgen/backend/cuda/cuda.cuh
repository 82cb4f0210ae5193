#pragma once
// backend::cuda<float>: the backend interface (core/concepts.hpp) on an NVIDIA GPU.
// Memory is device_matrix (caching pool, no managed memory); GEMM and the row/column sums are
// cuBLAS on one stream; everything else is a kernel of its own. Random fills run the same
// Philox-4x32-10 code as the CPU backend (core/rng.hpp), so a seeded run draws the same noise on
// both. Reductions accumulate in double, like the CPU backend (the order differs: equal to float
// tolerance, not bitwise). Functors given to parallel_for run on the device: write them as
// `[=] IDEMGEN_HOST_DEVICE (index_t i) { … }` and capture only device pointers and values.
// Only seen by nvcc (include it from .cu files); build with --extended-lambda.

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cmath>
#include <string>
#include <vector>

#include "idemgen/backend/cuda/check.cuh"
#include "idemgen/backend/cuda/context.cuh"
#include "idemgen/backend/cuda/device_matrix.cuh"
#include "idemgen/backend/cuda/kernels.cuh"
#include "idemgen/core/concepts.hpp"
#include "idemgen/core/errors.hpp"
#include "idemgen/core/rng.hpp"

namespace idemgen::backend {


template <class Scalar>
struct cuda;

template <>
struct cuda<float> {
  using scalar = float;
  using space = device_space;
  using view = matrix_view<float, device_space>;
  using const_view = matrix_view<const float, device_space>;
  using index_view = matrix_view<index_t, device_space>;
  using const_index_view = matrix_view<const index_t, device_space>;
  using matrix = device_matrix<float>;
  using index_matrix = device_matrix<index_t>;

  static constexpr const char* name = "cuda";

  static bool available() { return cuda_detail::device_available(); }
  static cudaStream_t stream() { return ctx().stream; }
  static void synchronize() {
    cuda_detail::check(cudaStreamSynchronize(ctx().stream), "cuda::synchronize", "cudaStreamSynchronize");
  }

  // ---- dense algebra ------------------------------------------------------------------------
  static void gemm(transpose ta, transpose tb, float alpha, const_view a, const_view b, float beta, view c) {
    const bool at = ta == transpose::yes, bt = tb == transpose::yes;
    const index_t m = at ? a.cols() : a.rows(), k = at ? a.rows() : a.cols();
    const index_t kb = bt ? b.cols() : b.rows(), n = bt ? b.rows() : b.cols();
    if (!(k == kb && c.rows() == m && c.cols() == n))  // formats only on failure: gemm is called per layer
      throw shape_error("cuda::gemm", "operands",
                                   fmt::format("op(a) {}x{}, op(b) {}x{}, c {}x{}", m, k, k, n, m, n),
                                   fmt::format("op(b) {}x{}, c {}x{}", kb, n, c.rows(), c.cols()));
    if (m == 0 || n == 0) return;
    cuda_detail::check(cublasSgemm(ctx().blas, at ? CUBLAS_OP_T : CUBLAS_OP_N, bt ? CUBLAS_OP_T : CUBLAS_OP_N,
                                   static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), &alpha, a.data(),
                                   static_cast<int>(std::max<index_t>(a.rows(), 1)), b.data(),
                                   static_cast<int>(std::max<index_t>(b.rows(), 1)), &beta, c.data(),
                                   static_cast<int>(std::max<index_t>(c.rows(), 1))),
                       "cuda::gemm", "cublasSgemm");
  }

  /// f(i) for i in [0, n) on the device; f must be a __host__ __device__ functor.
  template <class F>
  static void parallel_for(index_t n, F f) {
    if (n <= 0) return;
    cuda_detail::for_each<<<cuda_detail::grid_for(n), cuda_detail::block_size, 0, ctx().stream>>>(n, f);
    cuda_detail::check(cudaGetLastError(), "cuda::parallel_for", "kernel launch");
  }
  template <class F>
  static void parallel_for_2d(index_t rows, index_t cols, F f) {
    if (rows <= 0 || cols <= 0) return;
    parallel_for(rows * cols, [=] IDEMGEN_HOST_DEVICE(index_t e) { f(e % rows, e / rows); });
  }

  // ---- copies and fills ---------------------------------------------------------------------
  static void copy(const_view src, view dst) {
    same_shape("cuda::copy", src, dst);
    memcpy(dst.data(), src.data(), src.size(), cudaMemcpyDeviceToDevice, "cuda::copy");
  }
  static void copy_from_host(const float* host, view dst) {
    memcpy(dst.data(), host, dst.size(), cudaMemcpyHostToDevice, "cuda::copy_from_host");
  }
  static void copy_to_host(const_view src, float* host) {
    memcpy(host, src.data(), src.size(), cudaMemcpyDeviceToHost, "cuda::copy_to_host");
    synchronize();
  }
  /// Indices (a coupling's assignment) from host memory.
  static void copy_from_host(const index_t* host, index_view dst) {
    memcpy(dst.data(), host, dst.size(), cudaMemcpyHostToDevice, "cuda::copy_from_host");
  }
  static void fill(view x, float value) {
    float* p = x.data();
    parallel_for(x.size(), [=] IDEMGEN_HOST_DEVICE(index_t i) { p[i] = value; });
  }
  static void scale(view x, float alpha) {
    float* p = x.data();
    parallel_for(x.size(), [=] IDEMGEN_HOST_DEVICE(index_t i) { p[i] *= alpha; });
  }
  static void axpy(float alpha, const_view x, view y) {
    same_shape("cuda::axpy", x, y);
    const float* px = x.data();
    float* py = y.data();
    parallel_for(x.size(), [=] IDEMGEN_HOST_DEVICE(index_t i) { py[i] += alpha * px[i]; });
  }

  // ---- reductions ---------------------------------------------------------------------------
  /// out(i) = alpha Σ_j x(i, j) + beta out(i)  (out: rows × 1 or 1 × rows).
  static void row_sums(const_view x, view out, float alpha = 1, float beta = 0) {
    idemgen::detail::require_dim("cuda::row_sums", "out", "size", x.rows(), out.size());
    if (x.cols() == 0) {
      scale(out, beta);
      return;
    }
    cuda_detail::check(cublasSgemv(ctx().blas, CUBLAS_OP_N, static_cast<int>(x.rows()), static_cast<int>(x.cols()),
                                   &alpha, x.data(), static_cast<int>(std::max<index_t>(x.rows(), 1)),
                                   ctx().ones_of(x.cols()), 1, &beta, out.data(), 1),
                       "cuda::row_sums", "cublasSgemv");
  }
  /// out(j) = Σ_i x(i, j).
  static void column_sums(const_view x, view out) {
    idemgen::detail::require_dim("cuda::column_sums", "out", "size", x.cols(), out.size());
    const float one = 1, zero = 0;
    cuda_detail::check(cublasSgemv(ctx().blas, CUBLAS_OP_T, static_cast<int>(x.rows()), static_cast<int>(x.cols()),
                                   &one, x.data(), static_cast<int>(std::max<index_t>(x.rows(), 1)),
                                   ctx().ones_of(x.rows()), 1, &zero, out.data(), 1),
                       "cuda::column_sums", "cublasSgemv");
  }
  static double sum(const_view x) {
    const float* p = x.data();
    return reduce(x.size(), [=] IDEMGEN_HOST_DEVICE(index_t i) { return static_cast<double>(p[i]); });
  }
  static double dot(const_view a, const_view b) {
    same_shape("cuda::dot", a, b);
    const float* pa = a.data();
    const float* pb = b.data();
    return reduce(a.size(), [=] IDEMGEN_HOST_DEVICE(index_t i) { return static_cast<double>(pa[i]) * pb[i]; });
  }
  static double squared_norm(const_view x) { return dot(x, x); }
  static bool all_finite(const_view x) {
    const float* p = x.data();
    return reduce(x.size(), [=] IDEMGEN_HOST_DEVICE(index_t i) { return isfinite(p[i]) ? 0.0 : 1.0; }) == 0.0;
  }

  // ---- nearest neighbours -------------------------------------------------------------------
  /// out(i, j) = ‖a_i − b_j‖² (columns), via ‖a‖² + ‖b‖² − 2 aᵀb, clamped at 0. The squared
  /// norms are formed once per column (O((m + n) d)), not once per output element (O(m n d)).
  static void pairwise_squared_distances(const_view a, const_view b, view out) {
    if (!(a.rows() == b.rows() && out.rows() == a.cols() && out.cols() == b.cols()))
      throw shape_error("cuda::pairwise_squared_distances", "out",
                                   fmt::format("{}x{}", a.cols(), b.cols()), fmt::format("{}x{}", out.rows(), out.cols()));
    gemm(transpose::yes, transpose::no, -2.0f, a, b, 0.0f, out);
    const index_t d = a.rows(), m = a.cols(), n = b.cols();
    auto& c = ctx();
    c.norms.resize(m + n, 1);
    float* pn = c.norms.data();
    const float* pa = a.data();
    const float* pb = b.data();
    parallel_for(m + n, [=] IDEMGEN_HOST_DEVICE(index_t j) {
      const float* col = j < m ? pa + j * d : pb + (j - m) * d;
      float s = 0;
      for (index_t k = 0; k < d; ++k) s += col[k] * col[k];
      pn[j] = s;
    });
    float* po = out.data();
    parallel_for(out.size(), [=] IDEMGEN_HOST_DEVICE(index_t e) {
      const float v = po[e] + pn[e % m] + pn[m + e / m];
      po[e] = v > 0 ? v : 0;
    });
  }
  /// idx(j) = argmin_i d(i, j), min_value(j) = that minimum (when given).
  static void column_argmin(const_view d, index_view idx, view min_value = {}) {
    idemgen::detail::require_dim("cuda::column_argmin", "idx", "size", d.cols(), idx.size());
    if (!min_value.empty())
      idemgen::detail::require_dim("cuda::column_argmin", "min_value", "size", d.cols(), min_value.size());
    if (d.cols() == 0) return;
    cuda_detail::argmin_columns<float><<<static_cast<unsigned>(d.cols()), cuda_detail::block_size, 0, ctx().stream>>>(
        d.rows(), d.cols(), d.data(), idx.data(), min_value.data());
    cuda_detail::check(cudaGetLastError(), "cuda::column_argmin", "kernel launch");
  }
  /// dst(:, k) = src(:, idx(k)); an index outside [0, src.cols()) throws invalid_argument.
  static void gather_columns(const_view src, const_index_view idx, view dst) {
    idemgen::detail::require_shape("cuda::gather_columns", "dst", src.rows(), idx.size(), dst.rows(), dst.cols());
    const index_t rows = src.rows(), cols = src.cols();
    const index_t* pi = idx.data();
    const double bad = reduce(idx.size(), [=] IDEMGEN_HOST_DEVICE(index_t k) {
      return pi[k] < 0 || pi[k] >= cols ? 1.0 : 0.0;
    });
    if (bad > 0)
      throw invalid_argument("cuda::gather_columns", "idx", fmt::format("values in [0, {})", cols),
                             fmt::format("{} values outside", static_cast<long long>(bad)));
    const float* ps = src.data();
    float* pd = dst.data();
    parallel_for(dst.size(), [=] IDEMGEN_HOST_DEVICE(index_t e) { pd[e] = ps[e % rows + pi[e / rows] * rows]; });
  }

  // ---- random fills (the CPU backend's Philox code, element for element) --------------------
  static void fill_normal(view x, random_stream& rng, float mean = 0, float stddev = 1) {
    const philox_key key = rng.key();
    const std::uint64_t first = rng.reserve(static_cast<std::uint64_t>(x.size()));
    float* p = x.data();
    parallel_for(x.size(), [=] IDEMGEN_HOST_DEVICE(index_t e) {
      const philox_block b = philox_block_at(key, first + static_cast<std::uint64_t>(e / 4));
      p[e] = mean + stddev * normal_from_block<float>(b, static_cast<int>(e & 3));
    });
  }
  static void fill_uniform(view x, random_stream& rng, float low = 0, float high = 1) {
    const philox_key key = rng.key();
    const std::uint64_t first = rng.reserve(static_cast<std::uint64_t>(x.size()));
    float* p = x.data();
    parallel_for(x.size(), [=] IDEMGEN_HOST_DEVICE(index_t e) {
      const philox_block b = philox_block_at(key, first + static_cast<std::uint64_t>(e / 4));
      p[e] = low + (high - low) * uniform_open01<float>(b.v[e & 3]);
    });
  }

 private:
  static cuda_detail::context& ctx() { return cuda_detail::context::get(); }
  template <class A, class B>
  static void same_shape(const char* where, const A& a, const B& b) {
    idemgen::detail::require_shape(where, "second operand", a.rows(), a.cols(), b.rows(), b.cols());
  }
  template <class D, class S>
  static void memcpy(D* dst, const S* src, index_t n, cudaMemcpyKind kind, const char* where) {
    if (n <= 0) return;
    static_assert(sizeof(D) == sizeof(S), "cuda::memcpy copies between buffers of one element type");
    cuda_detail::check(cudaMemcpyAsync(dst, src, static_cast<std::size_t>(n) * sizeof(S), kind, ctx().stream),
                       where, "cudaMemcpyAsync");
  }
  template <class Term>
  static double reduce(index_t n, Term term) {
    if (n <= 0) return 0.0;
    auto& c = ctx();
    c.accum.resize(1, 1);
    cuda_detail::check(cudaMemsetAsync(c.accum.data(), 0, sizeof(double), c.stream), "cuda::reduce", "cudaMemsetAsync");
    cuda_detail::reduce_sum<<<cuda_detail::grid_for(n), cuda_detail::block_size, 0, c.stream>>>(n, term, c.accum.data());
    cuda_detail::check(cudaGetLastError(), "cuda::reduce", "kernel launch");
    double result = 0;
    cuda_detail::check(cudaMemcpyAsync(&result, c.accum.data(), sizeof(double), cudaMemcpyDeviceToHost, c.stream),
                       "cuda::reduce", "cudaMemcpyAsync");
    synchronize();
    return result;
  }
};



static_assert(numeric_backend<cuda<float>>, "backend::cuda<float> must satisfy idemgen::numeric_backend");

}  // namespace idemgen::backend
