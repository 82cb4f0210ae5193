#pragma once
// Owning, 64-byte-aligned host matrix for the CPU backend. `resize` reuses the allocation when
// the new size fits its capacity, which is how caches and workspaces reach a steady state that
// allocates nothing (DESIGN §4).

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

#include "idemgen/core/matrix_view.hpp"

namespace idemgen::backend {

template <class Scalar>
class host_matrix {
 public:
  using view = matrix_view<Scalar, host_space>;
  using const_view = matrix_view<const Scalar, host_space>;

  host_matrix() = default;
  host_matrix(index_t rows, index_t cols) { resize(rows, cols); }
  host_matrix(const host_matrix& other) { *this = other; }
  host_matrix(host_matrix&& other) noexcept { swap(other); }
  host_matrix& operator=(const host_matrix& other) {
    if (this != &other) {
      resize(other.rows_, other.cols_);
      if (size() > 0) std::memcpy(data_, other.data_, sizeof(Scalar) * size());
    }
    return *this;
  }
  host_matrix& operator=(host_matrix&& other) noexcept {
    swap(other);
    return *this;
  }
  ~host_matrix() { std::free(data_); }

  void swap(host_matrix& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(rows_, other.rows_);
    std::swap(cols_, other.cols_);
    std::swap(capacity_, other.capacity_);
  }

  /// New shape; contents are unspecified afterwards. Allocates only when rows*cols > capacity.
  void resize(index_t rows, index_t cols) {
    const index_t n = rows * cols;
    if (n > capacity_) {
      std::free(data_);
      data_ = nullptr;
      capacity_ = 0;
      // aligned_alloc needs a size that is a multiple of the alignment.
      const std::size_t bytes = ((sizeof(Scalar) * static_cast<std::size_t>(n) + 63) / 64) * 64;
      data_ = static_cast<Scalar*>(std::aligned_alloc(64, bytes));
      if (data_ == nullptr) throw std::bad_alloc();
      capacity_ = n;
    }
    rows_ = rows;
    cols_ = cols;
  }

  Scalar* data() { return data_; }
  const Scalar* data() const { return data_; }
  index_t rows() const { return rows_; }
  index_t cols() const { return cols_; }
  index_t size() const { return rows_ * cols_; }
  index_t capacity() const { return capacity_; }

  view as_view() { return view(data_, rows_, cols_); }
  const_view as_view() const { return const_view(data_, rows_, cols_); }
  operator view() { return as_view(); }
  operator const_view() const { return as_view(); }

  Scalar& operator()(index_t i, index_t j) { return data_[i + j * rows_]; }
  const Scalar& operator()(index_t i, index_t j) const { return data_[i + j * rows_]; }

 private:
  Scalar* data_ = nullptr;
  index_t rows_ = 0, cols_ = 0, capacity_ = 0;
};

}  // namespace idemgen::backend
