#pragma once
// A network pass split over the batch: on the CPU with T > 1 threads and at least T · 64 columns
// (a network may lower the 64: min_shard_columns_of),
// network_base runs the network's single-threaded forward and backward on T contiguous column
// shards at once, one OpenMP thread each, every shard with its own cache and gradient buffer,
// and sums the shards' parameter gradients at the end in shard order.
//
// Why: splitting each GEMM of a pass over the threads instead (backend/cpu_gemm.hpp) costs one
// fork/join per operation (≈ 30 in a step) and moves activations between the cores' caches — a
// weight gradient needs every column of both operands. With shards, each activation stays in the
// cache of the thread that made it. Measured against the per-operation split, interleaved A/B of
// the bench programs (docs/PERFORMANCE.md, "Batch shards"): FM and EDM steps −10 to −13 %, CDM
// −3 to −9 %, IGN and NAIGN −5 %, the toy mlp step (width 64, batch 256) −34 %; the width-512
// mlp step unchanged (its per-thread GEMMs are the same, and summing the shards' 0.5 M gradients
// costs what the saved synchronisation gains).
//
// Results: the same for a given thread count, run after run (fixed shards, fixed summation
// order). Between thread counts, parameter gradients differ by float rounding (a sum over the
// batch is split differently), as in any data-parallel training.

#include <exception>
#include <type_traits>
#include <utility>
#include <vector>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "idemgen/core/concepts.hpp"

namespace idemgen::nn {

/// What a cache holds when its forward ran as shards: one cache per shard, the assembled output
/// and input gradient, and one gradient buffer per shard (parameter_count × count). count is 0
/// when the last forward ran unsplit.
template <class Cache, numeric_backend B>
struct batch_shards {
  std::vector<Cache> caches;
  typename B::matrix output, dx, grads;
  int count = 0;
};

namespace detail {

/// The fewest columns a shard takes: 64 for the MLPs (below that, per-operation threads win);
/// a network whose columns are heavy (an image through convolutions) declares its own
/// `static constexpr index_t min_shard_columns`.
inline constexpr index_t min_shard_columns = 64;
template <class Net>
constexpr index_t min_shard_columns_of() {
  if constexpr (requires { Net::min_shard_columns; }) return Net::min_shard_columns;
  else return min_shard_columns;
}

/// How many shards a pass over n columns splits into (1: unsplit). Only host backends split, and
/// never inside a parallel region (a shard's own operations then run single-threaded).
template <numeric_backend B>
int shard_count(index_t n, index_t min_columns = min_shard_columns) {
  if constexpr (std::is_same_v<typename B::space, host_space>) {
    const int threads = B::num_threads();  // 1 inside a parallel region
    return threads > 1 && n >= threads * min_columns ? threads : 1;
  }
  (void)n;
  (void)min_columns;
  return 1;
}

/// Columns [first, second) of shard t of count over n columns.
inline std::pair<index_t, index_t> shard_columns(index_t n, int count, int t) {
  return {n * t / count, n * (t + 1) / count};
}

/// body(t) for every t < count, on the threads of one parallel region; the first exception a
/// shard throws is rethrown here (an exception may not leave an OpenMP region).
template <class Body>
void run_shards(int count, Body&& body) {
  std::exception_ptr error;
#if defined(_OPENMP)
#pragma omp parallel num_threads(count)
  for (int t = omp_get_thread_num(); t < count; t += omp_get_num_threads()) {
    try {
      body(t);
    } catch (...) {
#pragma omp critical(idemgen_run_shards)
      if (!error) error = std::current_exception();
    }
  }
#else
  for (int t = 0; t < count; ++t) body(t);
#endif
  if (error) std::rethrow_exception(error);
}

}  // namespace detail
}  // namespace idemgen::nn
