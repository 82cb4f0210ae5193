#pragma once
// Conditional flow matching (Lipman et al. 2023 eq. 9 with the straight path; LMM eq. 2): with
// the step's coupled pairs (z_j, y_j), x_t = t y + (1 − t) z and t ~ U[0, 1],
//   L_FM = (1/n) Σ_j D(v_θ(x_t, t)_j, y_j − z_j),  D = ‖·‖² (metric::squared_l2) by default.
// Under coupling::minibatch_ot the pairs are OT-CFM's (Tong et al. 2024 §3.2). The gradient
// flows through the step context's anchor call v_θ(x_t, t).

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
    return ctx.weighted_distance(target, /*schedule_weighted=*/false, weight);
  }
};

}  // namespace idemgen::losses
