#pragma once
// SIGN's denoise term (SIGN Alg. 1 l. 15, weight λ_n in eq. 9): L_denoise = E_{x,n} D(x, f_θ(x_{t_n}))
// at the step's noised point x_{t_n} = x + t_n ε. It shares the call f(x_{t_n}) with
// losses::teacher_flow (the context's anchor): give both the same schedule value.

#include "idemgen/losses/loss_set.hpp"
#include "idemgen/models/call_graph.hpp"
#include "idemgen/schedules/karras_grid.hpp"

namespace idemgen::losses {

template <class Schedule = schedule::karras_grid>
struct denoise {
  static constexpr const char* name = "denoise";
  static constexpr model_kind model = model_kind::one_step;
  double weight = 1.0;  // λ_n
  Schedule schedule{};

  template <class Ctx>
  double operator()(Ctx& ctx) const {
    return ctx.mean_distance(ctx.anchor(schedule), ctx.target(), models::route::full);
  }
};

}  // namespace idemgen::losses
