#pragma once
// The --teacher of the teacher methods (LMM, SIGN) and of idemgen pairs: mixture:DATASET (the
// analytic denoiser of a mixture dataset), or a trained diffusion/CDM checkpoint; and reflow's
// previous flow (--from, an fm checkpoint).

#include <cmath>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "cli/noised_net.hpp"
#include "idemgen/evaluation/mixture_denoiser.hpp"
#include "idemgen/nn/denoiser.hpp"
#include "idemgen/nn/velocity.hpp"
#include "idemgen/teachers/mixture.hpp"
#include "idemgen/teachers/pair_file.hpp"
#include "idemgen/train/checkpoint.hpp"

namespace idemgen::cli {

/// A trained EDM denoiser as a teacher (teachers::teacher): D(x; σ) with its own cache; Net is
/// the mlp of a model of points or the nn::unet of an image model (cli/unet_net.hpp).
template <class Net>
struct denoiser_teacher {
  nn::denoiser<Net> den;
  typename nn::denoiser<Net>::cache cache;
  void operator()(be::const_view x, be::const_view sigma, be::view out) { be::copy(den.forward(x, sigma, cache), out); }
};
using checkpoint_teacher = denoiser_teacher<nn::mlp<be>>;

/// The model a noised-method checkpoint holds, from its metadata.
inline noised_config config_of(const train::metadata& md, const std::string& path) {
  const auto integer = [&](const char* key) { return static_cast<index_t>(train::metadata_integer(md, key, path, 1)); };
  return {train::metadata_string(md, "method", path), train::metadata_string(md, "dataset", path),
          train::metadata_string(md, "activation", path), integer("width"), integer("depth"), integer("cond_dim"),
          train::metadata_real(md, "fourier_scale", path, 0), train::metadata_real(md, "sigma_data", path, 0)};
}

/// A diffusion or CDM checkpoint (idemgen train --method diffusion|cdm) as LMM's or SIGN's
/// teacher, with its EMA weights when it has them. Any other file is an io_error or invalid_argument.
inline checkpoint_teacher load_checkpoint_teacher(const std::string& path) {
  const io::safetensors file = io::read_safetensors(path);
  const std::string method = train::metadata_string(file.metadata, "method", path);
  if (method != "diffusion" && method != "cdm")
    throw invalid_argument("idemgen", "--teacher", "a diffusion or cdm checkpoint", "a " + method + " checkpoint");
  const noised_config c = config_of(file.metadata, path);
  checkpoint_teacher t{nn::denoiser<nn::mlp<be>>(make_noised_net<be>(c, random_stream(0)), make_karras(c.sigma_data)), {}};
  train::load_weights(file, t.den, path, /*prefer_ema=*/true);
  return t;
}

/// A trained flow (idemgen train --method fm) as reflow's previous model: v(x, t) with its cache.
struct checkpoint_velocity {
  nn::velocity<nn::mlp<be>> vel;
  nn::velocity<nn::mlp<be>>::cache cache;
  void operator()(be::const_view x, be::const_view t, be::view out) { be::copy(vel.forward(x, t, cache), out); }
};

/// An fm checkpoint (its EMA weights when it has them) for --coupling reflow --from; any other
/// file is an io_error or invalid_argument.
inline checkpoint_velocity load_checkpoint_velocity(const std::string& path) {
  const io::safetensors file = io::read_safetensors(path);
  const std::string method = train::metadata_string(file.metadata, "method", path);
  if (method != "fm") throw invalid_argument("idemgen", "--from", "an fm checkpoint", "a " + method + " checkpoint");
  const noised_config c = config_of(file.metadata, path);
  checkpoint_velocity v{nn::velocity<nn::mlp<be>>(make_noised_net<be>(c, random_stream(0))), {}};
  train::load_weights(file, v.vel, path, /*prefer_ema=*/true);
  return v;
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

/// Calls use(shared teacher, its name for the metadata) with the --teacher on the CPU: a
/// checkpoint's denoiser, or the analytic denoiser of mixture:DATASET (default: --dataset's).
template <class Use>
auto with_chosen_teacher(const options& o, Use use) {
  if (!o.teacher.empty() && o.teacher.rfind("mixture:", 0) != 0)
    return use(std::make_shared<checkpoint_teacher>(load_checkpoint_teacher(o.teacher)), o.teacher);
  const data::toy t = teacher_dataset(o);
  using mixture_t = evaluation::mixture_denoiser<be>;
  return use(std::make_shared<mixture_t>(*teachers::exact_denoiser<be>(t)), "mixture:" + std::string(data::to_string(t)));
}

/// --pairs (idemgen pairs) of a teacher's ODE, for LMM's training and SIGN's regression term,
/// checked: pairs of dimension `dim` and, for images (`image_shape` not empty), made by a teacher
/// of images of that shape. Null without --pairs.
inline std::shared_ptr<teachers::pair_set<be>> read_teacher_pairs(const options& o, index_t dim,
                                                                  const std::string& image_shape) {
  if (o.pairs.empty()) return nullptr;
  auto set = std::make_shared<teachers::pair_set<be>>(teachers::read_pairs<be>(o.pairs));
  const auto shape = set->metadata.find("image_shape");
  const std::string stored_shape = shape == set->metadata.end() ? "" : shape->second;
  if (set->dim() != dim || stored_shape != image_shape)
    throw invalid_argument("idemgen", "--pairs",
                           image_shape.empty() ? fmt::format("pairs of dimension {}", dim)
                                               : fmt::format("pairs of {} images", image_shape),
                           stored_shape.empty() ? fmt::format("pairs of dimension {}", set->dim())
                                                : fmt::format("pairs of {} images", stored_shape));
  return set;
}

/// SIGN's regression pairs (SIGN eq. 12): as read_teacher_pairs, and their x_T must be f's
/// source, so the ODE that made them started at --sigma-max.
inline std::shared_ptr<teachers::pair_set<be>> read_sign_pairs(const options& o, index_t dim,
                                                               const std::string& image_shape) {
  auto set = read_teacher_pairs(o, dim, image_shape);
  if (!set) return set;
  const double pair_sigma_max = train::metadata_real(set->metadata, "sigma_max", o.pairs, 0);
  if (std::abs(pair_sigma_max - o.sigma_max) > 1e-9 * o.sigma_max)
    throw invalid_argument("idemgen", "--pairs", fmt::format("pairs from sigma_max {}", o.sigma_max),
                           fmt::format("sigma_max {}", pair_sigma_max));
  return set;
}

}  // namespace idemgen::cli
