// idemgen train --method sign on an image --dataset: SIGN (SIGN eq. 9 with λ_d = 0: rec + idem +
// λ_f flow + λ_n denoise) over an unconditioned U-Net, the model SIGN §5 distils on MNIST ("a
// convolutional U-Net ... without time embeddings" for the distilled model, ℓ2 distance), from
// a trained image denoiser (--teacher DIR/model.safetensors of idemgen train --method
// diffusion|cdm on the same images) or from the empirical estimator (--teacher empirical, SIGN
// Fig. 2b), with SIGN eq. 9's regression term λ_r on stored teacher pairs of these images
// (--pairs, idemgen pairs of a unet teacher at the same σ_max). f generates in one step from
// x_T = σ_max ε; scored as NAIGN Table 1 (f(x_T) and f(f(x_T))) and on the restoration set
// (SIGN §5's zero-shot editing is the one-step projection).

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "cli/common.hpp"
#include "cli/image_data.hpp"
#include "cli/one_step_image_outputs.hpp"
#include "cli/noised_train.hpp"
#include "cli/one_step_train.hpp"
#include "cli/unet_net.hpp"
#include "idemgen/models/sign.hpp"

namespace idemgen::cli {

int train_sign_images(const options& o) {
  const data::image_set& train_set = *o.data.images();
  const data::image_shape shape = train_set.shape;
  const unet_config student{shape, o.channels, /*cond_dim=*/0, o.fourier_scale};
  const double source_scale = o.sigma_max;
  // The teacher is read and checked (a diffusion or cdm checkpoint of these images) first.
  std::shared_ptr<image_teacher> teacher = o.teacher == "empirical" ? nullptr : load_image_teacher(o.teacher, shape);
  const std::shared_ptr<teachers::pair_set<be>> stored = read_sign_pairs(o, shape.size(), shape_text(shape));
  unet_t host = make_unet(student, random_stream(0));
  be::matrix source;
  const host_sampler sample = [&](const std::vector<float>& parameters, be::const_view z, be::view out) {
    load_parameters(host, parameters);
    source.resize(z.rows(), z.cols());
    be::copy(z, source);
    be::scale(source, static_cast<float>(source_scale));
    samplers::one_step(host, source, out);
  };
  const image_reference reference(o, train_set);
  const auto& scorer = reference.scorer;
  const periodic_evaluation eval{
      "step,fld_f_z,fld_f_f_z,coverage_f_z,density_f_z,coverage_f_f_z,density_f_f_z",
      [&](const std::vector<float>& parameters) {
        load_parameters(host, parameters);
        const auto q = evaluation::score_one_step_images(host, *scorer, random_stream(o.seed).split(6), source_scale);
        return fmt::format("{:.4f},{:.4f},{:.4f},{:.4f},{:.4f},{:.4f}", q.fld_f_z, q.fld_f_f_z, q.f_z.coverage,
                           q.f_z.density, q.f_f_z.coverage, q.f_f_z.density);
      }};
  auto meta = coupling_metadata(o);
  meta.insert(meta.end(), {{"net", "unet"}, {"channels", o.channels}, {"image_shape", shape_text(shape)},
                           {"cond_dim", "0"}, {"fourier_scale", fmt::format("{}", o.fourier_scale)}, {"metric", "l2"}});
  models::generator_options g = generator_options_for(o, std::max(o.ema, 0.0));
  const periodic_evaluation* periodic = scorer ? &eval : nullptr;
  const losses::idempotence<losses::idem_kind::ign> idem{.weight = o.idem_weight >= 0 ? o.idem_weight : 1.0};
  const auto with_teacher = [&](auto teacher, const std::string& name) {
    using teacher_t = typename decltype(teacher)::element_type;
    const auto [flow, denoise] = sign_terms(o, std::move(teacher), name, g, meta);
    if (stored) {
      meta.emplace_back("pairs", o.pairs);
      models::sign_with_pairs<unet_t, teacher_t> gen(
          make_unet(student, random_stream(o.seed).split(3)),
          models::sign_with_pairs_losses<teacher_t, be>({}, idem, flow, denoise, {.pairs = {.pairs = stored}}), {}, g);
      return train_and_save(gen, o, sample, meta, periodic);
    }
    models::sign<unet_t, teacher_t> gen(make_unet(student, random_stream(o.seed).split(3)),
                                        models::sign_losses<teacher_t>({}, idem, flow, denoise), {}, g);
    return train_and_save(gen, o, sample, meta, periodic);
  };
  const trained t = teacher ? with_teacher(std::move(teacher), o.teacher)
                            : with_teacher(std::shared_ptr<teachers::empirical>{}, std::string("empirical"));
  load_parameters(host, t.parameters);

  io::ordered_json metrics = {{"method", o.method}, {"dataset", o.dataset}, {"net", host.describe()},
                              {"teacher", o.teacher}, {"source_scale", source_scale}, {"steps", t.report.steps},
                              {"train_seconds", t.report.seconds}, {"recoveries", t.report.recoveries}};
  write_sample_grid(host, shape, o.seed, o.out, source_scale);
  const data::image_set& restored_set = scorer ? *reference.test : train_set;
  if (scorer) {
    metrics.update(reference.json());
    const auto q = evaluation::score_one_step_images(host, *scorer, random_stream(o.seed).split(6), source_scale);
    metrics["generation"] = scores_json(q);
    std::printf("idemgen: FLD f(x_T) %.2f, f(f(x_T)) %.2f (training images %.2f), coverage %.3f\n", q.fld_f_z,
                q.fld_f_f_z, scorer->scale.train_images, q.f_z.coverage);
  } else {
    metrics["generation"] = "not scored: the data set has no labelled test split for the FLD classifier";
  }
  metrics["restoration"] = write_restorations(host, restored_set, std::min<index_t>(1000, restored_set.count),
                                              standard_degradations(), o.seed, o.out);
  write_metrics(o.out + "/metrics.json", metrics);
  std::printf("idemgen: wrote %s\n", o.out.c_str());
  return 0;
}

}  // namespace idemgen::cli
