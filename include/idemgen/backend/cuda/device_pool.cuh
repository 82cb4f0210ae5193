#pragma once
// A caching allocator for device memory: freed blocks go back to a per-size free list and are
// handed out again, so a training step in steady state makes no cudaMalloc (issue 6). Sizes are
// rounded up to 512 bytes (small) or 2 MiB granules (large) so that buffers that grow a little
// reuse a block. Memory returns to the driver only at release_all() or process exit.

#include <cstddef>
#include <map>
#include <mutex>
#include <vector>

#include "idemgen/backend/cuda/check.cuh"

namespace idemgen::backend {

class device_pool {
 public:
  static device_pool& instance() {
    static device_pool pool;
    return pool;
  }

  void* allocate(std::size_t bytes) {
    if (bytes == 0) return nullptr;
    const std::size_t size = rounded(bytes);
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = free_.find(size);
    if (it != free_.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      return p;
    }
    void* p = nullptr;
    cuda_detail::check(cudaMalloc(&p, size), "device_pool::allocate",
                       "cudaMalloc(" + std::to_string(size) + " bytes)");
    ++mallocs_;
    sizes_[p] = size;
    return p;
  }

  void deallocate(void* p) noexcept {
    if (!p) return;
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = sizes_.find(p);
    if (it != sizes_.end()) free_[it->second].push_back(p);
  }

  /// cudaMalloc calls so far (tests: a steady-state step adds none).
  long mallocs() const { return mallocs_; }

  /// Returns every cached (unused) block to the driver.
  void release_all() noexcept {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [size, blocks] : free_)
      for (void* p : blocks) {
        cudaFree(p);
        sizes_.erase(p);
      }
    free_.clear();
  }

 private:
  device_pool() = default;
  static std::size_t rounded(std::size_t bytes) {
    constexpr std::size_t small = 512, large = 2u << 20;
    const std::size_t unit = bytes < large ? small : large;
    return (bytes + unit - 1) / unit * unit;
  }

  std::mutex mutex_;
  std::map<std::size_t, std::vector<void*>> free_;
  std::map<void*, std::size_t> sizes_;
  long mallocs_ = 0;
};

}  // namespace idemgen::backend
