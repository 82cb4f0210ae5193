#pragma once
// Tightness, IGN / SIGN eq. 5 (with the minus sign of its second equality), NAIGN eq. 7:
//   L_tight = −E_z D(f_θ(y), y),  y = f_θ'(z) = stopgrad f_θ(z).
// The outer call carries the parameter gradient and y is a constant (trap T2: running the outer
// call through the frozen copy makes the gradient identically zero). f(y) has the value v = f(u)
// of the shared call f(f(z)), so this term adds its gradient there under route::params_only
// (parameter gradient yes, input gradient dropped).
//
// Optional clamp of the original IGN (`clamp_ratio` a > 0, Shocher et al. 2023 §3.2):
//   L̃ = tanh(L_raw / (a·L_rec)) · a·L_rec with L_raw = E D(f(y), y) ≥ 0, and the loss subtracts
//   L̃. Here L_rec is the reconstruction error of the same step, treated as a constant (the
//   re-implementations also differentiate through it; that coupling is not implemented).

#include <cmath>

#include "idemgen/losses/loss_set.hpp"
#include "idemgen/models/call_graph.hpp"

namespace idemgen::losses {

struct tightness {
  static constexpr const char* name = "tight";
  static constexpr model_kind model = model_kind::one_step;
  double weight = 0.1;       // NAIGN's IGN baseline for 2-D: (1, 1, 0.1)
  double clamp_ratio = 0.0;  // a; 0 = no clamp

  template <class Ctx>
  double operator()(Ctx& ctx) const {
    using B = typename Ctx::backend_type;
    auto g = ctx.scratch(0);
    // ∂/∂f(y) of −w·E D(f(y), y).
    const auto f_y = ctx.f_f_z();  // f(y) has the value of f(f(z)); y = f(z) is a constant here
    const double raw = ctx.mean_distance(f_y.value, ctx.f_z().value, g, -1.0);
    double value = -raw;
    if (clamp_ratio > 0) {
      auto tmp = ctx.scratch(1);
      const double rec = ctx.mean_distance(ctx.f_x().value, ctx.x(), tmp, 0.0);
      const double scale = clamp_ratio * rec;
      const double q = scale > 0 ? raw / scale : 0.0;
      const double t = std::tanh(q);
      value = -t * scale;
      B::scale(g, static_cast<typename B::scalar>(1 - t * t));  // d L̃ / d L_raw = sech²(q)
    }
    ctx.add_gradient(f_y, models::route::params_only, g);
    return value;
  }
};

}  // namespace idemgen::losses
