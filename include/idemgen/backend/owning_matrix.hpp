#pragma once
// owning_matrix<T, Memory>: an owning, column-major rows × cols buffer whose memory comes from
// `Memory` (host_memory: 64-byte-aligned host allocations; device_memory: the CUDA pool). resize()
// reuses the allocation when the new size fits the capacity, which is how caches and workspaces
// reach a steady state that allocates nothing. host_matrix and device_matrix are
// this template with the extras of their side (copies and element access on the host).

#include <cstddef>
#include <utility>

#include "idemgen/core/matrix_view.hpp"

namespace idemgen::backend {

template <class T, class Memory>
class owning_matrix {
 public:
  using space = typename Memory::space;
  using view = matrix_view<T, space>;
  using const_view = matrix_view<const T, space>;

  owning_matrix() = default;
  owning_matrix(index_t rows, index_t cols) { resize(rows, cols); }
  owning_matrix(const owning_matrix&) = delete;
  owning_matrix& operator=(const owning_matrix&) = delete;
  owning_matrix(owning_matrix&& other) noexcept { swap(other); }
  owning_matrix& operator=(owning_matrix&& other) noexcept {
    swap(other);
    return *this;
  }
  ~owning_matrix() { Memory::deallocate(data_); }

  void swap(owning_matrix& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(rows_, other.rows_);
    std::swap(cols_, other.cols_);
    std::swap(capacity_, other.capacity_);
  }

  /// New shape; contents are unspecified afterwards. Allocates only when rows*cols > capacity.
  void resize(index_t rows, index_t cols) {
    const index_t n = rows * cols;
    if (n > capacity_) {
      Memory::deallocate(data_);
      data_ = nullptr;
      capacity_ = 0;
      data_ = static_cast<T*>(Memory::allocate(sizeof(T) * static_cast<std::size_t>(n)));
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
  index_t capacity() const { return capacity_; }

  view as_view() { return view(data_, rows_, cols_); }
  const_view as_view() const { return const_view(data_, rows_, cols_); }
  operator view() { return as_view(); }
  operator const_view() const { return as_view(); }

 private:
  T* data_ = nullptr;
  index_t rows_ = 0, cols_ = 0, capacity_ = 0;
};

}  // namespace idemgen::backend
