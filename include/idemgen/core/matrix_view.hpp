#pragma once
// Non-owning views of column-major matrices, tagged with the memory space they live in so that a
// host pointer can never be handed to a device kernel by accident (and vice versa).
// A batch is features × batch: one sample per column, columns contiguous.

#include <type_traits>

#include "idemgen/core/config.hpp"

namespace idemgen {

/// Whether a gemm operand is used as stored or transposed.
enum class transpose : bool { no = false, yes = true };

struct host_space {};
struct device_space {};

/// A rows × cols column-major matrix at `data` with leading dimension `rows` (views are always
/// contiguous; a range of columns of a view is again a view). Copying a view copies the pointer.
template <class Scalar, class Space = host_space>
class matrix_view {
 public:
  using value_type = std::remove_const_t<Scalar>;
  using space = Space;

  matrix_view() = default;  // defaulted: host and device alike
  IDEMGEN_HOST_DEVICE matrix_view(Scalar* data, index_t rows, index_t cols)
      : data_(data), rows_(rows), cols_(cols) {}

  /// A view of mutable data converts to a view of const data, never the other way round.
  template <class Other>
    requires(std::is_const_v<Scalar> && std::is_same_v<const Other, Scalar>)
  IDEMGEN_HOST_DEVICE matrix_view(const matrix_view<Other, Space>& other)
      : data_(other.data()), rows_(other.rows()), cols_(other.cols()) {}

  IDEMGEN_HOST_DEVICE Scalar* data() const { return data_; }
  IDEMGEN_HOST_DEVICE index_t rows() const { return rows_; }
  IDEMGEN_HOST_DEVICE index_t cols() const { return cols_; }
  IDEMGEN_HOST_DEVICE index_t size() const { return rows_ * cols_; }
  IDEMGEN_HOST_DEVICE bool empty() const { return size() == 0; }

  /// Element (i, j); dereferences memory of `Space`, so on the host only for host views.
  IDEMGEN_HOST_DEVICE Scalar& operator()(index_t i, index_t j) const { return data_[i + j * rows_]; }
  IDEMGEN_HOST_DEVICE Scalar& operator[](index_t k) const { return data_[k]; }

  /// Columns [first, first + count).
  matrix_view columns(index_t first, index_t count) const {
    return matrix_view(data_ + first * rows_, rows_, count);
  }
  /// The same memory seen as a rows × cols matrix (rows * cols must equal size()).
  matrix_view reshaped(index_t rows, index_t cols) const { return matrix_view(data_, rows, cols); }

 private:
  Scalar* data_ = nullptr;
  index_t rows_ = 0;
  index_t cols_ = 0;
};

}  // namespace idemgen
