// idemgen train on an image --dataset for the noised methods: EDM's denoiser D(x; σ) (diffusion:
// DSM, cdm: DSM + CDM's consistency term; lmm: LMM eq. 3 on the pairs of a unet diffusion/cdm
// teacher's ODE, online or from idemgen pairs) and flow matching's velocity v(x, t) (fm, with the
// independent or a mini-batch OT coupling), all over the U-Net nn::unet; and idemgen sample of
// such a checkpoint. Samples come from the PF-ODE (Heun, EDM Alg. 1), the flow ODE or LMM's
// samplers over its teacher's grid; they are scored as NAIGN Table 1 (FLD, coverage, density)
// when the data set has labels and a test split.

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "cli/common.hpp"
#include "cli/coupling_choice.hpp"
#include "cli/image_data.hpp"
#include "cli/methods.hpp"
#include "cli/noised_draw.hpp"
#include "cli/noised_net.hpp"
#include "cli/noised_train.hpp"
#include "cli/unet_net.hpp"
#include "idemgen/evaluation/generated_images.hpp"
#include "idemgen/io/image_grid.hpp"
#include "idemgen/models/diffusion.hpp"
#include "idemgen/models/flow_matching.hpp"

namespace idemgen::cli {
namespace {

using image_velocity = nn::velocity<unet_t>;

/// The standard deviation of the pixels (in [−1, 1]) of up to 10 000 images: EDM's σ_data.
double pixel_std(const data::image_set& set) {
  const index_t n = std::min<index_t>(set.count, 10000), d = set.shape.size();
  double sum = 0, squares = 0;
  std::vector<double> image(static_cast<std::size_t>(d));
  for (index_t j = 0; j < n; ++j) {
    set.image_to(j, image.data());
    for (double v : image) {
      sum += v;
      squares += v * v;
    }
  }
  const double count = static_cast<double>(n * d), mean = sum / count;
  return std::sqrt(std::max(squares / count - mean * mean, 1e-12));
}

/// n samples (unit noise z from `rng`, then the sampler; LMM's over its teacher's `grid_points`
/// grid) into `out`; returns the NFE.
template <class Model>
int draw_images(const Model& model, const std::string& sampler, int steps, be::view out, random_stream& rng,
                std::uint64_t seed, int grid_points) {
  be::matrix z(out.rows(), out.cols());
  be::fill_normal(z, rng);
  return draw(model, sampler, steps, z, out, seed, nullptr, nullptr, grid_points);
}

/// samples.png: 64 samples, rows of 16.
template <class Model>
void write_sample_grid(const Model& model, const data::image_shape& shape, const std::string& sampler, int steps,
                       std::uint64_t seed, int grid_points, const std::string& path) {
  be::matrix x(shape.size(), 64);
  random_stream rng = random_stream(seed).split(2);
  draw_images(model, sampler, steps, x, rng, seed, grid_points);
  io::write_image_grid_png(path, to_host(x).data(), shape, 64, 16, 2);
}

template <class Model>
evaluation::generated_image_scores score(const Model& model, const image_reference& reference, const std::string& sampler,
                                         int steps, std::uint64_t seed, int grid_points) {
  return evaluation::score_generated_images(
      *reference.scorer,
      [&](be::view out, random_stream& rng) { draw_images(model, sampler, steps, out, rng, seed, grid_points); },
      random_stream(seed).split(6));
}

io::ordered_json scores_json(const evaluation::generated_image_scores& q) {
  return {{"fld", q.fld}, {"coverage", q.quality.coverage}, {"density", q.quality.density}};
}

std::string default_sampler(const std::string& method) { return find_method(method).samplers.front(); }
/// Heun with 18 steps (35 NFE, EDM's CIFAR-10 budget) for denoisers; 35 Euler steps for flows;
/// LMM's own default (one multistep NFE).
int default_image_steps(const std::string& method) {
  const method_entry& m = find_method(method);
  if (m.family == model_family::velocity) return 35;
  return method == "lmm" ? m.default_sample_steps : 18;
}


}  // namespace

int train_noised_images(const options& o) {
  const data::image_set& train_set = *o.data.images();
  const unet_config c{train_set.shape, o.channels, o.cond_dim, o.fourier_scale};
  const double sigma_data = o.sigma_data > 0 ? o.sigma_data : pixel_std(train_set);
  const std::string sampler = o.sampler.empty() ? default_sampler(o.method) : o.sampler;
  const int steps = o.sample_steps > 0 ? o.sample_steps : default_image_steps(o.method);
  const bool lmm = o.method == "lmm";
  // LMM's teacher (a unet diffusion/cdm checkpoint of these images) or its stored pairs are read
  // and checked before anything is written; it samples over the teacher's grid.
  const std::shared_ptr<image_teacher> teacher =
      lmm && o.pairs.empty() ? load_image_teacher(o.teacher, train_set.shape) : nullptr;
  const std::shared_ptr<teachers::pair_set<be>> stored =
      lmm ? read_teacher_pairs(o, train_set.shape.size(), shape_text(train_set.shape)) : nullptr;
  const int grid_points =
      !lmm ? 18 : stored ? static_cast<int>(train::metadata_integer(stored->metadata, "teacher_steps", o.pairs, 2))
                         : o.teacher_steps;
  check_grid_steps("--sample-steps", sampler, steps, grid_points);
  const image_reference reference(o, train_set);
  const models::generator_options g = generator_options_for(o, o.ema < 0 ? 0.999 : o.ema);
  auto meta = coupling_metadata(o);
  meta.insert(meta.end(), {{"net", "unet"}, {"channels", o.channels}, {"image_shape", shape_text(c.shape)},
                           {"cond_dim", std::to_string(c.cond_dim)}, {"fourier_scale", fmt::format("{}", c.fourier_scale)},
                           {"sigma_data", fmt::format("{}", sigma_data)}, {"cdm_weight", fmt::format("{}", o.cdm_weight)},
                           {"cdm_epsilon", fmt::format("{}", o.cdm_epsilon)}});

  // Train; sample (eval.csv during training, outputs after) with `host`, a CPU model of the weights.
  const auto train_with = [&](auto& host, auto&& train) {
    const host_sampler sample = [&](const std::vector<float>& parameters, be::const_view z, be::view out) {
      load_parameters(host, parameters);
      draw(host, sampler, steps, z, out, o.seed, nullptr, nullptr, grid_points);
    };
    const periodic_evaluation eval{"step,fld,coverage,density", [&](const std::vector<float>& parameters) {
                                     load_parameters(host, parameters);
                                     const auto q = score(host, reference, sampler, steps, o.seed, grid_points);
                                     return fmt::format("{:.4f},{:.4f},{:.4f}", q.fld, q.quality.coverage, q.quality.density);
                                   }};
    const trained t = train(sample, reference.scorer ? &eval : nullptr);
    load_parameters(host, t.parameters);
    io::ordered_json metrics = {{"method", o.method}, {"dataset", o.dataset}, {"net", host.describe()},
                                {"steps", t.report.steps}, {"train_seconds", t.report.seconds},
                                {"recoveries", t.report.recoveries}, {"sigma_data", sigma_data},
                                {"sampler", sampler}, {"sampler_steps", steps}};
    if (lmm) metrics["teacher"] = o.pairs.empty() ? o.teacher : o.pairs;
    write_sample_grid(host, c.shape, sampler, steps, o.seed, grid_points, o.out + "/samples.png");
    if (reference.scorer) {
      metrics.update(reference.json());
      const auto q = score(host, reference, sampler, steps, o.seed, grid_points);
      metrics["generation"] = scores_json(q);
      std::printf("idemgen: FLD %.2f (training images %.2f), coverage %.3f, density %.3f with %s %d; wrote %s\n", q.fld,
                  reference.scorer->scale.train_images, q.quality.coverage, q.quality.density, sampler.c_str(), steps,
                  o.out.c_str());
    } else {
      metrics["generation"] = "not scored: the data set has no labelled test split for the FLD classifier";
      std::printf("idemgen: wrote %s (no labelled test split: no FLD)\n", o.out.c_str());
    }
    write_metrics(o.out + "/metrics.json", metrics);
    return 0;
  };

  if (find_method(o.method).family == model_family::velocity) {
    image_velocity host(make_unet(c, random_stream(0)));
    return train_with(host, [&](const host_sampler& sample, const periodic_evaluation* periodic) {
      return with_chosen_coupling(o, coupling::independent{}, [&](auto coupling) {
        models::flow_matching<unet_t, decltype(coupling)> gen(image_velocity(make_unet(c, random_stream(o.seed).split(3))),
                                                              {}, {}, g, coupling);
        return train_and_save(gen, o, sample, meta, periodic);
      });
    });
  }
  image_denoiser host(make_unet(c, random_stream(0)), make_karras(sigma_data));
  return train_with(host, [&](const host_sampler& sample, const periodic_evaluation* periodic) {
    image_denoiser den(make_unet(c, random_stream(o.seed).split(3)), make_karras(sigma_data));
    if (lmm)
      return train_lmm(std::move(den), o, g, sample, meta, stored,
                       [&](auto use) { return use(teacher, o.teacher); }, periodic);
    if (o.method == "diffusion") {
      models::diffusion<unet_t> gen(std::move(den), {}, {}, g);
      return train_and_save(gen, o, sample, meta, periodic);
    }
    models::cdm<unet_t> gen(std::move(den), models::cdm_losses({}, {.weight = o.cdm_weight, .epsilon_max = o.cdm_epsilon}),
                            {}, g);
    return train_and_save(gen, o, sample, meta, periodic);
  });
}

int sample_noised_images(const io::safetensors& file, const std::string& checkpoint, index_t n, int steps,
                         const std::string& sampler_arg, const std::string& weights, std::uint64_t seed,
                         const std::string& out, const std::string& config) {
  const auto& md = file.metadata;
  const auto meta = [&](const char* key) { return train::metadata_string(md, key, checkpoint); };
  const std::string method = meta("method");
  const unet_config c = unet_config_of(md, checkpoint);
  const std::string sampler = sampler_arg.empty() ? default_sampler(method) : sampler_arg;
  if (!find_method(method).accepts_sampler(sampler))
    usage_error("--sampler: " + sampler + " does not apply to a " + method + " image checkpoint");
  if (steps <= 0) steps = default_image_steps(method);
  const int grid_points =
      method == "lmm" ? static_cast<int>(train::metadata_integer(md, "teacher_steps", checkpoint, 2)) : 18;
  check_grid_steps("--steps", sampler, steps, grid_points);  // before anything is written
  const auto write = [&](const auto& model, bool ema) {
    // 250 images at a time: the U-Net's caches for all of --n at once would take gigabytes.
    be::matrix x(c.shape.size(), n), chunk;
    random_stream rng = random_stream(seed).split(2);
    int nfe = 0;
    for (index_t first = 0; first < n; first += 250) {
      chunk.resize(c.shape.size(), std::min<index_t>(250, n - first));
      nfe = draw_images(model, sampler, steps, chunk, rng, seed, grid_points);
      be::copy(chunk, be::view(x).columns(first, chunk.cols()));
    }
    io::write_image_grid_png(out + "/samples.png", to_host(x).data(), c.shape, n, 16, 2);
    write_metrics(out + "/metrics.json", {{"method", method}, {"checkpoint", checkpoint}, {"weights", ema ? "ema" : "raw"},
                                          {"samples", n}, {"sampler", sampler}, {"sampler_steps", steps}, {"nfe", nfe}});
    std::printf("idemgen: %ld samples (%s %d, %d NFE) in %s/samples.png\n", static_cast<long>(n), sampler.c_str(), steps,
                nfe, out.c_str());
    return 0;
  };
  if (find_method(method).family == model_family::velocity) {
    image_velocity vel(make_unet(c, random_stream(0)));
    const bool ema = train::load_weights(file, vel, checkpoint, weights == "ema");
    start_output_directory(out, config);
    return write(vel, ema);
  }
  image_denoiser den(make_unet(c, random_stream(0)),
                     make_karras(train::metadata_real(md, "sigma_data", checkpoint, 0)));
  const bool ema = train::load_weights(file, den, checkpoint, weights == "ema");
  start_output_directory(out, config);
  return write(den, ema);
}

}  // namespace idemgen::cli
