#pragma once
// Denoising score matching with EDM's weighting (Karras et al. 2022 eq. 8 and Table 1; CDM §2.2 L1):
//   L_DSM = (1/n) Σ_j λ(σ_j) D(D_θ(y_j + σ_j z_j; σ_j), y_j),  ln σ ~ N(P_mean, P_std²), λ = 1/c_out²
// with D the model's metric: ‖·‖² (metric::squared_l2, the papers' loss, the diffusion alias's
// default) or any other. The gradient flows through the anchor call D_θ(x; σ) of the step
// context (one backward pass shared with CDM's consistency term).

#include "idemgen/models/noised_step_context.hpp"

namespace idemgen::losses {

struct denoising_score_matching {
  static constexpr const char* name = "dsm";
  double weight = 1.0;

  template <class Ctx>
    requires requires(Ctx& c) { c.anchor(); c.schedule().loss_weight(1.0); }
  double operator()(Ctx& ctx) const {
    return ctx.weighted_distance(ctx.y(), /*schedule_weighted=*/true, weight);
  }
};

}  // namespace idemgen::losses
