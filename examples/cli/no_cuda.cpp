// `idemgen train --device cuda` in a build without the CUDA backend (nvcc was not found when
// CMake configured): a clear usage error before anything is written.

#include "cli/train_on.hpp"

namespace idemgen::cli {

std::string require_cuda_device() {
  throw invalid_argument("idemgen train", "--device", "cpu (no usable CUDA device: this build has no CUDA backend, nvcc was not found)",
                         "cuda");
}

trained train_one_step_cuda(const options&, const host_sampler&) {
  require_cuda_device();
  return {};
}

trained train_noised_cuda(const options&, const noised_config&, const host_sampler&) {
  require_cuda_device();
  return {};
}

}  // namespace idemgen::cli
