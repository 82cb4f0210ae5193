#pragma once
// The coupling axis: a coupling makes the step's (source, target) pairs from the data batch, the
// random stream and, where it needs one, the model. Every method takes its pairs from its
// coupling; a step can also be handed pairs made elsewhere (generator::train_step_on_pairs).
//
// A coupling C is a small value type (its options) with
//   C::name                                 a short name for logs and checkpoints
//   C::state<B>                             its buffers, kept by the step context across steps
//   c(ctx, state) → pairing<B>              the pairs of this step
// and sees of the step context ctx only:
//   ctx.batch_data()    the data batch (d × N): the targets
//   ctx.dim(), ctx.batch(), ctx.rng(), ctx.metric()
//   ctx.image(sources, buffer) → view       the sources' image in the space the pairs are priced
//                                           in: f(z) for a one-step model (NAIGN compares f(z_j)
//                                           with x_i), z itself for a noised model (OT-CFM
//                                           compares z with y)
// The pairing's views stay valid until the next step. Each coupling is one header here:
// independent, nearest_generated (IMLE's search), minibatch_ot (exact or Sinkhorn), teacher_ode,
// stored_pairs and reflow.

#include <cmath>
#include <concepts>
#include <type_traits>

#include <fmt/format.h>

#include "idemgen/core/concepts.hpp"
#include "idemgen/core/errors.hpp"

namespace idemgen::coupling {

/// Column j of `source` is paired with column j of `target`.
template <class B>
struct pairing {
  typename B::const_view source, target;
};

/// What a coupling measured in its last call (minibatch_ot fills it; the others leave zeros).
struct report {
  double coupled_cost = 0;      // Σ_j cost(source_j, target_j) of the pairs made
  double independent_cost = 0;  // Σ_j cost of the first N sources in draw order (no coupling)
  int iterations = 0;           // solver iterations (Dijkstra searches or Sinkhorn sweeps)
  bool converged = true;
  double marginal_error = 0;    // Sinkhorn: Σ_j |(Pᵀ1)_j − 1/N| at the end
};

/// C is a coupling for step context Ctx.
template <class C, class Ctx>
concept policy = requires { typename C::template state<typename Ctx::backend_type>; } &&
                 requires(const C c, Ctx& ctx, typename C::template state<typename Ctx::backend_type>& s) {
                   { C::name } -> std::convertible_to<const char*>;
                   { c(ctx, s) } -> std::same_as<pairing<typename Ctx::backend_type>>;
                 };

/// M = ⌈ratio · N⌉ fresh candidates z_j ~ N(0, I) into `candidates` (d × M) and their images
/// in the pricing space into `images`; returns the images (a view of `images` or of the
/// candidates themselves). What nearest_generated and minibatch_ot draw first.
template <class Ctx, class Matrix>
typename Ctx::backend_type::const_view draw_candidates(Ctx& ctx, double ratio, Matrix& candidates, Matrix& images,
                                                       const char* where) {
  using B = typename Ctx::backend_type;
  idemgen::detail::require_option(ratio >= 1, where, "candidates_per_sample", ">= 1", fmt::format("{}", ratio));
  const index_t m = static_cast<index_t>(std::ceil(ratio * static_cast<double>(ctx.batch())));
  candidates.resize(ctx.dim(), m);
  images.resize(ctx.dim(), m);
  B::fill_normal(candidates, ctx.rng());
  return ctx.image(candidates, images);
}

namespace detail {
struct no_state {};
template <class C, class B>
struct state_of {
  using type = no_state;
};
template <class C, class B>
  requires requires { typename C::template state<B>; }
struct state_of<C, B> {
  using type = typename C::template state<B>;
};
}  // namespace detail

/// C's state for backend B, or an empty struct when C is not a coupling (so that the
/// generator's static_assert, not a cascade of errors, says what is wrong).
template <class C, class B>
using state_t = typename detail::state_of<C, B>::type;

}  // namespace idemgen::coupling
