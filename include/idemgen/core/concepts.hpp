#pragma once
// The contracts every policy satisfies, each written once next to its concept (as dlib documents its concepts).

#include <concepts>
#include <cstdint>

#include "idemgen/core/matrix_view.hpp"
#include "idemgen/core/rng.hpp"

namespace idemgen {

/// A numeric backend (the concept is `numeric_backend` because `idemgen::backend` is the namespace
/// of the implementations): where matrices live and how numeric work on them is done.
///
/// Represents: one memory space (host or device) and one scalar type. Layers, losses, optimisers
/// and metrics are written once against this interface and never see Eigen, BLAS or CUDA.
/// Requires of B:
///   scalar, space, view / const_view (matrix_view over `space`), index_view / const_index_view,
///   matrix and index_matrix (owning; `resize(rows, cols)` reuses capacity, convert to views).
///   gemm(ta, tb, α, A, B, β, C)          C = α op(A) op(B) + β C; throws shape_error on mismatch
///   parallel_for(n, f)                    f(i) for i < n, independent iterations; f may only
///                                         touch memory of `space` (device lambdas on CUDA)
///   parallel_for_2d(rows, cols, f)        f(i, j) over a rows × cols matrix, i fastest
///   copy, copy_from_host, copy_to_host, fill, scale, axpy
///   row_sums(X, out, α, β)                out = β out + α Σ_j X(:, j)      (rows × 1)
///   column_sums(X, out)                   out(j) = Σ_i X(i, j)            (1 × cols)
///   sum, dot, squared_norm → double;      all_finite → bool (false on any NaN or ±Inf)
///   pairwise_squared_distances(A, B, D)   D(i, j) = ‖A(:, i) − B(:, j)‖²
///   column_argmin(D, idx, min)            per column, first index of the minimum
///   gather_columns(src, idx, dst)         dst(:, k) = src(:, idx(k))
///   fill_normal / fill_uniform(X, rng, …) Philox draws; element e uses block e/4, lane e%4 of the
///                                         stream, so every backend draws the same numbers
/// Ensures: results do not depend on the number of threads (reductions combine in a fixed order).
namespace detail {
// Stand-ins for the functors a backend's parallel_for receives: callable on host and device (a
// lambda in a requires-expression is host-only under nvcc, and the CUDA backend runs them on the
// device).
struct index_functor {
  IDEMGEN_HOST_DEVICE void operator()(index_t) const {}
};
struct index2_functor {
  IDEMGEN_HOST_DEVICE void operator()(index_t, index_t) const {}
};
}  // namespace detail

template <class B>
concept numeric_backend = requires(typename B::view v, typename B::const_view cv,
                           typename B::index_view iv, typename B::const_index_view civ,
                           typename B::scalar s, random_stream& rng, index_t n) {
  typename B::scalar;
  typename B::space;
  typename B::matrix;
  typename B::index_matrix;
  requires std::floating_point<typename B::scalar>;
  { typename B::matrix(n, n) };
  { static_cast<typename B::view>(std::declval<typename B::matrix&>()) };
  B::gemm(transpose::no, transpose::yes, s, cv, cv, s, v);
  B::parallel_for(n, detail::index_functor{});
  B::parallel_for_2d(n, n, detail::index2_functor{});
  B::copy(cv, v);
  B::fill(v, s);
  B::scale(v, s);
  B::axpy(s, cv, v);
  B::row_sums(cv, v, s, s);
  B::column_sums(cv, v);
  { B::sum(cv) } -> std::convertible_to<double>;
  { B::dot(cv, cv) } -> std::convertible_to<double>;
  { B::squared_norm(cv) } -> std::convertible_to<double>;
  { B::all_finite(cv) } -> std::same_as<bool>;
  B::pairwise_squared_distances(cv, cv, v);
  B::column_argmin(cv, iv, v);
  B::gather_columns(cv, civ, v);
  B::fill_normal(v, rng, s, s);
  B::fill_uniform(v, rng, s, s);
};

}  // namespace idemgen
