#pragma once
// Conditional flow matching (Lipman et al.; LMM Eq. 2; ALGORITHMS Part B §3.9), independent
// coupling: with x_t = t y + (1 − t) z and t ~ U[0, 1],
//   L_FM = (1/n) Σ_j ‖v_θ(x_t, t)_j − (y_j − z_j)‖²
// The gradient flows through the step context's anchor call v_θ(x_t, t).

#include "idemgen/models/noised_step_context.hpp"

namespace idemgen::losses {

struct flow_matching {
  static constexpr const char* name = "fm";
  double weight = 1.0;

  template <class Ctx>
    requires requires(Ctx& c) { c.anchor(); c.z(); }
  double operator()(Ctx& ctx) const {
    using B = typename Ctx::backend_type;
    auto target = ctx.scratch(0);
    B::copy(ctx.y(), target);
    B::axpy(typename B::scalar(-1), ctx.z(), target);  // u = y − z
    return ctx.weighted_squared_error(target, /*schedule_weighted=*/false, weight);
  }
};

}  // namespace idemgen::losses
