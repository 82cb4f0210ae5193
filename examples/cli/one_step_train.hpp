#pragma once
// Training of the one-step methods (IGN, NAIGN, NAIGN−) on any backend: one_step.cpp runs it on
// the CPU, cuda_train.cu on backend::cuda<float>.

#include <algorithm>
#include <vector>

#include "cli/coupling_choice.hpp"
#include "cli/train_on.hpp"
#include "idemgen/models/ign.hpp"
#include "idemgen/models/naign.hpp"
#include "idemgen/nn/mlp.hpp"

namespace idemgen::cli {

/// The one-step model: mlp 2 → width × depth → 2.
template <numeric_backend B>
nn::mlp<B> make_one_step_net(index_t width, index_t depth, const std::string& activation, random_stream init) {
  return nn::mlp<B>({.input_dim = 2, .output_dim = 2,
                     .hidden = std::vector<index_t>(static_cast<std::size_t>(depth), width),
                     .act = {nn::parse_activation(activation)}},
                    init);
}

template <numeric_backend B>
trained train_one_step_on(const options& o, const host_sampler& sample) {
  using net_t = nn::mlp<B>;
  net_t net = make_one_step_net<B>(o.width, o.depth, o.activation, random_stream(o.seed).split(3));
  const models::generator_options g = generator_options_for(o, std::max(o.ema, 0.0));
  const auto meta = coupling_metadata(o);
  if (o.method == "ign") {
    models::ign<net_t> gen(std::move(net),
                           models::ign_losses({}, {}, {.weight = o.tight_weight, .clamp_ratio = o.tight_clamp}), {}, g);
    return train_and_save(gen, o, sample, meta);
  }
  // NAIGN and NAIGN− over the chosen coupling: IMLE's nearest candidate, or OT-coupled.
  const auto with = [&](auto coupling) {
    using C = decltype(coupling);
    if (o.method == "naign") {
      models::naign<net_t, metric::l2, C> gen(std::move(net), {}, {}, g, coupling);
      return train_and_save(gen, o, sample, meta);
    }
    models::naign_minus<net_t, metric::l2, C> gen(std::move(net), {}, {}, g, coupling);
    return train_and_save(gen, o, sample, meta);
  };
  return with_chosen_coupling(o, coupling::nearest_generated{.candidates_per_sample = o.imle_ratio}, with);
}

}  // namespace idemgen::cli
