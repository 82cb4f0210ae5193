#pragma once
// What every network shares: the flat parameter and gradient buffers with their accessors, and
// the two public backward entry points (real gradients or stop-gradient routing) with their
// checks. A network derives from network_base<Derived, B>, registers its layers in layout_,
// calls allocate_parameters(), and implements
//   const_view backward_impl(cache&, const_view dy, scalar* grads /* nullable */) const
// plus `static constexpr const char* name`, input_dim(), output_dim() and its cache's `batch`.

#include <cstddef>
#include <fmt/format.h>
#include <string>
#include <vector>

#include "idemgen/nn/network.hpp"
#include "idemgen/nn/parameters.hpp"

namespace idemgen::nn {

template <class Derived, numeric_backend B>
class network_base {
 public:
  using backend_type = B;
  using scalar = typename B::scalar;
  using view = typename B::view;
  using const_view = typename B::const_view;

  index_t parameter_count() const { return layout_.size(); }
  const std::vector<parameter_block>& parameter_blocks() const { return layout_.blocks(); }
  view parameters() { return params_; }
  const_view parameters() const { return params_; }
  view gradients() { return grads_; }
  void zero_grad() { B::fill(grads_, scalar(0)); }

  /// Accumulates dL/dθ into `grads` (a parameter_count × 1 buffer, usually gradients()) and
  /// returns dL/dx (input_dim × batch, held by the cache).
  template <class Cache>
  const_view backward(Cache& c, const_view dy, view grads) const {
    check_gradient(c.batch, dy, grads, parameter_count());
    return self().backward_impl(c, dy, grads.data());
  }
  /// Stop-gradient routing: returns dL/dx and leaves every parameter gradient untouched.
  template <class Cache>
  const_view backward(Cache& c, const_view dy, std::nullptr_t) const {
    check_gradient(c.batch, dy, view{}, 0);
    return self().backward_impl(c, dy, nullptr);
  }

 protected:
  void allocate_parameters() {
    params_.resize(layout_.size(), 1);
    grads_.resize(layout_.size(), 1);
    zero_grad();
  }
  void check_input(const_view x, const_view cond, bool check_finite) const {
    detail::check_network_input<B>(where("forward"), self().input_dim(), self().cond_rows(), x,
                                   cond, check_finite);
  }

  parameter_layout layout_;
  typename B::matrix params_, grads_;

 private:
  const Derived& self() const { return static_cast<const Derived&>(*this); }
  void check_gradient(index_t batch, const_view dy, const_view grads, index_t count) const {
    detail::check_network_gradient<B>(where("backward"), self().output_dim(), batch, dy, grads,
                                      count);
  }
  // "mlp::forward" etc., built once: the checks run on every call and must not allocate.
  static std::string_view where(std::string_view method) {
    static const std::string forward = std::string(Derived::name) + "::forward";
    static const std::string backward = std::string(Derived::name) + "::backward";
    return method == "forward" ? forward : backward;
  }
};

}  // namespace idemgen::nn
