// `idemgen train --device cuda`: the same training code as the CPU path (one_step_train.hpp,
// noised_train.hpp) instantiated on backend::cuda<float>. Built only when CMake finds nvcc.

#include "cli/noised_train.hpp"
#include "cli/one_step_train.hpp"
#include "idemgen/backend/cuda/cuda.cuh"

namespace idemgen::cli {

using gpu = backend::cuda<float>;

std::string require_cuda_device() {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess || count == 0)
    throw device_error("idemgen train --device cuda", "cudaGetDeviceCount",
                       std::string("no usable CUDA device: ") +
                           (status != cudaSuccess ? cudaGetErrorString(status) : "the runtime sees none"));
  cudaDeviceProp properties{};
  backend::cuda_detail::check(cudaGetDeviceProperties(&properties, 0), "idemgen train", "cudaGetDeviceProperties");
  return properties.name;
}

trained train_one_step_cuda(const options& o, const host_sampler& sample) { return train_one_step_on<gpu>(o, sample); }

trained train_noised_cuda(const options& o, const noised_config& c, const host_sampler& sample) {
  return train_noised_on<gpu>(o, c, sample);
}

}  // namespace idemgen::cli
