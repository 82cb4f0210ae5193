#pragma once
// The CUDA backend's process-wide state: one cuBLAS handle on one non-blocking stream, and the
// small device buffers its reductions and row/column sums reuse (created on first use).

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <vector>

#include "idemgen/backend/cuda/check.cuh"
#include "idemgen/backend/cuda/device_matrix.cuh"

namespace idemgen::backend::cuda_detail {

/// The process's cuBLAS handle and stream (created on first use).
struct context {
  cublasHandle_t blas = nullptr;
  cudaStream_t stream = nullptr;
  device_matrix<float> ones;    // all-ones vector for row and column sums
  device_matrix<double> accum;  // reduction scratch
  device_matrix<float> norms;   // pairwise_squared_distances: the columns' squared norms
  device_matrix<int> flag;
  static context& get() {
    static context c;
    return c;
  }
  const float* ones_of(index_t n) {
    if (ones.size() < n) {
      ones.resize(n, 1);
      std::vector<float> h(static_cast<std::size_t>(n), 1.0f);
      check(cudaMemcpyAsync(ones.data(), h.data(), sizeof(float) * h.size(), cudaMemcpyHostToDevice, stream),
            "cuda::ones", "cudaMemcpyAsync");
      check(cudaStreamSynchronize(stream), "cuda::ones", "cudaStreamSynchronize");
    }
    return ones.data();
  }

 private:
  context() {
    // The pool must outlive this context: its buffers (ones, accum, norms, flag) go back to the pool when
    // the context is destroyed at exit, and function-local statics die in reverse order of
    // construction. Constructing the pool first makes it die last.
    (void)device_pool::instance();
    check(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cuda::context", "cudaStreamCreate");
    check(cublasCreate(&blas), "cuda::context", "cublasCreate");
    check(cublasSetStream(blas, stream), "cuda::context", "cublasSetStream");
  }
};

}  // namespace idemgen::backend::cuda_detail
