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

namespace idemgen::losses {

enum class idem_kind { ign, modified };

template <idem_kind Kind = idem_kind::ign>
struct idempotence {
  static constexpr const char* name = "idem";
  double weight = 1.0;

  template <class Ctx>
  double operator()(Ctx& ctx) const {
    using B = typename Ctx::backend_type;
    using S = typename B::scalar;
    const double half = Kind == idem_kind::modified ? 0.5 : 1.0;
    const auto& net = ctx.net();
    // First half: D(u, f_⊥(u)).
    auto g_u = ctx.scratch(0);
    double value = half * ctx.mean_distance(ctx.u(), ctx.v(), g_u, half * weight);  // ∂_a D
    auto g_v = ctx.scratch(1);
    B::copy(g_u, g_v);
    B::scale(g_v, S(-1));                                                 // ∂_b D = −∂_a D
    B::axpy(S(1), net.backward(ctx.cache_v(), g_v, nullptr), g_u);        // + J_f(u)ᵀ ∂_b D
    net.backward(ctx.cache_u(), g_u, ctx.grads());
    if constexpr (Kind == idem_kind::modified) {
      // Second half: D(f(q), f_⊥(f(q))) with f(q) = v. The call that made v is trained here and
      // its input gradient (towards q) is discarded.
      auto g_fq = ctx.scratch(2);
      value += half * ctx.mean_distance(ctx.v(), ctx.w(), g_fq, half * weight);
      auto g_w = ctx.scratch(3);
      B::copy(g_fq, g_w);
      B::scale(g_w, S(-1));
      B::axpy(S(1), net.backward(ctx.cache_w(), g_w, nullptr), g_fq);
      net.backward(ctx.cache_v(), g_fq, ctx.grads());
    }
    return value;
  }
};

}  // namespace idemgen::losses
