// idemgen train on an image --dataset (fashion-mnist, mnist-idx:DIR, folder:DIR): IGN, NAIGN and
// NAIGN− with the convolutional generator nn::conv_net and the ℓ1 distance (NAIGN §4: "ℓ1 for
// images"), scored as NAIGN Tables 1–2; and, for these and SIGN's image models (sign_images.cpp),
// idemgen sample and idemgen restore, which projects degraded images back with a trained model.

#include <algorithm>
#include <cstdio>
#include <optional>

#include "cli/common.hpp"
#include "cli/image_data.hpp"
#include "cli/one_step_image_outputs.hpp"
#include "cli/unet_net.hpp"
#include "idemgen/models/ign.hpp"
#include "idemgen/models/naign.hpp"
#include "idemgen/nn/conv_net.hpp"

namespace idemgen::cli {
namespace {

using conv_t = nn::conv_net<be>;

conv_t make_image_net(const data::image_shape& shape, const std::string& channels, random_stream init) {
  return conv_t({.channels_in = shape.channels, .height = shape.height, .width = shape.width,
                 .channels = nn::parse_conv_widths(channels)},
                init);
}

/// Calls use(model, whether its EMA weights were loaded, its source scale) with the one-step
/// image model of a checkpoint: the conv_net of IGN, NAIGN and NAIGN− (z ~ N(0, I)), or SIGN's
/// unconditioned unet (x_T = σ_max ε). Nothing is written before use runs.
template <class Use>
int with_one_step_image_model(const io::safetensors& file, const std::string& checkpoint, const std::string& weights,
                              Use use) {
  const auto meta = [&](const char* key) { return train::metadata_string(file.metadata, key, checkpoint); };
  if (meta("net") == "unet" && meta("method") == "sign") {
    unet_t net = make_unet(unet_config_of(file.metadata, checkpoint), random_stream(0));
    const bool use_ema = train::load_weights(file, net, checkpoint, weights == "ema");
    return use(net, use_ema, train::metadata_real(file.metadata, "source_scale", checkpoint, 0));
  }
  conv_t net = make_image_net(parse_image_shape(meta("image_shape"), checkpoint), meta("channels"), random_stream(0));
  const bool use_ema = train::load_weights(file, net, checkpoint, weights == "ema");
  return use(net, use_ema, 1.0);
}

}  // namespace

double image_idem_weight(const options& o) { return o.idem_weight >= 0 ? o.idem_weight : 0.125; }

int train_one_step_images(const options& o) {
  const data::image_set& train_set = *o.data.images();
  const data::image_shape shape = train_set.shape;
  conv_t host = make_image_net(shape, o.channels, random_stream(0));
  const host_sampler sample = [&](const std::vector<float>& parameters, be::const_view z, be::view out) {
    load_parameters(host, parameters);
    samplers::one_step(host, z, out);
  };

  // NAIGN Table 1's scores need labels (for the classifier) and a test split to score against.
  const image_reference reference(o, train_set);
  const auto& test = reference.test;
  const auto& scorer = reference.scorer;
  const periodic_evaluation eval{
      "step,fld_f_z,fld_f_f_z,coverage_f_z,density_f_z,coverage_f_f_z,density_f_f_z",
      [&](const std::vector<float>& parameters) {
        load_parameters(host, parameters);
        const auto q = evaluation::score_one_step_images(host, *scorer, random_stream(o.seed).split(6));
        return fmt::format("{:.4f},{:.4f},{:.4f},{:.4f},{:.4f},{:.4f}", q.fld_f_z, q.fld_f_f_z, q.f_z.coverage,
                           q.f_z.density, q.f_f_z.coverage, q.f_f_z.density);
      }};

  auto meta = coupling_metadata(o);
  meta.insert(meta.end(), {{"net", "conv_net"}, {"channels", o.channels}, {"image_shape", shape_text(shape)},
                           {"metric", "l1"}, {"idem_weight", fmt::format("{}", image_idem_weight(o))}});
  conv_t net = make_image_net(shape, o.channels, random_stream(o.seed).split(3));
  const models::generator_options g = generator_options_for(o, std::max(o.ema, 0.0));
  const periodic_evaluation* periodic = scorer ? &eval : nullptr;
  const trained t = [&] {
    if (o.method == "ign") {
      models::ign<conv_t, metric::l1> gen(
          std::move(net),
          models::ign_losses({}, {.weight = image_idem_weight(o)}, {.weight = o.tight_weight, .clamp_ratio = o.tight_clamp}),
          {}, g);
      return train_and_save(gen, o, sample, meta, periodic);
    }
    const coupling::nearest_generated imle{.candidates_per_sample = o.imle_ratio};
    if (o.method == "naign") {
      models::naign<conv_t, metric::l1> gen(std::move(net), {}, {}, g, imle);
      return train_and_save(gen, o, sample, meta, periodic);
    }
    models::naign_minus<conv_t, metric::l1> gen(std::move(net), {}, {}, g, imle);
    return train_and_save(gen, o, sample, meta, periodic);
  }();
  load_parameters(host, t.parameters);

  io::ordered_json metrics = {{"method", o.method}, {"dataset", o.dataset}, {"net", host.describe()},
                              {"steps", t.report.steps}, {"train_seconds", t.report.seconds},
                              {"recoveries", t.report.recoveries}};
  write_sample_grid(host, shape, o.seed, o.out);
  if (scorer) {
    metrics.update(reference.json());
    const auto q = evaluation::score_one_step_images(host, *scorer, random_stream(o.seed).split(6));
    metrics["generation"] = scores_json(q);
    metrics["restoration"] = write_restorations(host, *test, std::min<index_t>(1000, test->count), standard_degradations(),
                                                o.seed, o.out);
    std::printf("idemgen: FLD f(z) %.2f, f(f(z)) %.2f (training images %.2f), coverage %.3f; wrote %s\n", q.fld_f_z,
                q.fld_f_f_z, scorer->scale.train_images, q.f_z.coverage, o.out.c_str());
  } else {
    metrics["generation"] = "not scored: the data set has no labelled test split for the FLD classifier";
    metrics["restoration"] = write_restorations(host, train_set, std::min<index_t>(1000, train_set.count),
                                                standard_degradations(), o.seed, o.out);
    std::printf("idemgen: wrote %s (no labelled test split: no FLD)\n", o.out.c_str());
  }
  write_metrics(o.out + "/metrics.json", metrics);
  return 0;
}

int sample_images(const io::safetensors& file, const std::string& checkpoint, index_t n, int steps,
                  const std::string& weights, std::uint64_t seed, const std::string& out, const std::string& config) {
  const auto meta = [&](const char* key) { return train::metadata_string(file.metadata, key, checkpoint); };
  const data::image_shape shape = parse_image_shape(meta("image_shape"), checkpoint);
  return with_one_step_image_model(file, checkpoint, weights, [&](const auto& net, bool use_ema, double source_scale) {
    start_output_directory(out, config);
    be::matrix z(shape.size(), n);
    random_stream rng = random_stream(seed).split(2);
    be::fill_normal(z, rng, 0.0f, static_cast<float>(source_scale));
    const auto iterates = samplers::recursive(net, z, steps);  // SIGN Alg. 2 for SIGN's model
    const std::vector<double> samples = to_host(iterates.back());
    io::write_image_grid_png(out + "/samples.png", samples.data(), shape, n, 16, 2);
    write_metrics(out + "/metrics.json", {{"method", meta("method")}, {"checkpoint", checkpoint},
                                          {"weights", use_ema ? "ema" : "raw"}, {"samples", n}, {"applications", steps},
                                          {"source_scale", source_scale}});
    std::printf("idemgen: %ld samples f^%d(z) in %s/samples.png\n", static_cast<long>(n), steps, out.c_str());
    return 0;
  });
}

int restore_command(int argc, char** argv) {
  std::string checkpoint, input = "fashion-mnist-test", out, weights = "ema";
  std::vector<std::string> degradations;
  index_t n = 1000;
  int threads = 2;
  std::uint64_t seed = 0;
  bool force = false;
  po::options_description desc("idemgen restore: project degraded images back onto the data with a trained image model");
  desc.add_options()("help,h", "show this help")
      ("checkpoint", po::value(&checkpoint)->required(), "model.safetensors of 'idemgen train' on an image --dataset")
      ("input", with_default(&input),
       "the clean images: fashion-mnist-test, mnist-idx-test:DIR, folder:DIR, ... (any image --dataset)")
      ("degrade", po::value(&degradations)->composing(),
       "noise:S, blur:S, lines[:P], salt-pepper[:P], mask:P, checkerboard:K, down:F (repeat for several; none: the "
       "inputs are the degraded images themselves, restored without scores)")
      ("n", with_default(&n), "images restored (the first n of --input)")
      ("weights", with_default(&weights), "ema (when the checkpoint has one) or raw")
      ("seed", with_default(&seed), "random seed of the degradations")
      ("threads", with_default(&threads), "CPU threads")
      ("out", po::value(&out)->required(), "output directory (new or empty)")
      ("force", po::bool_switch(&force), "replace an earlier run's files in --out (other files are kept)");
  const std::string config = config_json("restore", parse_or_exit(desc, argc, argv));
  require_option(n >= 1 && n <= (1 << 20), "--n", "an integer in [1, 2^20]", n);
  require_option(threads >= 1 && threads <= 1024, "--threads", "an integer in [1, 1024]", threads);
  require_option(weights == "ema" || weights == "raw", "--weights", "ema or raw", weights);
  for (const std::string& spec : degradations) {
    try {
      data::degradation::parse(spec);
    } catch (const error& e) {
      usage_error("--degrade " + spec + ": expected " + e.expected() + ", got " + e.actual());
    }
  }
  be::set_num_threads(threads);
  // Everything is read and checked before the output directory is touched.
  const io::safetensors file = io::read_safetensors(checkpoint);
  const auto meta = [&](const char* key) { return train::metadata_string(file.metadata, key, checkpoint); };
  const std::string net_name = file.metadata.count("net") ? meta("net") : std::string("a model of points");
  if (net_name != "conv_net" && !(net_name == "unet" && meta("method") == "sign"))
    usage_error("--checkpoint " + checkpoint + ": expected a model trained on images by ign, naign, naign-minus "
                "or sign, got " + (net_name == "unet" ? "a " + meta("method") + " model" : net_name));
  const data::dataset clean_set = data::dataset::parse(input);
  if (clean_set.images() == nullptr) usage_error("--input: expected an image data set, got " + input);
  const data::image_set& images = *clean_set.images();
  if (shape_text(images.shape) != meta("image_shape"))
    usage_error("--input " + input + ": expected images of the model's " + meta("image_shape") + ", got " +
                shape_text(images.shape));
  n = std::min(n, images.count);
  return with_one_step_image_model(file, checkpoint, weights, [&](const auto& net, bool use_ema, double) {
    io::claim_output_directory(out, force);
    start_output_directory(out, config);
    io::ordered_json metrics = {{"checkpoint", checkpoint}, {"method", meta("method")}, {"step", meta("step")},
                                {"weights", use_ema ? "ema" : "raw"}, {"input", input}, {"images", n}};
    if (degradations.empty()) {
      // The inputs are degraded already: rows of 16, each input above its projection f(x).
      const index_t d = images.shape.size(), shown = std::min<index_t>(16, n);
      std::vector<double> x(static_cast<std::size_t>(d * n));
      for (index_t j = 0; j < n; ++j) images.image_to(j, x.data() + j * d);
      const std::vector<double> restored = evaluation::project_images(net, images.shape, x.data(), n);
      std::vector<double> grid(x.begin(), x.begin() + shown * d);
      grid.insert(grid.end(), restored.begin(), restored.begin() + shown * d);
      io::write_image_grid_png(out + "/restore.png", grid.data(), images.shape, 2 * shown, shown, 2);
      std::printf("idemgen: restored %ld images (no --degrade: no scores); wrote %s\n", static_cast<long>(n), out.c_str());
    } else {
      metrics["restoration"] = write_restorations(net, images, n, degradations, seed, out);
      for (const auto& row : metrics["restoration"])
        std::printf("idemgen: %-16s MAE %.4f -> %.4f, PSNR %.2f -> %.2f dB, SSIM %.4f -> %.4f\n",
                    row["degradation"].get<std::string>().c_str(), row["mae_degraded"].get<double>(),
                    row["mae_restored"].get<double>(), row["psnr_degraded"].get<double>(), row["psnr_restored"].get<double>(),
                    row["ssim_degraded"].get<double>(), row["ssim_restored"].get<double>());
    }
    write_metrics(out + "/metrics.json", metrics);
    return 0;
  });
}

}  // namespace idemgen::cli
