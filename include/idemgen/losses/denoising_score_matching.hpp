#pragma once
// Denoising score matching with EDM's weighting (Karras et al. 2022 eq. 8 and Table 1; CDM §2.2 L1):
//   L_DSM = (1/n) Σ_j λ(σ_j) D(D_θ(y_j + σ_j z_j; σ_j), y_j),  ln σ ~ N(P_mean, P_std²), λ = 1/c_out²
// with D the model's metric: ‖·‖² (metric::squared_l2, the papers' loss, the diffusion alias's
// default) or any other. σ and its weight come from `schedule` (by default the denoiser's own:
// schedule::of_model). The gradient flows through the step's anchor call D_θ(x; σ), shared with
// CDM's consistency term.

#include "idemgen/losses/loss_set.hpp"
#include "idemgen/schedules/of_model.hpp"

namespace idemgen::losses {

template <class Schedule = schedule::of_model>
struct denoising_score_matching {
  static constexpr const char* name = "dsm";
  static constexpr model_kind model = model_kind::noised;
  double weight = 1.0;
  Schedule schedule{};

  template <class Ctx>
  double operator()(Ctx& ctx) const {
    return ctx.weighted_distance(schedule, ctx.target(), /*schedule_weighted=*/true);
  }
};

}  // namespace idemgen::losses
