#pragma once
// Training of the one-step methods (IGN, NAIGN, NAIGN−, SIGN) on any backend: one_step.cpp runs
// it on the CPU, cuda_train.cu on backend::cuda<float> (SIGN: CPU only, its teacher runs there).

#include <algorithm>
#include <vector>

#include "cli/coupling_choice.hpp"
#include "cli/train_on.hpp"
#include "idemgen/models/ign.hpp"
#include "idemgen/models/naign.hpp"
#include "idemgen/models/sign.hpp"
#include "cli/teachers.hpp"
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

/// SIGN's flow term (SIGN eq. 8) with `teacher` and its denoising term, both over the
/// --teacher-steps Karras grid up to --sigma-max; the options go into `meta` (sample and --resume
/// read them back) and f generates from σ_max ε (g.source_scale).
template <class Teacher>
std::pair<losses::teacher_flow<Teacher>, losses::denoise<>> sign_terms(
    const options& o, std::shared_ptr<Teacher> teacher, const std::string& teacher_name, models::generator_options& g,
    std::vector<std::pair<std::string, std::string>>& meta) {
  g.source_scale = o.sigma_max;
  const schedule::karras_grid grid{.sigma_max = o.sigma_max, .steps = o.teacher_steps};
  meta.insert(meta.end(), {{"source_scale", fmt::format("{}", o.sigma_max)},
                           {"sigma_max", fmt::format("{}", o.sigma_max)},
                           {"teacher_steps", std::to_string(o.teacher_steps)},
                           {"flow_weight", fmt::format("{}", o.flow_weight)},
                           {"denoise_weight", fmt::format("{}", o.denoise_weight)},
                           {"idem", o.idem},
                           {"teacher", teacher_name}});
  return {{.weight = o.flow_weight, .teacher = std::move(teacher), .schedule = grid},
          {.weight = o.denoise_weight, .schedule = grid}};
}

/// SIGN on the CPU: rec + idem + flow + denoise (+ reg on --pairs) with the --teacher (empirical:
/// none), over the --teacher-steps Karras grid up to --sigma-max, f generating from σ_max ε.
template <class Net>
trained train_sign(Net net, const options& o, models::generator_options g, const host_sampler& sample,
                   std::vector<std::pair<std::string, std::string>> meta) {
  const auto with_teacher = [&](auto teacher, const std::string& name) {
    using teacher_t = typename decltype(teacher)::element_type;
    const auto terms = sign_terms(o, std::move(teacher), name, g, meta);
    const auto& flow = terms.first;
    const auto& denoise = terms.second;
    const auto run = [&](auto idem) {
      using idem_t = decltype(idem);
      if (o.pairs.empty()) {
        using losses_t = losses::set<losses::reconstruction, idem_t, losses::teacher_flow<teacher_t>, losses::denoise<>>;
        models::generator<Net, metric::l2, coupling::independent, losses_t> gen(std::move(net),
                                                                                losses_t({}, idem, flow, denoise), {}, g);
        return train_and_save(gen, o, sample, meta);
      }
      auto set = read_sign_pairs(o, 2, "");
      meta.emplace_back("pairs", o.pairs);
      using reg_t = losses::teacher_regression<be>;
      using losses_t =
          losses::set<losses::reconstruction, idem_t, losses::teacher_flow<teacher_t>, losses::denoise<>, reg_t>;
      models::generator<Net, metric::l2, coupling::independent, losses_t> gen(
          std::move(net), losses_t({}, idem, flow, denoise, reg_t{.pairs = {.pairs = std::move(set)}}), {}, g);
      return train_and_save(gen, o, sample, meta);
    };
    if (o.idem == "printed") return run(losses::idempotence<losses::idem_kind::printed>{});
    return run(losses::idempotence<losses::idem_kind::ign>{});
  };
  if (o.teacher == "empirical") return with_teacher(std::shared_ptr<teachers::empirical>{}, std::string("empirical"));
  return with_chosen_teacher(o, with_teacher);
}

template <numeric_backend B>
trained train_one_step_on(const options& o, const host_sampler& sample) {
  using net_t = nn::mlp<B>;
  net_t net = make_one_step_net<B>(o.width, o.depth, o.activation, random_stream(o.seed).split(3));
  const models::generator_options g = generator_options_for(o, std::max(o.ema, 0.0));
  const auto meta = coupling_metadata(o);
  if (o.method == "sign") {
    if constexpr (std::is_same_v<B, be>) {
      return train_sign(std::move(net), o, g, sample, meta);
    } else {
      throw invalid_argument("idemgen", "--device", "cpu for --method sign", "cuda");
    }
  }
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
