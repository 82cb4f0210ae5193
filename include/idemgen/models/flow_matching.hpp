#pragma once
// Conditional flow matching (Lipman et al.; 1-rectified flow) as a generator composition over a
// velocity net v_θ(x, t) = nn::velocity<F>: L = L_FM. With the independent coupling it is CFM;
// with coupling::minibatch_ot<> (exact, squared Euclidean cost between z and y) it is OT-CFM
// (Tong et al. 2024; LMM eq. 10's BOT). Sample with samplers::flow_ode (Euler, midpoint);
// NFE 1 is the baseline LMM must beat.

#include "idemgen/couplings/independent.hpp"
#include "idemgen/couplings/minibatch_ot.hpp"
#include "idemgen/couplings/reflow.hpp"
#include "idemgen/losses/flow_matching.hpp"
#include "idemgen/models/generator.hpp"
#include "idemgen/nn/velocity.hpp"
#include "idemgen/schedules/linear.hpp"

namespace idemgen::models {

using flow_matching_losses = losses::set<losses::flow_matching<>>;  // t from the velocity model's schedule

template <class Net, class Coupling = coupling::independent, class Metric = metric::squared_l2>
using flow_matching = generator<nn::velocity<Net>, Metric, Coupling, flow_matching_losses>;

/// OT-CFM: flow matching over the exact (or Sinkhorn) mini-batch OT coupling of z and y.
template <class Net, class Solver = coupling::exact>
using ot_flow_matching = flow_matching<Net, coupling::minibatch_ot<Solver>>;

/// k-rectified flow: flow matching on (z, ODE_{k−1}(z)) pairs from the previous flow (a velocity
/// callable v(x, t_row, out), e.g. samplers::model_function of a trained nn::velocity).
template <class Net, class Previous>
using rectified_flow = flow_matching<Net, coupling::reflow<Previous>>;

}  // namespace idemgen::models
