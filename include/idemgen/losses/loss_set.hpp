#pragma once
// Loss terms and sets of them. A term is a small struct with its options (weight first) and one
// call that returns the term's unweighted value and adds ∂(value)/∂output into the step
// context's calls (models/step_context.hpp), which scale it by the term's weight, under the
// routes its math states; the context's one backward sweep turns those into parameter gradients. A term that needs buffers
// of its own across steps declares them as `state<Ctx>`; the generator keeps one per term,
// typed, beside the terms (a steady-state step allocates nothing).

#include <array>
#include <concepts>
#include <tuple>
#include <variant>

namespace idemgen::losses {

/// Which network a term calls: a one-step f (data → data, no noise level: IGN, NAIGN, SIGN's
/// f) or a model that takes a noise level (nn::denoiser, nn::velocity: DSM, flow matching, CDM).
enum class model_kind { one_step, noised };

namespace detail {
template <class T, class Ctx>
struct state_of {
  using type = std::monostate;
};
template <class T, class Ctx>
  requires requires { typename T::template state<Ctx>; }
struct state_of<T, Ctx> {
  using type = typename T::template state<Ctx>;
};
}  // namespace detail

/// T's buffers in context Ctx (std::monostate for a term without any).
template <class T, class Ctx>
using state_t = typename detail::state_of<T, Ctx>::type;

/// A loss term for step context Ctx.
///
/// Requires: T::name (a short name for logs), T::model (a model_kind), t.weight (the factor
/// losses::evaluate has the context apply to the term's gradient, and the generator to its
/// reported value), and a call
/// t(ctx) → double, or t(ctx, state) → double for a term with `state<Ctx>`.
/// Ensures: the call adds ∂(value)/∂(call outputs) into the context's calls (which scale it by
/// the weight losses::evaluate set) and touches no parameter gradient itself; it returns the
/// unweighted value.
template <class T, class Ctx>
concept term = requires(const T t, Ctx& ctx, state_t<T, Ctx>& s) {
  { T::name } -> std::convertible_to<const char*>;
  { T::model } -> std::convertible_to<model_kind>;
  { t.weight } -> std::convertible_to<double>;
  requires(requires { { t(ctx) } -> std::convertible_to<double>; } ||
           requires { { t(ctx, s) } -> std::convertible_to<double>; });
};

/// Runs term t with its state. The term's weight is applied here, the one place: the context
/// scales every gradient the term adds by it (ctx.term_weight()), and the generator scales the
/// reported value by it; a term itself never reads its weight.
template <class T, class Ctx>
double evaluate(const T& t, Ctx& ctx, state_t<T, Ctx>& s) {
  ctx.set_term_weight(t.weight);
  if constexpr (requires { t(ctx, s); })
    return t(ctx, s);
  else
    return t(ctx);
}

template <class... Terms>
struct set {
  static constexpr std::size_t size = sizeof...(Terms);
  static constexpr std::array<const char*, size> names = {Terms::name...};
  std::tuple<Terms...> terms;
  /// The terms' buffers for context Ctx, in term order.
  template <class Ctx>
  using states = std::tuple<state_t<Terms, Ctx>...>;

  set() = default;
  explicit set(Terms... t) : terms(std::move(t)...) {}

  template <class T>
  T& get() { return std::get<T>(terms); }
  template <class T>
  const T& get() const { return std::get<T>(terms); }
};

}  // namespace idemgen::losses
