#pragma once
// CUDA and cuBLAS status codes → idemgen::device_error naming the idemgen function, the failing
// call and the runtime's error string (never continue after a failed call).

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <string>

#include "idemgen/core/errors.hpp"

namespace idemgen::backend::cuda_detail {

inline void check(cudaError_t status, const char* where, const std::string& call) {
  if (status != cudaSuccess) throw device_error(where, call, cudaGetErrorString(status));
}

inline void check(cublasStatus_t status, const char* where, const std::string& call) {
  if (status != CUBLAS_STATUS_SUCCESS) throw device_error(where, call, cublasGetStatusString(status));
}

/// True when a CUDA device can be used (false without a driver or a device, never throws).
inline bool device_available() {
  int count = 0;
  return cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
}

}  // namespace idemgen::backend::cuda_detail
