#pragma once
// Regression of the coupled pairs: L = (1/N) Σ_i D(f_θ(s_i), t_i) over the step's pairs (s_i, t_i)
// from the coupling. Under coupling::nearest_generated (s_i = z_{j*(i)}, the candidate nearest to
// x_i) this is NAIGN's IMLE term, NAIGN eq. 8 with Alg. 1 l. 13's mean:
//   L_IMLE = (1/N) Σ_i min_j D(x_i, f_θ(z_j)),
// since the same θ gives the same values and the argmin takes no gradient; under
// coupling::minibatch_ot it is OT-coupled NAIGN's assignment loss (1/N) Σ_i D(f(z_π(i)), x_i).
// The gradient flows through the single call f(source).

#include "idemgen/losses/loss_set.hpp"
#include "idemgen/models/call_graph.hpp"

namespace idemgen::losses {

struct pair_regression {
  static constexpr const char* name = "pair";
  static constexpr model_kind model = model_kind::one_step;
  double weight = 1.0;

  template <class Ctx>
  double operator()(Ctx& ctx) const {
    const auto f_source = ctx.f_source();
    return ctx.mean_distance(f_source, ctx.target(), models::route::full);
  }
};

}  // namespace idemgen::losses
