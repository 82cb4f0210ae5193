#pragma once
// Conditional flow matching (Lipman et al.; 1-rectified flow), independent coupling, as a
// generator composition over a velocity net v_θ(x, t) = nn::velocity<F>: L = L_FM.
// Sample with samplers::flow_ode (Euler, midpoint); NFE 1 is the baseline LMM must beat.

#include "idemgen/losses/flow_matching.hpp"
#include "idemgen/models/generator.hpp"
#include "idemgen/nn/velocity.hpp"
#include "idemgen/schedules/linear.hpp"

namespace idemgen::models {

using flow_matching_losses = losses::set<losses::flow_matching>;

template <class Net>
using flow_matching = generator<nn::velocity<Net>, metric::squared_l2, schedule::linear, coupling::independent,
                                flow_matching_losses>;

}  // namespace idemgen::models
