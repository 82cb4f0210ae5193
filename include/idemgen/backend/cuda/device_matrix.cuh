#pragma once
// device_matrix<T>: an owning, column-major rows × cols buffer in device memory (from the
// caching device_pool; never managed memory), the device counterpart of host_matrix. resize()
// keeps the storage when the capacity suffices, so reused buffers do not reallocate.

#include <utility>

#include "idemgen/backend/cuda/device_pool.cuh"
#include "idemgen/core/matrix_view.hpp"

namespace idemgen::backend {

template <class T>
class device_matrix {
 public:
  device_matrix() = default;
  device_matrix(index_t rows, index_t cols) { resize(rows, cols); }
  device_matrix(const device_matrix&) = delete;
  device_matrix& operator=(const device_matrix&) = delete;
  device_matrix(device_matrix&& other) noexcept { swap(other); }
  device_matrix& operator=(device_matrix&& other) noexcept {
    swap(other);
    return *this;
  }
  ~device_matrix() { device_pool::instance().deallocate(data_); }

  void swap(device_matrix& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(rows_, other.rows_);
    std::swap(cols_, other.cols_);
    std::swap(capacity_, other.capacity_);
  }

  void resize(index_t rows, index_t cols) {
    const index_t n = rows * cols;
    if (n > capacity_) {
      device_pool::instance().deallocate(data_);
      data_ = static_cast<T*>(device_pool::instance().allocate(static_cast<std::size_t>(n) * sizeof(T)));
      capacity_ = n;
    }
    rows_ = rows;
    cols_ = cols;
  }

  T* data() { return data_; }
  const T* data() const { return data_; }
  index_t rows() const { return rows_; }
  index_t cols() const { return cols_; }
  index_t size() const { return rows_ * cols_; }

  operator matrix_view<T, device_space>() { return {data_, rows_, cols_}; }
  operator matrix_view<const T, device_space>() const { return {data_, rows_, cols_}; }

 private:
  T* data_ = nullptr;
  index_t rows_ = 0, cols_ = 0, capacity_ = 0;
};

}  // namespace idemgen::backend
