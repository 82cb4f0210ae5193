#pragma once
// coupling::reflow — rectified flow's k-th round (Liu et al. 2023, k-RF): fresh z ~ N(0, I) paired
// with y = ODE_{k−1}(z), the previous flow's own ODE from t = 0 (noise) to t = 1 (data) —
// `steps` Euler (or midpoint) steps of its velocity v(x, t_row, out) (samplers/flow_ode.hpp; wrap
// a trained nn::velocity with samplers::model_function). Training flow matching on these pairs
// straightens the flow: 2-RF from 1-RF (independent CFM). Online, one ODE solve a step; the
// step's data batch only sets the batch size. coupling::teacher_ode is the special case of a
// diffusion teacher. The previous model is shared (a copied coupling calls the same one).

#include <memory>
#include <vector>

#include "idemgen/couplings/coupling.hpp"
#include "idemgen/samplers/flow_ode.hpp"
#include "idemgen/schedules/linear.hpp"

namespace idemgen::coupling {

template <class Velocity>
struct reflow {
  static constexpr const char* name = "reflow";
  std::shared_ptr<Velocity> previous;
  int steps = 100;  // the previous flow's ODE steps per pair
  samplers::flow_method method = samplers::flow_method::euler;

  template <class B>
  struct state {
    typename B::matrix z, y;
    std::vector<double> times;
    samplers::flow_workspace<B> sampler;  // kept: a steady-state step allocates nothing
  };

  template <class Ctx>
  pairing<typename Ctx::backend_type> operator()(Ctx& ctx, state<typename Ctx::backend_type>& s) const {
    using B = typename Ctx::backend_type;
    idemgen::detail::require_option(previous != nullptr, "coupling::reflow", "previous", "the previous flow", "none");
    idemgen::detail::require_option(steps >= 1, "coupling::reflow", "steps", ">= 1", std::to_string(steps));
    if (s.times.size() != static_cast<std::size_t>(steps) + 1) s.times = schedule::linear{}.steps(steps);
    s.z.resize(ctx.dim(), ctx.batch());
    s.y.resize(ctx.dim(), ctx.batch());
    B::fill_normal(s.z, ctx.rng());
    B::copy(s.z, s.y);
    samplers::flow_ode<B>(*previous, s.times, method, s.y, s.sampler);
    return {s.z, s.y};
  }
};

}  // namespace idemgen::coupling
