#pragma once
// A parameter-free pointwise activation as a layer of its own (dense fuses it with the affine
// map; this one is for places where an activation stands alone, e.g. before a network's head).

#include "idemgen/core/concepts.hpp"
#include "idemgen/nn/activations.hpp"

namespace idemgen::nn {

template <numeric_backend B>
class activation_layer {
 public:
  using scalar = typename B::scalar;
  using view = typename B::view;
  using const_view = typename B::const_view;

  struct cache {
    const_view x;
    typename B::matrix y;
    const_view output() const { return y; }
  };

  explicit activation_layer(activation_spec act) : act_(act) {}

  const_view forward(const_view x, cache& c) const {
    c.x = x;
    c.y.resize(x.rows(), x.cols());
    const scalar* px = x.data();
    scalar* py = c.y.data();
    dispatch_activation(act_, [&](auto f) { apply_activation<B>(f, px, py, x.size()); });
    return c.y;
  }

  void backward(cache& c, const_view dy, view dx) const {
    const scalar* px = c.x.data();
    const scalar* py = c.y.data();
    const scalar* pdy = dy.data();
    scalar* pdx = dx.data();
    dispatch_activation(act_, [&](auto f) { apply_activation_derivative<B>(f, pdy, px, py, pdx, dx.size()); });
  }

 private:
  activation_spec act_;
};

}  // namespace idemgen::nn
