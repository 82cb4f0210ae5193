#pragma once
// The network of the noised methods (diffusion, CDM, flow matching, LMM): an mlp over [x; Fourier
// features of σ or t], and EDM's schedule tuned to the data's scale.

#include <cmath>
#include <string>
#include <vector>

#include "cli/train_on.hpp"
#include "idemgen/nn/mlp.hpp"
#include "idemgen/schedules/karras.hpp"

namespace idemgen::cli {

/// What builds the model: from the command line (train) or the checkpoint's metadata (sample).
struct noised_config {
  std::string method, dataset, activation;
  index_t width = 0, depth = 0, cond_dim = 0;
  double fourier_scale = 0, sigma_data = 0;
};

/// The network under the denoiser or velocity: mlp over [x; Fourier features of σ or t].
template <numeric_backend B>
nn::mlp<B> make_noised_net(const noised_config& c, random_stream init) {
  return nn::mlp<B>({.input_dim = 2, .output_dim = 2,
                     .hidden = std::vector<index_t>(static_cast<std::size_t>(c.depth), c.width),
                     .act = {nn::parse_activation(c.activation)},
                     .cond = {.dim = c.cond_dim, .kind = nn::embedding_kind::fourier,
                              .fourier_scale = c.fourier_scale, .seed = 7}},
                    init);
}

/// EDM's schedule with σ_d set to the data's scale and P_mean shifted by ln(σ_d/0.5) (trap 8).
inline schedule::karras make_karras(double sigma_data) {
  return {.sigma_data = sigma_data, .p_mean = -1.2 + std::log(sigma_data / 0.5)};
}

}  // namespace idemgen::cli
