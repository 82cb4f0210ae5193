#pragma once
// The two ways a schedule puts noise on a data batch y (d × n) with unit noise z and one noise
// level per sample (1 × n row):
//   variance_exploding   x = y + σ z          (EDM's σ-space; schedule::karras and schedule::vp)
//   linear_interpolant   x = t y + (1 − t) z  (flow matching; schedule::linear, t = 1 is data)

#include "idemgen/core/concepts.hpp"
#include "idemgen/core/errors.hpp"

namespace idemgen::schedule::detail {

template <numeric_backend B, class Combine>
void noise_columns(const char* where, typename B::const_view y, typename B::const_view z,
                   typename B::const_view level, typename B::view out, Combine combine) {
  using S = typename B::scalar;
  idemgen::detail::require_shape(where, "z", y.rows(), y.cols(), z.rows(), z.cols());
  idemgen::detail::require_shape(where, "level", 1, y.cols(), level.rows(), level.cols());
  idemgen::detail::require_shape(where, "out", y.rows(), y.cols(), out.rows(), out.cols());
  const index_t d = y.rows();
  const S* py = y.data();
  const S* pz = z.data();
  const S* pl = level.data();
  S* po = out.data();
  B::parallel_for_2d(d, y.cols(), [=] IDEMGEN_HOST_DEVICE(index_t i, index_t j) {
    po[i + j * d] = combine(py[i + j * d], pz[i + j * d], pl[j]);
  });
}

// Named functors, not lambdas: nvcc accepts no function-local type in a kernel's template arguments.
struct ve_combine {
  template <class S>
  IDEMGEN_HOST_DEVICE S operator()(S y, S z, S sigma) const { return y + sigma * z; }
};
struct linear_combine {
  template <class S>
  IDEMGEN_HOST_DEVICE S operator()(S y, S z, S t) const { return t * y + (S(1) - t) * z; }
};

template <numeric_backend B>
void variance_exploding(typename B::const_view y, typename B::const_view z, typename B::const_view sigma,
                        typename B::view out) {
  noise_columns<B>("schedule::noise", y, z, sigma, out, ve_combine{});
}

template <numeric_backend B>
void linear_interpolant(typename B::const_view y, typename B::const_view z, typename B::const_view t,
                        typename B::view out) {
  noise_columns<B>("schedule::noise", y, z, t, out, linear_combine{});
}

}  // namespace idemgen::schedule::detail
