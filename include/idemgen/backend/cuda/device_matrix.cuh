#pragma once
// device_matrix<T>: the CUDA backend's owning matrix (backend/owning_matrix.hpp) in device memory
// from the caching device_pool — never managed memory; move-only.

#include "idemgen/backend/cuda/device_pool.cuh"
#include "idemgen/backend/owning_matrix.hpp"

namespace idemgen::backend {

struct device_memory {
  using space = device_space;
  static void* allocate(std::size_t bytes) { return device_pool::instance().allocate(bytes); }
  static void deallocate(void* p) noexcept { device_pool::instance().deallocate(p); }
};

template <class T>
using device_matrix = owning_matrix<T, device_memory>;

}  // namespace idemgen::backend
