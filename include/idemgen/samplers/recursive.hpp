#pragma once
// Samplers for networks without a noise input (IGN, NAIGN, SIGN Alg. 2):
//   one_step:   x = f(z)
//   recursive:  x₁ = f(z), x_{k+1} = f(x_k); returns every iterate (a manifold projector should
//               barely move after the first: f(f(z)) ≈ f(z)).

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

}  // namespace idemgen::samplers
