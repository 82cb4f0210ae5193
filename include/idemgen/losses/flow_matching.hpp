#pragma once
// Conditional flow matching (Lipman et al. 2023 eq. 9 with the straight path; LMM eq. 2): with
// the step's coupled pairs (z_j, y_j), x_t = t y + (1 − t) z and t ~ U[0, 1],
//   L_FM = (1/n) Σ_j D(v_θ(x_t, t)_j, y_j − z_j),  D = ‖·‖² (metric::squared_l2) by default.
// Under coupling::minibatch_ot the pairs are OT-CFM's (Tong et al. 2024 §3.2). t and the
// interpolant come from `schedule` (by default the velocity model's own: schedule::of_model);
// the gradient flows through the step's anchor call v_θ(x_t, t).

#include "idemgen/losses/loss_set.hpp"
#include "idemgen/schedules/of_model.hpp"

namespace idemgen::losses {

template <class Schedule = schedule::of_model>
struct flow_matching {
  static constexpr const char* name = "fm";
  static constexpr model_kind model = model_kind::noised;
  double weight = 1.0;
  Schedule schedule{};

  template <class Ctx>
  double operator()(Ctx& ctx) const {
    using B = typename Ctx::backend_type;
    auto velocity_target = ctx.scratch(0);
    B::copy(ctx.target(), velocity_target);
    B::axpy(typename B::scalar(-1), ctx.source(), velocity_target);  // u = y − z
    return ctx.weighted_distance(schedule, velocity_target, /*schedule_weighted=*/false);
  }
};

}  // namespace idemgen::losses
