#pragma once
// Reconstruction, IGN / SIGN eq. 3 = NAIGN eq. 5: L_rec = E_x D(f_θ(x), x). Data are fixed
// points of f; the gradient flows through the single call f(x).

#include "idemgen/losses/loss_set.hpp"
#include "idemgen/models/call_graph.hpp"

namespace idemgen::losses {

struct reconstruction {
  static constexpr const char* name = "rec";
  static constexpr model_kind model = model_kind::one_step;
  double weight = 1.0;

  template <class Ctx>
  double operator()(Ctx& ctx) const {
    return ctx.mean_distance(ctx.f_x(), ctx.x(), models::route::full);
  }
};

}  // namespace idemgen::losses
