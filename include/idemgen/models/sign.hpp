#pragma once
// SIGN (idempotent generative nets distilled from a diffusion teacher), SIGN eq. 9 with λ_d = 0:
//   L = L_rec + L_idem + λ_f L_flow + λ_n L_denoise   (+ λ_r L_reg on stored teacher pairs)
// over a one-step f (no noise input) that generates from x_T = σ_max ε — the source scale the
// flow term trains f on (generator options' source_scale; SIGN Thm. 2 maps x_T to data).
//   sign<Net, Teacher>           flow from the teacher's Euler steps (teachers::teacher: the exact
//                                mixture denoiser, a trained EDM denoiser)
//   sign_empirical<Net>          flow from the empirical estimator (teachers::empirical): no teacher
//   sign_with_pairs<Net, Teacher> the same plus the regression term on stored pairs
// The pairs of the step are the data with fresh unit noise (coupling::independent): x_{t_n} = x +
// t_n ε. Idempotence follows SIGN eq. 4 (idem_kind::printed gives Alg. 1 l. 10 as printed).
// DMD (SIGN eq. 7) is left out: it needs a second score model trained online on f's samples.
// Sample with samplers::recursive (SIGN Alg. 2) or samplers::multistep_editing (Alg. 3).

#include "idemgen/couplings/independent.hpp"
#include "idemgen/losses/denoise.hpp"
#include "idemgen/losses/idempotence.hpp"
#include "idemgen/losses/reconstruction.hpp"
#include "idemgen/losses/teacher_flow.hpp"
#include "idemgen/losses/teacher_regression.hpp"
#include "idemgen/models/generator.hpp"

namespace idemgen::models {

template <class Teacher>
using sign_losses = losses::set<losses::reconstruction, losses::idempotence<losses::idem_kind::ign>,
                                losses::teacher_flow<Teacher>, losses::denoise<>>;

template <class Net, class Teacher, class Metric = metric::l2>
using sign = generator<Net, Metric, coupling::independent, sign_losses<Teacher>>;

template <class Net, class Metric = metric::l2>
using sign_empirical = sign<Net, teachers::empirical, Metric>;

template <class Teacher, class PairBackend>
using sign_with_pairs_losses =
    losses::set<losses::reconstruction, losses::idempotence<losses::idem_kind::ign>, losses::teacher_flow<Teacher>,
                losses::denoise<>, losses::teacher_regression<PairBackend>>;

template <class Net, class Teacher, class Metric = metric::l2>
using sign_with_pairs = generator<Net, Metric, coupling::independent,
                                  sign_with_pairs_losses<Teacher, typename Net::backend_type>>;

}  // namespace idemgen::models
