#pragma once
// backend::cpu<Scalar>: the host implementation of the backend interface (the
// contract is written once, above the `backend` concept in core/concepts.hpp).
// GEMM goes to OpenBLAS (or Eigen, see cpu_gemm.hpp); elementwise work is `parallel_for` over a
// functor, split over OpenMP threads when large enough to pay for the fork. Inside each thread's
// chunk, scale, axpy and column_sums are Eigen expressions over Eigen::Map views of the chunk:
// they measured as fast as our loops or faster (column_sums 15x on 512 rows: Eigen vectorises
// the per-column sum that a sequential loop cannot); the layers' fused functors, row_sums and the
// double-accumulated sums stay loops, which measured faster (docs/PERFORMANCE.md, "Eigen").

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <vector>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "idemgen/core/eigen_core.hpp"

#include "idemgen/backend/cpu_gemm.hpp"
#include "idemgen/backend/cpu_parallel.hpp"
// oneDNN's C++ header crashes nvcc 13's front end (an internal assertion): translation units
// nvcc compiles see no direct convolution. None of them instantiates nn::conv2d on the CPU.
#if defined(IDEMGEN_USE_DNNL) && !defined(__CUDACC__)
#define IDEMGEN_CPU_DIRECT_CONV 1
#include "idemgen/backend/cpu_dnnl_conv.hpp"
#endif
#include "idemgen/backend/host_matrix.hpp"
#include "idemgen/core/errors.hpp"
#include "idemgen/core/rng.hpp"

namespace idemgen::backend {

template <class Scalar>
struct cpu {
  using scalar = Scalar;
  using space = host_space;
  using view = matrix_view<Scalar, host_space>;
  using const_view = matrix_view<const Scalar, host_space>;
  using index_view = matrix_view<index_t, host_space>;
  using const_index_view = matrix_view<const index_t, host_space>;
  using matrix = host_matrix<Scalar>;
  using index_matrix = host_matrix<index_t>;
#if defined(IDEMGEN_CPU_DIRECT_CONV)
  /// nn::conv2d's oneDNN path (an optional capability; float only: oneDNN has no f64 convolution).
  using direct_conv_slot = std::conditional_t<std::is_same_v<Scalar, float>, dnnl_conv::slot, void>;
#endif

  static constexpr const char* name = "cpu";

  /// Threads used by GEMM and by large elementwise loops: the OpenMP pool, which OpenBLAS (its
  /// OpenMP build) shares. GEMMs are split over these threads by us (cpu_gemm.hpp); OpenBLAS runs
  /// single-threaded inside our parallel region. (openblas_set_num_threads is not called: in the
  /// OpenMP build it resets the whole process's OpenMP thread count.)
  static void set_num_threads(int n) {
    if (n < 1) throw invalid_argument("cpu::set_num_threads", "n", ">= 1", fmt::format("{}", n));
#if defined(_OPENMP)
    omp_set_num_threads(n);
#endif
  }
  static int num_threads() { return detail::max_threads(); }

  // ---- dense algebra ------------------------------------------------------------------------
  static void gemm(transpose ta, transpose tb, Scalar alpha, const_view a, const_view b,
                   Scalar beta, view c) {
    gemm_host<Scalar>(ta, tb, alpha, a, b, beta, c);
  }

  /// Calls f(i) for i in [0, n). f must be IDEMGEN_HOST_DEVICE-callable and touch only memory
  /// of this backend's space; iterations must be independent.
  template <class F>
  static void parallel_for(index_t n, F f) {
    detail::parallel_chunks(n, detail::parallel_grain, [&](index_t begin, index_t end, int) {
      // A local copy of the functor: its captured pointers then live in registers. Through the
      // shared reference, every store p[i] might alias them and the loop would not vectorise.
      const F local = f;
#pragma omp simd
      for (index_t i = begin; i < end; ++i) local(i);
    });
  }

  /// Calls f(i, j) for every element of a rows × cols matrix (i fastest), for work that needs
  /// the row, such as a per-feature bias, without an integer division per element.
  template <class F>
  static void parallel_for_2d(index_t rows, index_t cols, F f) {
    const index_t grain = std::max<index_t>(1, detail::parallel_grain / std::max<index_t>(rows, 1));
    detail::parallel_chunks(cols, grain, [&](index_t begin, index_t end, int) {
      const F local = f;  // see parallel_for
      for (index_t j = begin; j < end; ++j) {
#pragma omp simd
        for (index_t i = 0; i < rows; ++i) local(i, j);
      }
    });
  }

