#pragma once
// The stop-gradient routing rule (docs/ARCHITECTURE.md), checked on any network whose forward already ran
// into cache `c`: backward with grads == nullptr returns the dx of a real backward and leaves
// every parameter gradient as it was; the real backward then does change them.

#include <catch2/catch.hpp>

#include "support/gradcheck.hpp"

namespace idemgen::test {

template <class Net>
void check_stop_gradient_routing(Net& net, typename Net::cache& c, const matrix& dy,
                                 std::uint64_t seed) {
  const matrix before = random_matrix(net.parameter_count(), 1, seed);  // arbitrary gradients
  cpu::copy(before, net.gradients());
  const auto frozen_view = net.backward(c, dy, nullptr);
  matrix frozen(frozen_view.rows(), frozen_view.cols());
  cpu::copy(frozen_view, frozen);
  for (index_t k = 0; k < net.parameter_count(); ++k) REQUIRE(net.gradients()[k] == before(k, 0));
  const auto trained = net.backward(c, dy, net.gradients());
  for (index_t e = 0; e < frozen.size(); ++e) CHECK(frozen.data()[e] == trained[e]);
  double changed = 0;
  for (index_t k = 0; k < net.parameter_count(); ++k)
    changed += std::abs(net.gradients()[k] - before(k, 0));
  CHECK(changed > 0);
}

}  // namespace idemgen::test
