#pragma once
// Training of the noised methods (diffusion, CDM, flow matching) on any backend: noised.cpp runs
// it on the CPU, cuda_train.cu on backend::cuda<float>.

#include <cmath>
#include <string>
#include <vector>

#include "cli/coupling_choice.hpp"
#include "cli/methods.hpp"
#include "cli/train_on.hpp"
#include "idemgen/models/diffusion.hpp"
#include "idemgen/models/flow_matching.hpp"
#include "idemgen/models/lmm.hpp"
#include "idemgen/nn/mlp.hpp"
#include "idemgen/teachers/mixture.hpp"
#include "idemgen/train/checkpoint.hpp"

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

/// A trained EDM denoiser as a teacher (teachers::teacher): D(x; σ) with its own cache.
struct checkpoint_teacher {
  nn::denoiser<nn::mlp<be>> den;
  nn::denoiser<nn::mlp<be>>::cache cache;
  void operator()(be::const_view x, be::const_view sigma, be::view out) { be::copy(den.forward(x, sigma, cache), out); }
};

/// A diffusion or CDM checkpoint (idemgen train --method diffusion|cdm) as LMM's teacher, with
/// its EMA weights when it has them. Any other file is an io_error or invalid_argument.
inline checkpoint_teacher load_checkpoint_teacher(const std::string& path) {
  const io::safetensors file = io::read_safetensors(path);
  const auto& md = file.metadata;
  const std::string method = train::metadata_string(md, "method", path);
  if (method != "diffusion" && method != "cdm")
    throw invalid_argument("idemgen", "--teacher", "a diffusion or cdm checkpoint", "a " + method + " checkpoint");
  const auto integer = [&](const char* key) { return static_cast<index_t>(train::metadata_integer(md, key, path, 1)); };
  const noised_config c{method, train::metadata_string(md, "dataset", path), train::metadata_string(md, "activation", path),
                        integer("width"), integer("depth"), integer("cond_dim"),
                        train::metadata_real(md, "fourier_scale", path, 0), train::metadata_real(md, "sigma_data", path, 0)};
  checkpoint_teacher t{nn::denoiser<nn::mlp<be>>(make_noised_net<be>(c, random_stream(0)), make_karras(c.sigma_data)), {}};
  train::load_weights(file, t.den, path, /*prefer_ema=*/true);
  return t;
}

/// LMM's teacher: "mixture:DATASET" (or empty: --dataset's), the analytic denoiser of a mixture.
inline data::toy teacher_dataset(const options& o) {
  const std::string spec = o.teacher.empty() ? "mixture:" + o.dataset : o.teacher;
  if (spec.rfind("mixture:", 0) != 0)
    throw invalid_argument("idemgen", "--teacher", "mixture:DATASET or a diffusion checkpoint", spec);
  const data::toy t = data::parse_toy(spec.substr(8));
  if (!data::mixture_of(t)) throw invalid_argument("idemgen", "--teacher", "a mixture dataset (grid25, 8gaussians)", spec);
  return t;
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
    return with_chosen_coupling(o, coupling::independent{}, with);
  }
  nn::denoiser<mlp_t> den(std::move(net), make_karras(c.sigma_data));
  if (o.method == "lmm") {  // CPU only (main.cpp refuses --device cuda): the teacher runs on the host
    if constexpr (std::is_same_v<B, be>) {
      models::basic_generator_options<optim::radam_options> r{
          .optimizer = {.lr = o.lr}, .lr_schedule = g.lr_schedule, .clip_grad_norm = g.clip_grad_norm,
          .ema_decay = g.ema_decay, .seed = g.seed};
      if (!o.pairs.empty()) {  // stored pairs: their file says which teacher and grid made them
        auto set = std::make_shared<teachers::pair_set<B>>(teachers::read_pairs<B>(o.pairs));
        if (set->dim() != 2) throw invalid_argument("idemgen", "--pairs", "pairs of dimension 2", std::to_string(set->dim()));
        const schedule::karras_grid stored_grid{
            .steps = static_cast<int>(train::metadata_integer(set->metadata, "teacher_steps", o.pairs, 2))};
        meta.emplace_back("teacher", set->metadata.count("teacher") ? set->metadata.at("teacher") : "unknown");
        meta.emplace_back("teacher_steps", std::to_string(stored_grid.steps));
        meta.emplace_back("pairs", o.pairs);
        models::lmm_on_pairs<mlp_t> gen(std::move(den), models::lmm_losses({.schedule = stored_grid}), {}, r,
                                        coupling::stored_pairs<B>{.pairs = std::move(set)});
        return train_and_save(gen, o, sample, meta);
      }
      const schedule::karras_grid teacher_grid{.steps = o.teacher_steps};
      if (!o.teacher.empty() && o.teacher.rfind("mixture:", 0) != 0) {  // a trained EDM checkpoint
        coupling::teacher_ode<checkpoint_teacher> pairs{
            .teacher = std::make_shared<checkpoint_teacher>(load_checkpoint_teacher(o.teacher)), .ode = {.grid = teacher_grid}};
        models::lmm<mlp_t, checkpoint_teacher> gen(std::move(den), models::lmm_losses({.schedule = teacher_grid}), {}, r,
                                                   pairs);
        meta.emplace_back("teacher", o.teacher);
        meta.emplace_back("teacher_steps", std::to_string(o.teacher_steps));
        return train_and_save(gen, o, sample, meta);
      }
      const data::toy t = teacher_dataset(o);
      using teacher_t = evaluation::mixture_denoiser<B>;
      const schedule::karras_grid grid{.steps = o.teacher_steps};
      coupling::teacher_ode<teacher_t> pairs{.teacher = std::make_shared<teacher_t>(*teachers::exact_denoiser<B>(t)),
                                             .ode = {.grid = grid}};
      models::lmm<mlp_t, teacher_t> gen(std::move(den), models::lmm_losses({.schedule = grid}), {}, r, pairs);
      meta.emplace_back("teacher", "mixture:" + std::string(data::to_string(t)));
      meta.emplace_back("teacher_steps", std::to_string(o.teacher_steps));
      return train_and_save(gen, o, sample, meta);
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