  // ---- copies and fills ---------------------------------------------------------------------
  static void copy(const_view src, view dst) {
    same_shape("cpu::copy", src, dst);
    std::copy_n(src.data(), src.size(), dst.data());
  }
  static void copy_from_host(const Scalar* host, view dst) {
    std::copy_n(host, dst.size(), dst.data());
  }
  static void copy_to_host(const_view src, Scalar* host) {
    std::copy_n(src.data(), src.size(), host);
  }
  /// Indices (a coupling's assignment) from host memory.
  static void copy_from_host(const index_t* host, index_view dst) { std::copy_n(host, dst.size(), dst.data()); }
  static void fill(view x, Scalar value) { std::fill_n(x.data(), x.size(), value); }
  static void scale(view x, Scalar alpha) {
    Scalar* p = x.data();
    detail::parallel_chunks(x.size(), detail::parallel_grain,
                            [=](index_t b, index_t e, int) { array_map(p + b, e - b) *= alpha; });
  }
  /// y += alpha x
  static void axpy(Scalar alpha, const_view x, view y) {
    same_shape("cpu::axpy", x, y);
    const Scalar* px = x.data();
    Scalar* py = y.data();
    detail::parallel_chunks(x.size(), detail::parallel_grain, [=](index_t b, index_t e, int) {
      array_map(py + b, e - b) += alpha * const_array_map(px + b, e - b);
    });
  }

  // ---- reductions ---------------------------------------------------------------------------
  /// out(i) = beta out(i) + alpha Σ_j x(i, j): one value per row (bias gradients). out: rows × 1.
  static void row_sums(const_view x, view out, Scalar alpha = 1, Scalar beta = 0) {
    idemgen::detail::require_dim("cpu::row_sums", "out", "size", x.rows(), out.size());
    const index_t rows = x.rows(), cols = x.cols();
    // Threads split the rows; every thread walks all columns (contiguous reads per column).
    const index_t grain = x.size() >= detail::parallel_grain ? 16 : rows + 1;
    detail::parallel_chunks(rows, grain, [&](index_t begin, index_t end, int) {
      for (index_t i = begin; i < end; ++i) out[i] = beta == Scalar(0) ? Scalar(0) : beta * out[i];
      for (index_t j = 0; j < cols; ++j) {
        const Scalar* col = x.data() + j * rows;
#pragma omp simd
        for (index_t i = begin; i < end; ++i) out[i] += alpha * col[i];
      }
    });
  }
  /// y = z·σ(z) = z / (1 + e^{−z}) (SiLU) for n values, 0 where z < cutoff, with Eigen's
  /// vectorised exp: an optional capability nn::apply_activation uses where a backend has it
  /// (std::exp in a loop stays one libm call a value without -ffast-math).
  /// Eigen's packet exp on full packets, the tail through one zero-padded packet: every value
  /// goes through the same instructions, so the result does not depend on where the buffers lie
  /// (an Eigen array expression peels unaligned heads off to scalar std::exp: other bits), and
  /// none through a libm call (Eigen 3.4's select() is not vectorised: one expf a value).
  static void silu_values(const Scalar* z, Scalar* y, index_t n, Scalar cutoff) {
    detail::parallel_chunks(n, detail::parallel_grain,
                            [&](index_t begin, index_t end, int) { silu_span(z + begin, y + begin, end - begin, cutoff); });
  }
  /// silu_values on one thread (z == y allowed): for kernels that already run inside a
  /// parallel loop, e.g. nn::group_norm's fused activation, a group at a time.
  static void silu_span(const Scalar* z, Scalar* y, index_t n, Scalar cutoff) {
    namespace ei = Eigen::internal;
    using packet = typename ei::packet_traits<Scalar>::type;
    constexpr index_t width = ei::packet_traits<Scalar>::size;
    const packet cut = ei::pset1<packet>(cutoff), one = ei::pset1<packet>(Scalar(1)), zero = ei::pset1<packet>(Scalar(0));
    const auto silu = [&](const packet& v) {
      const packet value = ei::pdiv(v, ei::padd(one, ei::pexp(ei::pnegate(ei::pmax(v, cut)))));
      return ei::pselect(ei::pcmp_lt(v, cut), zero, value);
    };
    index_t e = 0;
    for (; e + width <= n; e += width) ei::pstoreu(y + e, silu(ei::ploadu<packet>(z + e)));
    if (e == n) return;
    Scalar tail[width] = {};
    for (index_t k = 0; k < n - e; ++k) tail[k] = z[e + k];
    ei::pstoreu(tail, silu(ei::ploadu<packet>(tail)));
    for (index_t k = 0; k < n - e; ++k) y[e + k] = tail[k];
  }
  /// out(j) = Σ_i x(i, j): one value per column (per-sample reductions). out: 1 × cols.
  static void column_sums(const_view x, view out) {
    idemgen::detail::require_dim("cpu::column_sums", "out", "size", x.cols(), out.size());
    const index_t rows = x.rows();
    const Scalar* p = x.data();
    Scalar* o = out.data();
    using columns = Eigen::Map<const Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>>;
    using sums = Eigen::Map<Eigen::Matrix<Scalar, 1, Eigen::Dynamic>>;
    detail::parallel_chunks(x.cols(), std::max<index_t>(1, detail::parallel_grain / std::max<index_t>(rows, 1)),
                            [&](index_t begin, index_t end, int) {
                              sums(o + begin, end - begin) = columns(p + begin * rows, rows, end - begin).colwise().sum();
                            });
  }
  static double sum(const_view x) {
    const Scalar* p = x.data();
    return detail::parallel_sum(x.size(), [=](index_t i) { return p[i]; });
  }
  static double dot(const_view a, const_view b) {
    same_shape("cpu::dot", a, b);
    const Scalar* pa = a.data();
    const Scalar* pb = b.data();
    return detail::parallel_sum(a.size(), [=](index_t i) { return static_cast<double>(pa[i]) * pb[i]; });
  }
  static double squared_norm(const_view x) { return dot(x, x); }
  static bool all_finite(const_view x) {
    const Scalar* p = x.data();
    // x - x is 0 for finite x and NaN for NaN and ±Inf; the sum is finite iff every term is.
    return std::isfinite(detail::parallel_sum(x.size(), [=](index_t i) { return p[i] - p[i]; }));
  }

