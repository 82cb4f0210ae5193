#pragma once
// --coupling as a type: calls with(coupling) with the coupling value the options ask for (ot,
// sinkhorn) or `fallback` (the method's own: nearest_generated for NAIGN, independent for flow
// matching), so that each method builds its generator once, generic in the coupling.

#include "cli/train_on.hpp"
#include "idemgen/couplings/minibatch_ot.hpp"

namespace idemgen::cli {

template <class Fallback, class With>
auto with_chosen_coupling(const options& o, Fallback fallback, With&& with) {
  const std::string c = coupling_of(o);
  if (c == "ot") return with(coupling::minibatch_ot<>{.candidates_per_sample = o.ot_ratio});
  if (c == "sinkhorn")
    return with(coupling::minibatch_ot<coupling::sinkhorn>{.candidates_per_sample = o.ot_ratio,
                                                           .sinkhorn_options = {.epsilon = o.sinkhorn_epsilon}});
  return with(fallback);
}

}  // namespace idemgen::cli
