#pragma once
// EDM diffusion and CDM, as generator compositions over a denoiser D_θ(x; σ) = nn::denoiser<F, S>:
//   diffusion  L = L_DSM                     (EDM, Karras et al. 2022)
//   cdm        L = L_DSM + λ_c L̂_consistency (CDM §5, two-chain estimator)
// Sample with samplers::pf_ode (Euler, Heun), samplers::edm_stochastic or samplers::reverse_sde.

#include "idemgen/losses/consistency.hpp"
#include "idemgen/losses/denoising_score_matching.hpp"
#include "idemgen/models/generator.hpp"
#include "idemgen/nn/denoiser.hpp"
#include "idemgen/schedules/karras.hpp"
#include "idemgen/schedules/vp.hpp"

namespace idemgen::models {

// The terms take the denoiser's own schedule (schedule::of_model): σ_data, P_mean, P_std are
// stated once, in nn::denoiser's schedule.
using diffusion_losses = losses::set<losses::denoising_score_matching<>>;
using cdm_losses = losses::set<losses::denoising_score_matching<>, losses::consistency<>>;

template <class Net, class Schedule = schedule::karras, class Metric = metric::squared_l2>
using diffusion = generator<nn::denoiser<Net, Schedule>, Metric, coupling::independent, diffusion_losses>;

/// CDM's consistency term needs Metric = squared_l2 (a static_assert says so).
template <class Net, class Schedule = schedule::karras, class Metric = metric::squared_l2>
using cdm = generator<nn::denoiser<Net, Schedule>, Metric, coupling::independent, cdm_losses>;

}  // namespace idemgen::models