  // ---- nearest neighbours -------------------------------------------------------------------
  /// out(i, j) = ‖a(:, i) − b(:, j)‖², a: d × m, b: d × n, out: m × n. For d > 8 it uses the GEMM
  /// identity ‖a‖² + ‖b‖² − 2aᵀb (clamped at 0), whose cancellation error is ~ε·‖a‖‖b‖.
  static void pairwise_squared_distances(const_view a, const_view b, view out) {
    idemgen::detail::require_dim("cpu::pairwise_squared_distances", "b", "rows", a.rows(), b.rows());
    idemgen::detail::require_shape("cpu::pairwise_squared_distances", "out", a.cols(), b.cols(), out.rows(), out.cols());
    const index_t d = a.rows(), m = a.cols();
    const Scalar* pa = a.data();
    const Scalar* pb = b.data();
    Scalar* po = out.data();
    if (d <= 8) {
      parallel_for_2d(m, b.cols(), [=](index_t i, index_t j) {
        Scalar acc = 0;
        for (index_t k = 0; k < d; ++k) {
          const Scalar diff = pa[k + i * d] - pb[k + j * d];
          acc += diff * diff;
        }
        po[i + j * m] = acc;
      });
      return;
    }
    gemm(transpose::yes, transpose::no, Scalar(-2), a, b, Scalar(0), out);
    auto& norms = workspace();
    norms.resize(a.cols() + b.cols(), 1);
    Scalar* na = norms.data();
    Scalar* nb = norms.data() + m;
    squared_column_norms(a, na);
    squared_column_norms(b, nb);
    parallel_for(out.size(), [=](index_t e) {
      const Scalar v = po[e] + na[e % m] + nb[e / m];
      po[e] = v > Scalar(0) ? v : Scalar(0);
    });
  }
  /// idx(j) = argmin_i d(i, j) (the first on ties; NaN never wins), optionally min_value(j).
  static void column_argmin(const_view d, index_view idx, view min_value = {}) {
    idemgen::detail::require_dim("cpu::column_argmin", "idx", "size", d.cols(), idx.size());
    if (!min_value.empty())
      idemgen::detail::require_dim("cpu::column_argmin", "min_value", "size", d.cols(), min_value.size());
    const index_t rows = d.rows();
    const Scalar* p = d.data();
    index_t* pi = idx.data();
    Scalar* pv = min_value.data();
    // Split the columns over threads by total work (rows × cols), not by column count alone.
    const index_t grain = std::max<index_t>(1, detail::parallel_grain / std::max<index_t>(rows, 1));
    detail::parallel_chunks(d.cols(), grain, [&](index_t begin, index_t end, int) {
      for (index_t j = begin; j < end; ++j) {
      index_t best = 0;
      Scalar best_value = p[j * rows];
      for (index_t i = 1; i < rows; ++i) {
        const Scalar v = p[i + j * rows];
        if (v < best_value || (best_value != best_value && v == v)) {
          best_value = v;
          best = i;
        }
      }
      pi[j] = best;
      if (pv) pv[j] = best_value;
      }
    });
  }
  /// dst(:, k) = src(:, idx(k)).
  static void gather_columns(const_view src, const_index_view idx, view dst) {
    idemgen::detail::require_shape("cpu::gather_columns", "dst", src.rows(), idx.size(), dst.rows(), dst.cols());
    const index_t rows = src.rows();
    for (index_t k = 0; k < idx.size(); ++k) {
      if (idx[k] < 0 || idx[k] >= src.cols())
        throw invalid_argument("cpu::gather_columns", "idx",
                               fmt::format("values in [0, {})", src.cols()),
                               fmt::format("{} at position {}", idx[k], k));
      std::copy_n(src.data() + idx[k] * rows, rows, dst.data() + k * rows);
    }
  }

