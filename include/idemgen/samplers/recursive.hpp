#pragma once
// Samplers for networks without a noise input (IGN, NAIGN, SIGN Alg. 2):
//   one_step:   x = f(z)
//   recursive:  x₁ = f(z), x_{k+1} = f(x_k); returns every iterate (a manifold projector should
//               barely move after the first: f(f(z)) ≈ f(z)).
//   recursive_to_tolerance: SIGN Alg. 2's "until converged" (the paper names no rule): apply f
//               until the mean ‖f(x) − x‖₂ over the batch falls below `tolerance`, at most
//               `max_applications` times.

#include <cmath>
#include <vector>

#include "idemgen/core/errors.hpp"
#include "idemgen/nn/network.hpp"

namespace idemgen::samplers {

template <nn::network Net>
void one_step(const Net& net, typename Net::backend_type::const_view z,
              typename Net::backend_type::view out) {
  using B = typename Net::backend_type;
  typename Net::cache c;
  B::copy(net.forward(z, typename B::const_view{}, c), out);
}

/// Returns the k iterates f(z), f(f(z)), …, each output_dim × batch.
template <nn::network Net>
std::vector<typename Net::backend_type::matrix> recursive(const Net& net,
                                                          typename Net::backend_type::const_view z,
                                                          int k) {
  using B = typename Net::backend_type;
  idemgen::detail::require_option(k >= 1, "samplers::recursive", "k", ">= 1", std::to_string(k));
  std::vector<typename B::matrix> iterates;
  typename Net::cache c;
  typename B::const_view in = z;
  for (int step = 0; step < k; ++step) {
    const auto y = net.forward(in, typename B::const_view{}, c);
    iterates.emplace_back(y.rows(), y.cols());
    B::copy(y, iterates.back());
    in = iterates.back();
  }
  return iterates;
}

/// x: the start (σ_max ε for SIGN) on entry, the last iterate on return. Returns the number of
/// applications of f; the last one moved x by a mean ‖f(x) − x‖₂ below tolerance, unless the
/// cap was reached.
template <nn::network Net>
int recursive_to_tolerance(const Net& net, typename Net::backend_type::view x, double tolerance, int max_applications) {
  using B = typename Net::backend_type;
  idemgen::detail::require_option(max_applications >= 1 && tolerance >= 0, "samplers::recursive_to_tolerance",
                                  "max_applications/tolerance", ">= 1 / >= 0",
                                  fmt::format("{}/{}", max_applications, tolerance));
  using S = typename B::scalar;
  typename Net::cache c;
  typename B::matrix moved_by(1, x.cols());
  for (int applications = 1;; ++applications) {
    const auto y = net.forward(x, typename B::const_view{}, c);
    const index_t d = x.rows();
    const S* py = y.data();
    S* px = x.data();
    S* pm = moved_by.data();
    B::parallel_for(x.cols(), [=] IDEMGEN_HOST_DEVICE(index_t j) {  // ‖f(x_j) − x_j‖₂, then x ← f(x)
      S s = 0;
      for (index_t i = 0; i < d; ++i) {
        const S step = py[i + j * d] - px[i + j * d];
        s += step * step;
        px[i + j * d] = py[i + j * d];
      }
      pm[j] = std::sqrt(s);
    });
    const double moved = B::sum(moved_by) / static_cast<double>(x.cols());
    if (moved < tolerance || applications == max_applications) return applications;
  }
}

}  // namespace idemgen::samplers
