#pragma once
// Regression of the coupled pairs: L = (1/N) Σ_i D(f_θ(s_i), t_i) over the step's pairs (s_i, t_i)
// from the coupling. Under coupling::nearest_generated (s_i = z_{j*(i)}, the candidate nearest to
// x_i) this is NAIGN's IMLE term, NAIGN eq. 8 with Alg. 1 l. 13's mean:
//   L_IMLE = (1/N) Σ_i min_j D(x_i, f_θ(z_j)),
// since the same θ gives the same values and the argmin takes no gradient; under
// coupling::minibatch_ot it is OT-coupled NAIGN's assignment loss (1/N) Σ_i D(f(z_π(i)), x_i).
// The gradient flows through the single call f(source).

namespace idemgen::losses {

struct pair_regression {
  static constexpr const char* name = "pair";
  double weight = 1.0;

  template <class Ctx>
    requires requires(Ctx& c) { c.f_source(); c.target(); }
  double operator()(Ctx& ctx) const {
    const auto f_source = ctx.f_source();
    const auto g = ctx.scratch(0);
    const double value = ctx.mean_distance(f_source, ctx.target(), g, weight);
    ctx.net().backward(ctx.cache_source(), g, ctx.grads());
    return value;
  }
};

}  // namespace idemgen::losses
