#pragma once
// Training of the noised methods (diffusion, CDM, flow matching with any coupling, reflow, LMM)
// on any backend: noised.cpp runs it on the CPU, cuda_train.cu on backend::cuda<float> (LMM and
// reflow: CPU only, their teacher or previous flow runs there). train_lmm serves the points' mlp
// and the images' unet (noised_images.cpp).

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "cli/coupling_choice.hpp"
#include "cli/methods.hpp"
#include "cli/noised_net.hpp"
#include "cli/teachers.hpp"
#include "cli/train_on.hpp"
#include "idemgen/models/diffusion.hpp"
#include "idemgen/models/flow_matching.hpp"
#include "idemgen/models/lmm.hpp"
#include "idemgen/nn/mlp.hpp"
#include "idemgen/teachers/mixture.hpp"
#include "idemgen/train/checkpoint.hpp"

namespace idemgen::cli {

/// LMM's training levels: σ uniform over the teacher's `points`-point grid, or with --sot over the
/// sampler's index set for --sample-steps K (LMM §3's sampling-optimised training), recorded in
/// the metadata.
inline schedule::karras_grid lmm_grid(const options& o, int points,
                                      std::vector<std::pair<std::string, std::string>>& meta) {
  schedule::karras_grid grid{.steps = points};
  if (o.sot) {
    const auto set = lines_indices(o.sample_steps > 0 ? o.sample_steps : 1, points);
    if (set.size() > static_cast<std::size_t>(schedule::karras_grid::max_indices) || set.back() >= points)
      throw invalid_argument("idemgen", "--sot", fmt::format("an index set of at most 8 of the grid's {} points", points),
                             fmt::format("{} points", set.size()));
    for (std::size_t k = 0; k < set.size(); ++k) grid.indices[k] = set[k];
    grid.index_count = static_cast<int>(set.size());
    meta.emplace_back("sot", fmt::format("{}", fmt::join(set, ",")));
  }
  grid.validate();
  return grid;
}

/// The Karras grid LMM samples over: its teacher's, --teacher-steps points, or the stored pairs'
/// (their file's teacher_steps, from its header alone). Read before training, so a bad
/// --sample-steps stops nothing late.
inline int lmm_grid_points(const options& o) {
  if (o.pairs.empty()) return o.teacher_steps;
  return static_cast<int>(train::metadata_integer(io::read_safetensors_metadata(o.pairs), "teacher_steps", o.pairs, 2));
}

/// LMM (LMM eq. 3 over teacher-ODE pairs, RAdam as LMM Table 6) over any denoiser network, on the
/// host: on `stored` pairs (their file names the teacher and its grid), or, when it is null, on
/// pairs made online by the teacher that `with_teacher(use)` hands to use(teacher, its name).
template <class Net, class WithTeacher>
trained train_lmm(nn::denoiser<Net> den, const options& o, const models::generator_options& g,
                  const host_sampler& sample, std::vector<std::pair<std::string, std::string>> meta,
                  std::shared_ptr<teachers::pair_set<be>> stored, WithTeacher with_teacher,
                  const periodic_evaluation* periodic = nullptr) {
  models::basic_generator_options<optim::radam_options> r{
      .optimizer = {.lr = o.lr}, .lr_schedule = g.lr_schedule, .clip_grad_norm = g.clip_grad_norm,
      .ema_decay = g.ema_decay, .seed = g.seed};
  if (stored) {
    const schedule::karras_grid stored_grid =
        lmm_grid(o, static_cast<int>(train::metadata_integer(stored->metadata, "teacher_steps", o.pairs, 2)), meta);
    meta.emplace_back("teacher", stored->metadata.count("teacher") ? stored->metadata.at("teacher") : "unknown");
    meta.emplace_back("teacher_steps", std::to_string(stored_grid.steps));
    meta.emplace_back("pairs", o.pairs);
    models::lmm_on_pairs<Net> gen(std::move(den), models::lmm_losses({.schedule = stored_grid}), {}, r,
                                  coupling::stored_pairs<be>{.pairs = std::move(stored)});
    return train_and_save(gen, o, sample, meta, periodic);
  }
  const schedule::karras_grid grid = lmm_grid(o, o.teacher_steps, meta);
  return with_teacher([&](auto teacher, const std::string& name) {
    using teacher_t = typename decltype(teacher)::element_type;
    coupling::teacher_ode<teacher_t> pairs{.teacher = std::move(teacher), .ode = {.grid = grid}};
    models::lmm<Net, teacher_t> gen(std::move(den), models::lmm_losses({.schedule = grid}), {}, r, pairs);
    meta.emplace_back("teacher", name);
    meta.emplace_back("teacher_steps", std::to_string(o.teacher_steps));
    return train_and_save(gen, o, sample, meta, periodic);
  });
}

template <numeric_backend B>
trained train_noised_on(const options& o, const noised_config& c, const host_sampler& sample) {
  using mlp_t = nn::mlp<B>;
  const models::generator_options g = generator_options_for(o, o.ema < 0 ? 0.999 : o.ema);
  std::vector<std::pair<std::string, std::string>> meta = {
      {"cond_dim", std::to_string(c.cond_dim)}, {"fourier_scale", fmt::format("{}", c.fourier_scale)},
      {"sigma_data", fmt::format("{}", c.sigma_data)}, {"cdm_weight", fmt::format("{}", o.cdm_weight)},
      {"cdm_epsilon", fmt::format("{}", o.cdm_epsilon)}};
  for (auto& kv : coupling_metadata(o)) meta.push_back(std::move(kv));
  mlp_t net = make_noised_net<B>(c, random_stream(o.seed).split(3));
  if (find_method(o.method).family == model_family::velocity) {  // CFM, or OT-CFM over the exact or entropic mini-batch OT coupling
    const auto with = [&](auto coupling) {
      models::flow_matching<mlp_t, decltype(coupling)> gen(nn::velocity<mlp_t>(std::move(net)), {}, {}, g, coupling);
      return train_and_save(gen, o, sample, meta);
    };
    if (coupling_of(o) == "reflow") {  // k-RF: pairs from the previous flow's own ODE (CPU only: main.cpp)
      if constexpr (std::is_same_v<B, be>) {
        meta.emplace_back("from", o.from);
        meta.emplace_back("reflow_steps", std::to_string(o.reflow_steps));
        return with(coupling::reflow<checkpoint_velocity>{
            .previous = std::make_shared<checkpoint_velocity>(load_checkpoint_velocity(o.from)), .steps = o.reflow_steps});
      } else {
        throw invalid_argument("idemgen", "--device", "cpu for --coupling reflow", "cuda");
      }
    }
    return with_chosen_coupling(o, coupling::independent{}, with);
  }
  nn::denoiser<mlp_t> den(std::move(net), make_karras(c.sigma_data));
  if (o.method == "lmm") {  // CPU only (main.cpp refuses --device cuda): the teacher runs on the host
    if constexpr (std::is_same_v<B, be>) {
      return train_lmm(std::move(den), o, g, sample, std::move(meta), read_teacher_pairs(o, 2, ""),
                       [&](auto use) { return with_chosen_teacher(o, use); });
    } else {
      throw invalid_argument("idemgen", "--device", "cpu for --method lmm", "cuda");
    }
  }
  if (o.method == "diffusion") {
    models::diffusion<mlp_t> gen(std::move(den), {}, {}, g);
    return train_and_save(gen, o, sample, meta);
  }
  models::cdm<mlp_t> gen(std::move(den),
                         models::cdm_losses({}, {.weight = o.cdm_weight, .epsilon_max = o.cdm_epsilon}), {}, g);
  return train_and_save(gen, o, sample, meta);
}

}  // namespace idemgen::cli
