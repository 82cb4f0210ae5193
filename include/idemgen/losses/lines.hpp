#pragma once
// LMM's lines loss (LMM eq. 3) with the squared l2 norm ("L2" ablation; VGG and adversarial
// terms are out of scope on a CPU):
//   L_lines = E_{σ,(z,y)} ‖N_θ(y + σ z, σ) − y‖²
// over the step's coupled pairs (z, y) — teacher-ODE pairs (coupling::teacher_ode or
// coupling::stored_pairs): the line through a pair is x_σ = y + σ z, and N_θ predicts its endpoint
// y (a denoiser: nn::denoiser, EDM preconditioning, so N(x; 0) = x). σ is uniform over the
// teacher's Karras grid by default (schedule::karras_grid; LMM leaves E_σ unstated), or over the
// sampler's index set (SOT). Unweighted, as eq. 3 is written. The gradient flows through the
// step's anchor call N_θ(x_σ; σ).

#include "idemgen/losses/loss_set.hpp"
#include "idemgen/schedules/karras_grid.hpp"

namespace idemgen::losses {

template <class Schedule = schedule::karras_grid>
struct lines {
  static constexpr const char* name = "lines";
  static constexpr model_kind model = model_kind::noised;
  double weight = 1.0;
  Schedule schedule{};

  template <class Ctx>
  double operator()(Ctx& ctx) const {
    return ctx.weighted_distance(schedule, ctx.target(), /*schedule_weighted=*/false);
  }
};

}  // namespace idemgen::losses
