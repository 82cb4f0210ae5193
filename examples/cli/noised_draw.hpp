#pragma once
// The samplers of the noised methods' `train` and `sample` outputs, for a denoiser or a velocity
// over any network (the points' mlp, the images' unet): one name → one sampler of samplers/.

#include <cstdint>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/train_on.hpp"
#include "idemgen/evaluation/straightness.hpp"
#include "idemgen/nn/denoiser.hpp"
#include "idemgen/nn/velocity.hpp"
#include "idemgen/samplers/flow_ode.hpp"
#include "idemgen/samplers/lines.hpp"
#include "idemgen/samplers/model_function.hpp"
#include "idemgen/samplers/pf_ode.hpp"
#include "idemgen/samplers/reverse_sde.hpp"

namespace idemgen::cli {

/// LMM's samplers that walk its teacher's grid (multistep, lines-euler) take `steps` NFE over it.
inline bool walks_grid(const std::string& sampler) { return sampler == "multistep" || sampler == "lines-euler"; }

/// Refuses, naming `option`, more NFE than the teacher's grid has points: checked before anything
/// is trained or written.
inline void check_grid_steps(const char* option, const std::string& sampler, int steps, int grid_points) {
  if (walks_grid(sampler) && steps > grid_points)
    throw invalid_argument("idemgen", option, fmt::format("at most the grid's {} points for {}", grid_points, sampler),
                           std::to_string(steps));
}

/// Draws samples into `out` from unit noise z with sampler `name` and `steps`; returns the NFE.
/// Denoisers: heun, euler (PF-ODE), stochastic (EDM Alg. 2), sde (reverse SDE), and LMM's
/// multistep and lines-euler (`steps` = NFE, over the `grid_points`-point Karras grid LMM trained
/// on: its teacher's). Velocities: euler, midpoint. With `trajectory`, every state is kept;
/// `times` receives t per state.
template <class Net, class Schedule>
int draw(const nn::denoiser<Net, Schedule>& den, const std::string& name, int steps, be::const_view z, be::view out,
         std::uint64_t seed, std::vector<be::matrix>* trajectory = nullptr, std::vector<double>* times = nullptr,
         int grid_points = 18) {
  const auto& k = den.schedule();
  if (walks_grid(name)) {
    const schedule::karras_grid grid{.sigma_min = k.sigma_min, .sigma_max = k.sigma_max, .rho = k.rho,
                                     .steps = grid_points};
    check_grid_steps("--sample-steps", name, steps, grid_points);
    const auto set = lines_indices(steps, grid.steps);
    if (times) {
      times->clear();
      for (int i : set) times->push_back(1 - grid.sigma<double>(i) / k.sigma_max);
      times->push_back(1.0);
    }
    be::copy(z, out);
    random_stream rng = random_stream(seed).split(6);
    return samplers::lines_sampler<be>(samplers::model_function(den), grid, set,
                                       name == "multistep" ? samplers::lines_method::multistep
                                                           : samplers::lines_method::euler,
                                       out, rng, trajectory);
  }
  const auto sigmas = k.steps(steps);
  if (times) *times = evaluation::times_from_sigmas(sigmas);
  be::copy(z, out);
  be::scale(out, static_cast<float>(k.sigma_max));
  auto f = samplers::model_function(den);
  random_stream rng = random_stream(seed).split(6);
  if (name == "heun" || name == "euler")
    return samplers::pf_ode<be>(f, sigmas, name == "heun" ? samplers::ode_method::heun : samplers::ode_method::euler,
                                out, trajectory);
  if (name == "stochastic")  // EDM's ImageNet-64 settings, S_tmin/S_tmax scaled by σ_d/0.5
    return samplers::edm_stochastic<be>(f, sigmas,
                                        {.s_churn = 40, .s_tmin = 0.05 * k.sigma_data / 0.5,
                                         .s_tmax = 50 * k.sigma_data / 0.5, .s_noise = 1.003},
                                        out, rng, trajectory);
  return samplers::reverse_sde<be>(f, sigmas, out, rng, trajectory);
}

template <class Net, class Schedule>
int draw(const nn::velocity<Net, Schedule>& vel, const std::string& name, int steps, be::const_view z, be::view out, std::uint64_t,
         std::vector<be::matrix>* trajectory = nullptr, std::vector<double>* times = nullptr, int = 0) {
  const auto ts = vel.schedule().steps(steps);
  if (times) *times = ts;
  be::copy(z, out);
  return samplers::flow_ode<be>(samplers::model_function(vel), ts,
                                name == "midpoint" ? samplers::flow_method::midpoint : samplers::flow_method::euler, out,
                                trajectory);
}

}  // namespace idemgen::cli
