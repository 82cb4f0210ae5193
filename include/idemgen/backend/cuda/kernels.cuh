#pragma once
// The CUDA backend's own kernels (backend/cuda/cuda.cuh launches them): a grid-stride for_each
// for parallel_for, a double-accumulating block reduction, and a per-column argmin with the CPU
// backend's tie and NaN order.

#include <cuda_runtime.h>

#include <cmath>

#include "idemgen/core/config.hpp"

namespace idemgen::backend::cuda_detail {

constexpr int block_size = 256;
inline int grid_for(index_t n) {
  const index_t blocks = (n + block_size - 1) / block_size;
  return static_cast<int>(blocks < 4096 ? (blocks > 0 ? blocks : 1) : 4096);
}

template <class F>
__global__ void for_each(index_t n, F f) {
  for (index_t i = blockIdx.x * static_cast<index_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<index_t>(gridDim.x) * blockDim.x)
    f(i);
}

/// Σ term(i) in double: per-block shared-memory tree, one atomicAdd per block.
template <class Term>
__global__ void reduce_sum(index_t n, Term term, double* out) {
  __shared__ double partial[block_size];
  double acc = 0;
  for (index_t i = blockIdx.x * static_cast<index_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<index_t>(gridDim.x) * blockDim.x)
    acc += term(i);
  partial[threadIdx.x] = acc;
  __syncthreads();
  for (int s = block_size / 2; s > 0; s >>= 1) {
    if (static_cast<int>(threadIdx.x) < s) partial[threadIdx.x] += partial[threadIdx.x + s];
    __syncthreads();
  }
  if (threadIdx.x == 0) atomicAdd(out, partial[0]);
}

/// (v, i) beats the current best (bv, bi)? No best yet (bi < 0), a smaller value, a number
/// over a NaN, or an equal value (or both NaN) at a lower index — the CPU backend's order.
template <class S>
__device__ bool beats(S v, index_t i, S bv, index_t bi) {
  if (i < 0) return false;
  if (bi < 0) return true;
  if (v < bv || (bv != bv && v == v)) return true;
  return (v == bv || (v != v && bv != bv)) && i < bi;
}

/// One block per column: argmin over the rows (ties to the lowest index; all-NaN gives row 0).
template <class S>
__global__ void argmin_columns(index_t rows, index_t cols, const S* d, index_t* idx, S* value) {
  __shared__ S best_v[block_size];
  __shared__ index_t best_i[block_size];
  const index_t j = blockIdx.x;
  if (j >= cols) return;
  S bv = 0;
  index_t bi = -1;
  for (index_t i = threadIdx.x; i < rows; i += blockDim.x)
    if (beats(d[i + j * rows], i, bv, bi)) {
      bv = d[i + j * rows];
      bi = i;
    }
  best_v[threadIdx.x] = bv;
  best_i[threadIdx.x] = bi;
  __syncthreads();
  for (int s = block_size / 2; s > 0; s >>= 1) {
    if (static_cast<int>(threadIdx.x) < s &&
        beats(best_v[threadIdx.x + s], best_i[threadIdx.x + s], best_v[threadIdx.x], best_i[threadIdx.x])) {
      best_v[threadIdx.x] = best_v[threadIdx.x + s];
      best_i[threadIdx.x] = best_i[threadIdx.x + s];
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    idx[j] = best_i[0] < 0 ? 0 : best_i[0];
    if (value) value[j] = best_v[0];
  }
}

}  // namespace idemgen::backend::cuda_detail
