#pragma once
// coupling::independent — N fresh source draws scale · N(0, I) in the data's shape, paired with
// the data in batch order: π = p_z ⊗ q (IGN, NAIGN's idempotence, EDM's DSM, CFM and 1-RF).
// `scale` > 1 gives a scaled source such as σ_max · ε.

#include "idemgen/couplings/coupling.hpp"

namespace idemgen::coupling {

struct independent {
  static constexpr const char* name = "independent";
  double scale = 1.0;

  template <class B>
  struct state {
    typename B::matrix source;
  };

  template <class Ctx>
  pairing<typename Ctx::backend_type> operator()(Ctx& ctx, state<typename Ctx::backend_type>& s) const {
    using B = typename Ctx::backend_type;
    s.source.resize(ctx.dim(), ctx.batch());
    B::fill_normal(s.source, ctx.rng(), typename B::scalar(0), static_cast<typename B::scalar>(scale));
    return {s.source, ctx.batch_data()};
  }
};

}  // namespace idemgen::coupling
