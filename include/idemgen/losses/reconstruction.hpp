#pragma once
// Reconstruction, IGN / SIGN eq. 3 = NAIGN eq. 5: L_rec = E_x D(f_θ(x), x). Data are fixed
// points of f; the gradient flows through the single call f(x).

namespace idemgen::losses {

struct reconstruction {
  static constexpr const char* name = "rec";
  double weight = 1.0;

  template <class Ctx>
  double operator()(Ctx& ctx) const {
    const auto fx = ctx.f_x();
    const auto g = ctx.scratch(0);
    const double value = ctx.mean_distance(fx, ctx.x(), g, weight);
    ctx.net().backward(ctx.cache_fx(), g, ctx.grads());
    return value;
  }
};

}  // namespace idemgen::losses
