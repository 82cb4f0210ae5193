#pragma once
// Eigen at the API: a user's Eigen matrices as idemgen views and back, without copies.
//
// idemgen's batch layout is features × batch, column-major (one sample per column). Eigen users
// keep points either way, and both map with no copy:
//   - column-major d × N  (Eigen::MatrixXf: one sample per column, idemgen's own layout);
//   - row-major    N × d  (Eigen::Matrix<float, Dynamic, Dynamic, RowMajor>: one sample per row,
//     as NumPy and most datasets hold them) — the same memory as a column-major d × N.
//
//   eigen::view(m)        a (mutable or const) idemgen view of m's storage: a model writes its
//                         samples straight into an Eigen matrix (samplers, generator::image);
//   eigen::map(v)         an Eigen::Map of a host view or host_matrix (the CPU backend's storage
//                         seen as an Eigen matrix, d × N column-major);
//   eigen::sampler<B>     training batches drawn from an Eigen matrix of points (any outer
//                         stride: a block or a range of columns works too), for train::train.
// Only whole matrices or blocks whose columns are contiguous (column-major: outer stride == rows;
// row-major: outer stride == cols) can be viewed; any other block raises idemgen::invalid_argument
// (copy it into a plain matrix first). Host memory only: a CUDA backend takes data through its
// own copy_from_host.

#include "idemgen/core/eigen_core.hpp"

#include <algorithm>
#include <type_traits>

#include "idemgen/backend/host_matrix.hpp"
#include "idemgen/core/errors.hpp"
#include "idemgen/core/matrix_view.hpp"
#include "idemgen/core/rng.hpp"

namespace idemgen::eigen {

/// Eigen's dense matrix of idemgen's layout.
template <class Scalar>
using matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
/// One sample per row (NumPy's layout): the same memory as a column-major d × N.
template <class Scalar>
using row_samples = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

namespace detail {
template <class Derived>
void require_contiguous(const Eigen::DenseBase<Derived>& m, const char* where) {
  constexpr bool row_major = (Derived::Flags & Eigen::RowMajorBit) != 0;
  const Eigen::Index inner = row_major ? m.cols() : m.rows();
  idemgen::detail::require_shape(m.innerStride() == 1 && (m.outerStride() == inner || m.size() == 0 ||
                                                          (row_major ? m.rows() : m.cols()) == 1),
                                 where, "matrix", "contiguous samples (a whole matrix or a range of samples)",
                                 fmt::format("inner stride {}, outer stride {} for {} x {}", m.innerStride(),
                                             m.outerStride(), m.rows(), m.cols()));
}
}  // namespace detail

/// idemgen's view (features × samples) of an Eigen matrix's storage, const when m is.
/// Column-major m: d × N as it is; row-major m (N × d): its transpose, d × N.
template <class Derived>
auto view(Eigen::DenseBase<Derived>& m) {
  using scalar = typename Derived::Scalar;
  constexpr bool is_const = !bool(Eigen::internal::traits<Derived>::Flags & Eigen::LvalueBit);
  using element = std::conditional_t<is_const, const scalar, scalar>;
  detail::require_contiguous(m, "eigen::view");
  constexpr bool row_major = (Derived::Flags & Eigen::RowMajorBit) != 0;
  auto* data = const_cast<element*>(m.derived().data());
  return row_major ? matrix_view<element, host_space>(data, m.cols(), m.rows())
                   : matrix_view<element, host_space>(data, m.rows(), m.cols());
}
/// A temporary expression that is an lvalue underneath (a block of a named matrix: m.leftCols(k)).
template <class Derived>
auto view(Eigen::DenseBase<Derived>&& m) {
  return view(m);
}
template <class Derived>
matrix_view<const typename Derived::Scalar, host_space> view(const Eigen::DenseBase<Derived>& m) {
  detail::require_contiguous(m, "eigen::view");
  constexpr bool row_major = (Derived::Flags & Eigen::RowMajorBit) != 0;
  const auto* data = m.derived().data();
  return row_major ? matrix_view<const typename Derived::Scalar, host_space>(data, m.cols(), m.rows())
                   : matrix_view<const typename Derived::Scalar, host_space>(data, m.rows(), m.cols());
}

/// The CPU backend's storage seen as an Eigen matrix (d × N, column-major, 64-byte aligned for a
/// host_matrix), for Eigen expressions over idemgen's buffers. No copy.
template <class Scalar>
Eigen::Map<matrix<std::remove_const_t<Scalar>>> map(matrix_view<Scalar, host_space> v)
  requires(!std::is_const_v<Scalar>)
{
  return {v.data(), v.rows(), v.cols()};
}
template <class Scalar>
Eigen::Map<const matrix<Scalar>> map(matrix_view<const Scalar, host_space> v) {
  return {v.data(), v.rows(), v.cols()};
}
template <class Scalar>
Eigen::Map<matrix<Scalar>, Eigen::Aligned64> map(backend::host_matrix<Scalar>& m) {
  return {m.data(), m.rows(), m.cols()};
}
template <class Scalar>
Eigen::Map<const matrix<Scalar>, Eigen::Aligned64> map(const backend::host_matrix<Scalar>& m) {
  return {m.data(), m.rows(), m.cols()};
}

/// Training batches from a user's points, in eigen::view's layouts (column-major d × N: one
/// sample per column; row-major N × d: one per row), any outer stride (a block works): sample j of
/// a batch is point ⌊u_j N⌋ with u_j uniform from one Philox block of `rng` per sample — the rule
/// of data::dataset for a point cloud, so the same points given as a CSV file train the same
/// model. The points are referenced, not copied: they must outlive the sampler. Use as
/// train::train(gen, batch, sampler, options), or call sampler(view).
template <class B>
class sampler {
 public:
  using scalar = typename B::scalar;

