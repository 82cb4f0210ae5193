#pragma once
// Idempotence, with the stop-gradient routing of IGN (Shocher et al. 2023 eq. 4): the frozen copy θ′
// takes no parameter gradient but passes its input gradient on.
//
// ign (IGN / SIGN eq. 4 = NAIGN eq. 6): L = E_z D(u, f_θ'(u)), u = f_θ(z). θ' is θ with the
//   parameter gradient stopped: the outer call passes the input gradient but takes none, so
//   ∂L/∂u = ∂_a D + J_f(u)ᵀ ∂_b D, and only the inner call f(z) is trained.
// modified (NAIGN supplement §7, the L_idem of NAIGN eq. 11):
//   L = ½[E_z D(f(z), f_⊥(f(z))) + E_q D(f(q), f_⊥(f(q)))], q = stopgrad f(z) (same z; our reading
//   of the unspecified q). The second half evaluates f at q = u — the same value
//   v = f(u) as the outer call of the first half — with the opposite routing: parameter gradient
//   yes, input gradient discarded; its own outer call f_⊥(v) = f(f(f(z))) is frozen.
// printed (SIGN Alg. 1 l. 10 as printed, an option): x_idem = f_θ(f_θ'(z)) — the inner call frozen,
//   the outer one trained. It contradicts SIGN eq. 4 and rewards enlarging f's fixed-point set
//   (the outer call learns to map u to itself wherever u lands); kept to compare, never a default.

#include "idemgen/losses/loss_set.hpp"
#include "idemgen/metrics/metric.hpp"
#include "idemgen/models/call_graph.hpp"

namespace idemgen::losses {

enum class idem_kind { ign, modified, printed };

template <idem_kind Kind = idem_kind::ign>
struct idempotence {
  static constexpr const char* name = "idem";
  static constexpr model_kind model = model_kind::one_step;
  double weight = 1.0;

  template <class Ctx>
  double operator()(Ctx& ctx) const {
    using models::route;
    using S = typename Ctx::scalar;
    static_assert(metric::of_difference<typename Ctx::metric_type>,
                  "losses::idempotence: the frozen outer call's gradient is ∂D/∂b, taken as −∂D/∂a, "
                  "which holds for a metric of a − b only; declare `static constexpr bool "
                  "of_difference = true` if D(a, b) = φ(a − b) (see include/idemgen/metrics/metric.hpp)");
    const double half = Kind == idem_kind::modified ? 0.5 : 1.0;
    // First half: D(u, f_⊥(u)), u = f(z). ∂_a D trains u's call and flows on to nothing (z is
    // noise); ∂_b D = −∂_a D reaches u through the frozen outer call f_⊥ (input gradient only).
    const auto u = ctx.f_z();
    const auto f_u = ctx.f_f_z();
    const auto g_u = ctx.scratch(1);
    double value = half * ctx.mean_distance(u.value, f_u.value, g_u, half);
    ctx.add_gradient(u, route::full, g_u);
    // printed: ∂_b D trains the outer call's parameters; its input f_θ'(z) is frozen.
    ctx.add_gradient(f_u, Kind == idem_kind::printed ? route::params_only : route::input_only, g_u, S(-1));
    if constexpr (Kind == idem_kind::modified) {
      // Second half: D(f(q), f_⊥(f(q))) with f(q) = f(f(z)): the call that made it is trained
      // (parameters only: q is a constant) and its frozen outer call f_f_q passes its input
      // gradient back to it, and no further.
      const auto f_q = ctx.f_f_z();
      const auto f_f_q = ctx.f_f_q();
      const auto g_fq = ctx.scratch(0);
      value += half * ctx.mean_distance(f_q.value, f_f_q.value, g_fq, half);
      ctx.add_gradient(f_q, route::params_only, g_fq);
      ctx.add_gradient(f_f_q, route::input_only, g_fq, S(-1));
    }
    return value;
  }
};

}  // namespace idemgen::losses
