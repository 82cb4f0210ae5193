#pragma once
// How well f acts as a projector (NAIGN eq. 2–3):
//   idempotence_error     mean_j ‖f(f(z_j)) − f(z_j)‖   (0 for an idempotent f)
//   reconstruction_error  mean_j ‖f(x_j) − x_j‖         (0 when data are fixed points)

#include <cmath>

#include "idemgen/samplers/recursive.hpp"

namespace idemgen::evaluation {

namespace detail {
template <numeric_backend B>
double mean_column_distance(typename B::const_view a, typename B::const_view b) {
  using S = typename B::scalar;
  typename B::matrix per(1, a.cols());
  const S* pa = a.data();
  const S* pb = b.data();
  S* pp = per.data();
  const index_t d = a.rows();
  B::parallel_for(a.cols(), [=] IDEMGEN_HOST_DEVICE(index_t j) {
    S s = 0;
    for (index_t i = 0; i < d; ++i) s += (pa[i + j * d] - pb[i + j * d]) * (pa[i + j * d] - pb[i + j * d]);
    pp[j] = std::sqrt(s);
  });
  return B::sum(per) / static_cast<double>(a.cols());
}
}  // namespace detail

template <nn::network Net>
double idempotence_error(const Net& net, typename Net::backend_type::const_view z) {
  const auto it = samplers::recursive(net, z, 2);
  return detail::mean_column_distance<typename Net::backend_type>(it[1], it[0]);
}

template <nn::network Net>
double reconstruction_error(const Net& net, typename Net::backend_type::const_view x) {
  const auto it = samplers::recursive(net, x, 1);
  return detail::mean_column_distance<typename Net::backend_type>(it[0], x);
}

}  // namespace idemgen::evaluation
