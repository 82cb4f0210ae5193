#pragma once
// The CPU backend's threading: how many OpenMP threads a loop may use, one contiguous chunk of
// [0, n) per thread (parallel_chunks, below parallel_grain elements on one thread), and the
// deterministic parallel sum. backend/cpu.hpp builds parallel_for and its reductions on them.

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "idemgen/core/config.hpp"
#include "idemgen/core/lane_sum.hpp"

namespace idemgen::backend {

namespace detail {
/// Threads a loop may use: one inside an active parallel region (a batch shard's own operations,
/// nn/batch_shards.hpp, run on its thread; a nested region would only add its overhead).
inline int max_threads() {
#if defined(_OPENMP)
  return omp_in_parallel() ? 1 : omp_get_max_threads();
#else
  return 1;
#endif
}
inline int thread_id() {
#if defined(_OPENMP)
  return omp_get_thread_num();
#else
  return 0;
#endif
}
// Below this many elements a loop runs on one thread: an OpenMP fork/join costs a few µs.
inline constexpr index_t parallel_grain = 32768;

/// Splits [0, n) into one contiguous chunk per thread and calls body(begin, end, thread).
template <class Body>
void parallel_chunks(index_t n, index_t grain, Body&& body) {
  const int threads = n >= grain ? max_threads() : 1;
  if (threads <= 1) {
    body(index_t{0}, n, 0);
    return;
  }
#if defined(_OPENMP)
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    const index_t begin = n * t / nt, end = n * (t + 1) / nt;
    body(begin, end, t);
  }
#endif
}

/// Deterministic parallel sum: per-thread partials in double, combined in thread order, each
/// thread's in lane_sum's 8 accumulators (the gradient norm of a step was 2 % of its time as one
/// running sum).
template <class Term>
double parallel_sum(index_t n, Term&& term) {
  double partial[64] = {};
  parallel_chunks(n, parallel_grain, [&](index_t begin, index_t end, int t) {
    partial[t % 64] += idemgen::detail::lane_sum<double>(begin, end, term);
  });
  double total = 0;
  for (double p : partial) total += p;
  return total;
}
}  // namespace detail

}  // namespace idemgen::backend
