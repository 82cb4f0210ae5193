#pragma once
// Central finite differences in double, the reference every explicit backward is tested against.

#include <cmath>
#include <functional>
#include <vector>

#include "idemgen/idemgen.hpp"

namespace idemgen::test {

using cpu = backend::cpu<double>;
using matrix = cpu::matrix;

/// Sets the CPU backend's thread count for one scope (CTest runs tests on one thread).
struct threads_scope {
  int saved = cpu::num_threads();
  explicit threads_scope(int n) { cpu::set_num_threads(n); }
  ~threads_scope() { cpu::set_num_threads(saved); }
};

/// dL/dv_k ≈ (L(v + h e_k) − L(v − h e_k)) / 2h for every entry of `values` (restored after).
inline std::vector<double> numerical_gradient(const std::function<double()>& loss, double* values,
                                              index_t n, double h = 1e-6) {
  std::vector<double> g(static_cast<std::size_t>(n));
  for (index_t k = 0; k < n; ++k) {
    const double saved = values[k];
    values[k] = saved + h;
    const double plus = loss();
    values[k] = saved - h;
    const double minus = loss();
    values[k] = saved;
    g[static_cast<std::size_t>(k)] = (plus - minus) / (2 * h);
  }
  return g;
}

/// ‖a − b‖ / max(‖b‖, tiny): the norm-wise relative error of an analytic gradient a against a
/// numerical one b.
inline double relative_error(const double* a, const std::vector<double>& b) {
  double diff = 0, ref = 0;
  for (std::size_t k = 0; k < b.size(); ++k) {
    diff += (a[k] - b[k]) * (a[k] - b[k]);
    ref += b[k] * b[k];
  }
  return std::sqrt(diff) / std::max(std::sqrt(ref), 1e-300);
}

inline matrix random_matrix(index_t rows, index_t cols, std::uint64_t seed, double scale = 1.0) {
  matrix m(rows, cols);
  random_stream rng(seed);
  cpu::fill_normal(m, rng, 0.0, scale);
  return m;
}

/// net(x) (or net(x, cond) for a conditioned network), copied out of its cache.
template <class Net>
matrix eval(const Net& net, cpu::const_view x, cpu::const_view cond = {}) {
  typename Net::cache c;
  const auto y = net.forward(x, cond, c);
  matrix out(y.rows(), y.cols());
  cpu::copy(y, out);
  return out;
}

/// Σ w ⊙ y: a scalar loss whose gradient with respect to y is w.
inline double weighted_sum(cpu::const_view w, cpu::const_view y) { return cpu::dot(w, y); }

/// mean_j ‖a_j − b_j‖₂: metric::l2 averaged over the batch, written out.
inline double mean_l2(cpu::const_view a, cpu::const_view b) {
  double s = 0;
  for (index_t j = 0; j < a.cols(); ++j) {
    double sq = 0;
    for (index_t i = 0; i < a.rows(); ++i) sq += (a(i, j) - b(i, j)) * (a(i, j) - b(i, j));
    s += std::sqrt(sq);
  }
  return s / static_cast<double>(a.cols());
}

struct network_gradcheck {
  double params = 0;  // relative error of dL/dθ
  double input = 0;   // relative error of dL/dx
};

/// Checks dL/dθ and dL/dx of L = Σ w ⊙ net(x, cond) against central differences.
template <class Net>
network_gradcheck check_network(Net& net, matrix& x, const matrix& cond, std::uint64_t seed) {
  typename Net::cache c;
  const auto y0 = net.forward(x, cond, c);
  const matrix w = random_matrix(y0.rows(), y0.cols(), seed);
  net.zero_grad();
  net.forward(x, cond, c);
  const auto dx = net.backward(c, w, net.gradients());
  const matrix analytic_dx = matrix(dx.rows(), dx.cols());
  cpu::copy(dx, const_cast<matrix&>(analytic_dx));
  const auto loss = [&] {
    typename Net::cache lc;
    return weighted_sum(w, net.forward(x, cond, lc));
  };
  network_gradcheck r;
  const auto num_params = numerical_gradient(loss, net.parameters().data(), net.parameter_count());
  r.params = relative_error(net.gradients().data(), num_params);
  const auto num_input = numerical_gradient(loss, x.data(), x.size());
  r.input = relative_error(analytic_dx.data(), num_input);
  return r;
}

}  // namespace idemgen::test
