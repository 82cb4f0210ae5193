#pragma once
// model_function(net): the callable every noised-model sampler takes, f(x, level_row, out),
// writing net(x, level) into out — with one cache owned by the callable, so that a sampler's
// many calls reuse the same buffers.

#include <utility>

#include "idemgen/nn/network.hpp"

namespace idemgen::samplers {

template <nn::network Net>
auto model_function(const Net& net) {
  using B = typename Net::backend_type;
  return [&net, c = typename Net::cache{}](typename B::const_view x, typename B::const_view level,
                                          typename B::view out) mutable { B::copy(net.forward(x, level, c), out); };
}

}  // namespace idemgen::samplers