  // ---- random fills (Philox, identical streams on every backend: core/rng.hpp) --------------
  static void fill_normal(view x, random_stream& rng, Scalar mean = 0, Scalar stddev = 1) {
    const philox_key key = rng.key();
    const std::uint64_t first = rng.reserve(static_cast<std::uint64_t>(x.size()));
    Scalar* p = x.data();
    fill_blocks(x.size(), [=](index_t e, const philox_block& b) {
      p[e] = mean + stddev * normal_from_block<Scalar>(b, static_cast<int>(e & 3));
    }, key, first);
  }
  static void fill_uniform(view x, random_stream& rng, Scalar low = 0, Scalar high = 1) {
    const philox_key key = rng.key();
    const std::uint64_t first = rng.reserve(static_cast<std::uint64_t>(x.size()));
    Scalar* p = x.data();
    fill_blocks(x.size(), [=](index_t e, const philox_block& b) {
      p[e] = low + (high - low) * uniform_open01<Scalar>(b.v[e & 3]);
    }, key, first);
  }

 private:
  using array_map = Eigen::Map<Eigen::Array<Scalar, Eigen::Dynamic, 1>>;
  using const_array_map = Eigen::Map<const Eigen::Array<Scalar, Eigen::Dynamic, 1>>;
  template <class A, class B>
  static void same_shape(const char* where, const A& a, const B& b) {
    idemgen::detail::require_shape(where, "second operand", a.rows(), a.cols(), b.rows(), b.cols());
  }
  static void squared_column_norms(const_view x, Scalar* out) {
    const index_t rows = x.rows();
    const Scalar* p = x.data();
    parallel_for(x.cols(), [=](index_t j) {
      Scalar acc = 0;
      for (index_t i = 0; i < rows; ++i) acc += p[i + j * rows] * p[i + j * rows];
      out[j] = acc;
    });
  }
  // Each Philox block feeds four consecutive elements; blocks are independent, so threads split
  // the block range and the result does not depend on the thread count.
  template <class Store>
  static void fill_blocks(index_t n, Store store, philox_key key, std::uint64_t first) {
    const index_t blocks = (n + 3) / 4;
    detail::parallel_chunks(blocks, detail::parallel_grain / 4, [&](index_t begin, index_t end, int) {
      for (index_t blk = begin; blk < end; ++blk) {
        const philox_block b = philox_block_at(key, first + static_cast<std::uint64_t>(blk));
        for (index_t e = blk * 4; e < std::min(n, blk * 4 + 4); ++e) store(e, b);
      }
    });
  }
  // Per-thread scratch reused across calls so that steady-state steps do not allocate.
  static host_matrix<Scalar>& workspace() {
    thread_local host_matrix<Scalar> w;
    return w;
  }
};

}  // namespace idemgen::backend
