#pragma once
// SIGN's regression term (weight λ_r in SIGN eq. 9; the formula is DMD's, Yin et al. 2024):
//   L_reg = E_{(z, y)} D(f_θ(s z), y)
// over stored teacher-ODE pairs (z unit noise, y = ODE_teacher(σ_max z); teachers/pair_file.hpp),
// N pairs per step drawn with replacement, s = the model's source scale (σ_max for SIGN, so f sees
// the sampler's own input σ_max z). The pairs are this term's, not the step's coupling: SIGN's
// other terms pair the data batch with fresh noise. One call f(s z), trained.

#include <memory>

#include "idemgen/couplings/stored_pairs.hpp"
#include "idemgen/losses/loss_set.hpp"
#include "idemgen/models/call_graph.hpp"

namespace idemgen::losses {

template <numeric_backend PairBackend>
struct teacher_regression {
  static constexpr const char* name = "reg";
  static constexpr model_kind model = model_kind::one_step;
  double weight = 1.0;  // λ_r
  coupling::stored_pairs<PairBackend> pairs{};

  template <class Ctx>
  struct state {
    typename coupling::stored_pairs<PairBackend>::template state<PairBackend> drawn;
    typename PairBackend::matrix input;
  };

  template <class Ctx>
  double operator()(Ctx& ctx, state<Ctx>& st) const {
    using B = typename Ctx::backend_type;
    const auto drawn = pairs(ctx, st.drawn);
    st.input.resize(ctx.dim(), ctx.batch());
    B::copy(drawn.source, st.input);
    B::scale(st.input, static_cast<typename B::scalar>(ctx.source_scale()));
    return ctx.mean_distance(ctx.call_on(st.input), drawn.target, models::route::full);
  }
};

}  // namespace idemgen::losses
