#pragma once
// Tightness, IGN / SIGN eq. 5 (with the minus sign of its second equality), NAIGN eq. 7:
//   L_tight = −E_z D(f_θ(y), y),  y = f_θ'(z) = stopgrad f_θ(z).
// The outer call carries the parameter gradient and y is a constant (trap T2: running the outer
// call through the frozen copy makes the gradient identically zero). f(y) has the value v = f(u)
// of the shared call, so this term backpropagates through that call with real gradients and
// drops its input gradient.
//
// Optional clamp of the original IGN (`clamp_ratio` a > 0, Shocher et al. 2023 §3.2):
//   L̃ = tanh(L_raw / (a·L_rec)) · a·L_rec with L_raw = E D(f(y), y) ≥ 0, and the loss subtracts
//   L̃. Here L_rec is the reconstruction error of the same step, treated as a constant (the
//   re-implementations also differentiate through it; that coupling is not implemented).

#include <cmath>

namespace idemgen::losses {

struct tightness {
  static constexpr const char* name = "tight";
  double weight = 0.1;       // NAIGN's IGN baseline for 2-D: (1, 1, 0.1)
  double clamp_ratio = 0.0;  // a; 0 = no clamp

  template <class Ctx>
  double operator()(Ctx& ctx) const {
    using B = typename Ctx::backend_type;
    auto g = ctx.scratch(0);
    // ∂/∂f(y) of −w·E D(f(y), y).
    const double raw = ctx.mean_distance(ctx.v(), ctx.u(), g, -weight);
    double value = -raw;
    if (clamp_ratio > 0) {
      auto tmp = ctx.scratch(1);
      const double rec = ctx.mean_distance(ctx.f_x(), ctx.x(), tmp, 0.0);
      const double scale = clamp_ratio * rec;
      const double q = scale > 0 ? raw / scale : 0.0;
      const double t = std::tanh(q);
      value = -t * scale;
      B::scale(g, static_cast<typename B::scalar>(1 - t * t));  // d L̃ / d L_raw = sech²(q)
    }
    ctx.net().backward(ctx.cache_v(), g, ctx.grads());
    return value;
  }
};

}  // namespace idemgen::losses
