#pragma once
// LMM (lines matching models): L = L_lines (LMM eq. 3) over teacher-ODE pairs, a denoiser N_θ
// with EDM preconditioning predicting the endpoint y of the line y + σ z, RAdam (LMM Table 6).
//   lmm<Net, Teacher>      pairs generated online, one teacher sampler run per step
//   lmm_on_pairs<Net>      pairs generated once (teachers/pair_file.hpp) and drawn each step
// Sample with samplers::lines_sampler (multistep over an index set of the teacher's grid, or
// euler along the predicted lines). The lines term's grid (σ uniform over it, or the SOT subset)
// should be the teacher's: both default to EDM's 18-point Karras grid.

#include "idemgen/couplings/stored_pairs.hpp"
#include "idemgen/couplings/teacher_ode.hpp"
#include "idemgen/losses/lines.hpp"
#include "idemgen/models/generator.hpp"
#include "idemgen/nn/denoiser.hpp"
#include "idemgen/optim/policy.hpp"

namespace idemgen::models {

using lmm_losses = losses::set<losses::lines<>>;

template <class Net, class Teacher>
using lmm = generator<nn::denoiser<Net, schedule::karras>, metric::squared_l2, coupling::teacher_ode<Teacher>,
                      lmm_losses, optim::use_radam>;

template <class Net>
using lmm_on_pairs = generator<nn::denoiser<Net, schedule::karras>, metric::squared_l2,
                               coupling::stored_pairs<typename Net::backend_type>, lmm_losses, optim::use_radam>;

}  // namespace idemgen::models