  template <class Derived>
  sampler(const Eigen::DenseBase<Derived>& points, std::uint64_t seed)
      : data_(points.derived().data()), outer_stride_(points.outerStride()), rng_(seed) {
    static_assert(std::is_same_v<typename Derived::Scalar, scalar>,
                  "eigen::sampler: the points' scalar must be the backend's");
    static_assert(bool(Derived::Flags & Eigen::DirectAccessBit),
                  "eigen::sampler: points must be stored (a matrix, map or block), not an expression");
    constexpr bool row_major = (Derived::Flags & Eigen::RowMajorBit) != 0;
    idemgen::detail::require_shape(points.innerStride() == 1, "eigen::sampler", "points", "inner stride 1",
                                   fmt::format("{}", points.innerStride()));
    dim_ = row_major ? points.cols() : points.rows();
    count_ = row_major ? points.rows() : points.cols();
    idemgen::detail::require_shape(dim_ > 0 && count_ > 0, "eigen::sampler", "points",
                                   "at least one point of dimension >= 1",
                                   fmt::format("{} points of dimension {}", count_, dim_));
    if (!points.allFinite()) throw invalid_argument("eigen::sampler", "points", "finite values", "a NaN or Inf");
  }

  index_t dim() const { return dim_; }
  index_t count() const { return count_; }
  random_stream& rng() { return rng_; }

  /// Fills out (dim × batch) with drawn points.
  void operator()(typename B::view out) {
    idemgen::detail::require_dim("eigen::sampler", "out", "rows", dim_, out.rows());
    host_.resize(out.rows(), out.cols());
    const std::uint64_t first = rng_.reserve(static_cast<std::uint64_t>(out.cols()));
    for (index_t j = 0; j < out.cols(); ++j) {
      const double u = uniform_open01<double>(philox_block_at(rng_.key(), first + static_cast<std::uint64_t>(j)).v[0]);
      const index_t chosen = std::min(count_ - 1, static_cast<index_t>(u * static_cast<double>(count_)));
      std::copy_n(data_ + chosen * outer_stride_, dim_, host_.data() + j * dim_);  // sample `chosen` is contiguous
    }
    B::copy_from_host(host_.data(), out);
  }

 private:
  const scalar* data_;
  index_t outer_stride_;  // between samples, whichever the layout
  index_t dim_ = 0, count_ = 0;
  random_stream rng_;
  backend::host_matrix<scalar> host_;
};

}  // namespace idemgen::eigen
