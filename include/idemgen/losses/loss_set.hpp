#pragma once
// A set of loss terms, each a small struct with its options (weight first) and one call
//   double operator()(step_context&) const
// that returns the term's value and accumulates its weighted gradient.

#include <array>
#include <concepts>
#include <tuple>

namespace idemgen::losses {

/// A loss term for step context Ctx.
///
/// Requires: T::name (a short name for logs), t(ctx) → double.
/// Ensures: the call adds weight · ∂(value)/∂θ into ctx.grads() and no other gradient, and
/// returns the unweighted value (reported per term so that logs show every term).
template <class T, class Ctx>
concept term = requires(const T t, Ctx& ctx) {
  { T::name } -> std::convertible_to<const char*>;
  { t(ctx) } -> std::convertible_to<double>;
};

template <class... Terms>
struct set {
  static constexpr std::size_t size = sizeof...(Terms);
  static constexpr std::array<const char*, size> names = {Terms::name...};
  std::tuple<Terms...> terms;

  set() = default;
  explicit set(Terms... t) : terms(std::move(t)...) {}

  template <class T>
  T& get() { return std::get<T>(terms); }
  template <class T>
  const T& get() const { return std::get<T>(terms); }
};

}  // namespace idemgen::losses
