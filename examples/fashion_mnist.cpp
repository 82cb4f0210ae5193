// fashion_mnist: IGN or NAIGN on Fashion-MNIST with the convolutional generator (nn::conv_net),
// evaluated as NAIGN §4.2 does (Tables 1–2): FLD, coverage and density of 10 000 one-step
// samples f(z) and of f(f(z)) against the first 10 000 test images, and the restoration error
// (MAE, with PSNR and SSIM beside it) of degraded test images.
//
//   fashion_mnist --out DIR [--method ign|naign --steps 2000 --minutes 0 --batch 64
//                  --channels 32,64,64 --lr 1e-4 --idem-weight 0.125 --tight-weight 0.1
//                  --eval-every 500 --eval-samples 10000 --restore-images 1000 --seed 0 --threads 2]
// writes DIR/loss.csv (step and each loss term), DIR/eval.csv (step, seconds, FLD, coverage and
// density of f(z) and of f(f(z)) every --eval-every steps and at the end), DIR/samples.png (f(z),
// then f(f(z)) below it), DIR/restore_<degradation>.png (rows: clean, degraded, f(degraded)),
// DIR/restoration.csv (MAE, PSNR, SSIM of the degraded and of the restored test images),
// DIR/model.safetensors (train/checkpoint.hpp) and DIR/summary.json, which holds the FLD scale
// (evaluation/fld.hpp: training images, noised and blurred ones, scored the same way) that
// every FLD in eval.csv should be read against. Training stops at --steps or after --minutes
// (when > 0), whichever comes first.
// Data: Debian's dataset-fashion-mnist ($IDEMGEN_FASHION_MNIST_DIR overrides), images in
// [−1, 1]; ℓ1 distance (NAIGN §4: "ℓ1 for images"); NAIGN with M = 10 N candidates; IGN with
// NAIGN's image baseline weights (rec 1, idem 0.125, tight 0.1). Coverage and density (Naeem et
// al., k = 5) are computed on the classifier's features. Bad options or data exit 2 with one line.

#include <boost/program_options.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "idemgen/data/dataset.hpp"
#include "idemgen/data/degradations.hpp"
#include "idemgen/evaluation/nearest_neighbours.hpp"
#include "idemgen/evaluation/one_step_images.hpp"
#include "idemgen/evaluation/restoration.hpp"
#include "idemgen/idemgen.hpp"
#include "idemgen/io/atomic_file.hpp"
#include "idemgen/io/image_grid.hpp"
#include "idemgen/io/json.hpp"
#include "idemgen/io/output_directory.hpp"
#include "idemgen/models/ign.hpp"
#include "idemgen/models/naign.hpp"
#include "idemgen/samplers/recursive.hpp"
#include "idemgen/train/checkpoint.hpp"

namespace po = boost::program_options;
using namespace idemgen;
using be = backend::cpu<float>;
using net_t = nn::conv_net<be>;

namespace {

struct options {
  std::string method = "ign", channels = "32,64,64", out;
  long steps = 2000, eval_every = 500;
  index_t batch = 64, eval_samples = 10000, restore_images = 1000;
  double lr = 1e-4, minutes = 0, idem_weight = 0.125, tight_weight = 0.1;
  std::uint64_t seed = 0;
  int threads = 2;
};

options parse(int argc, char** argv) {
  options o;
  po::options_description desc("fashion_mnist: IGN or NAIGN on Fashion-MNIST with a convolutional generator");
  desc.add_options()("help,h", "show this help")
      ("method", po::value(&o.method)->default_value(o.method), "ign or naign")
      ("steps", po::value(&o.steps)->default_value(o.steps), "training steps (at most)")
      ("minutes", po::value(&o.minutes)->default_value(o.minutes), "stop training after this long (0: no limit)")
      ("eval-every", po::value(&o.eval_every)->default_value(o.eval_every), "FLD/coverage every K steps (0: at the end only)")
      ("eval-samples", po::value(&o.eval_samples)->default_value(o.eval_samples), "samples and test images per FLD (NAIGN: 10000)")
      ("restore-images", po::value(&o.restore_images)->default_value(o.restore_images), "test images per degradation")
      ("idem-weight", po::value(&o.idem_weight)->default_value(o.idem_weight), "IGN's idempotence weight")
      ("tight-weight", po::value(&o.tight_weight)->default_value(o.tight_weight), "IGN's tightness weight")
      ("batch", po::value(&o.batch)->default_value(o.batch), "batch size")
      ("channels", po::value(&o.channels)->default_value(o.channels), "conv_net widths, e.g. 32,64,64")
      ("lr", po::value(&o.lr)->default_value(o.lr), "AdamW learning rate")
      ("seed", po::value(&o.seed)->default_value(o.seed), "random seed")
      ("threads", po::value(&o.threads)->default_value(o.threads), "CPU threads")
      ("out", po::value(&o.out)->required(), "output directory (new or empty)");
  po::variables_map vm;
  po::store(po::parse_command_line(argc, argv, desc), vm);
  if (vm.count("help")) {
    std::cout << desc << "\n";
    std::exit(0);
  }
  po::notify(vm);
  idemgen::detail::require_option(o.method == "ign" || o.method == "naign", "fashion_mnist", "--method", "ign or naign", o.method);
  idemgen::detail::require_option(o.steps > 0 && o.batch > 0 && o.threads > 0 && o.lr > 0 && o.eval_samples > 5 &&
                                      o.restore_images > 0 && o.minutes >= 0 && o.eval_every >= 0 && o.idem_weight >= 0 &&
                                      o.tight_weight >= 0,
                                  "fashion_mnist", "--steps/--batch/--threads/--lr/--eval-samples/--restore-images",
                                  "all > 0 (eval-samples > 5; minutes, eval-every and weights >= 0)", "another value");
  return o;
}

std::vector<double> to_host(be::const_view m) {
  std::vector<float> f(static_cast<std::size_t>(m.size()));
  be::copy_to_host(m, f.data());
  return {f.begin(), f.end()};
}


using scorer = evaluation::image_scorer<be>;
using generation_scores = evaluation::one_step_image_scores;

/// Training (until --steps or --minutes of training time), with NAIGN Table 1's scores every
/// --eval-every steps; returns the last scores.
template <class Gen>
generation_scores train(Gen& gen, const options& o, const data::dataset& train_set, const scorer& s, io::ordered_json& summary) {
  const index_t d = train_set.images()->shape.size();
  data::dataset_sampler<be> batches(train_set);
  random_stream data_rng = random_stream(o.seed).split(1);
  be::matrix x(d, o.batch);
  std::string log = "step";
  for (const char* name : Gen::term_names) log += std::string(",") + name;
  log += ",total\n";
  std::string eval_log = "step,train_minutes,fld_f_z,fld_f_f_z,coverage_f_z,density_f_z,coverage_f_f_z,density_f_f_z\n";
  double train_seconds = 0;
  generation_scores last;
  const auto evaluate = [&](long steps_done) {
    last = evaluation::score_one_step_images(gen.net(), s, random_stream(o.seed).split(6));  // the same z every time
    eval_log += fmt::format("{},{:.2f},{:.3f},{:.3f},{:.4f},{:.4f},{:.4f},{:.4f}\n", steps_done, train_seconds / 60, last.fld_f_z,
                            last.fld_f_f_z, last.f_z.coverage, last.f_z.density, last.f_f_z.coverage, last.f_f_z.density);
    std::fprintf(stderr, "step %ld (%.1f min): FLD f(z) %.2f, f(f(z)) %.2f, coverage %.3f\n", steps_done, train_seconds / 60,
                 last.fld_f_z, last.fld_f_f_z, last.f_z.coverage);
    io::write_atomically(o.out + "/loss.csv", [&](std::ostream& out) { out << log; });
    io::write_atomically(o.out + "/eval.csv", [&](std::ostream& out) { out << eval_log; });
  };
  long step = 0;
  for (; step < o.steps && (o.minutes == 0 || train_seconds < 60 * o.minutes); ++step) {
    const auto began = std::chrono::steady_clock::now();
    batches.sample(x, data_rng);
    const auto r = gen.train_step(x);
    train_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
    if (step % 50 == 0) {
      log += std::to_string(step);
      for (double t : r.terms) log += fmt::format(",{:.6g}", t);
      log += fmt::format(",{:.6g}\n", r.total);
      std::fprintf(stderr, "step %ld: loss %.4g\n", step, r.total);
    }
    if (o.eval_every > 0 && (step + 1) % o.eval_every == 0) evaluate(step + 1);
  }
  if (o.eval_every == 0 || step % o.eval_every != 0) evaluate(step);
  summary["steps_done"] = step;
  summary["train_minutes"] = train_seconds / 60;
  summary["seconds_per_step"] = train_seconds / static_cast<double>(std::max<long>(step, 1));
  return last;
}

/// Restoration of the first --restore-images test images under NAIGN supp. §8's degradations
/// (and a mask and SIGN's checkerboard): restoration.csv and a grid of the first 16 of each.
template <class Gen>
std::string restore(const Gen& gen, const options& o, const data::image_set& test) {
  const data::image_shape shape = test.shape;
  const index_t d = shape.size(), n = std::min(o.restore_images, test.count), shown = std::min<index_t>(16, n);
  std::vector<double> clean(static_cast<std::size_t>(d * n));
  for (index_t j = 0; j < n; ++j) test.image_to(j, clean.data() + j * d);
  std::string table = "degradation,images,mae_degraded,mae_restored,psnr_degraded,psnr_restored,ssim_degraded,ssim_restored\n";
  for (const char* spec : {"noise:1", "noise:0.5", "blur:1.5", "lines:0.2", "salt-pepper:0.2", "mask:0.3", "checkerboard:4"}) {
    const evaluation::restoration r =
        evaluation::restore_degraded(gen.net(), shape, clean, n, data::degradation::parse(spec), random_stream(o.seed).split(4));
    std::vector<double> rows(clean.begin(), clean.begin() + shown * d);
    rows.insert(rows.end(), r.degraded.begin(), r.degraded.begin() + shown * d);
    rows.insert(rows.end(), r.restored.begin(), r.restored.begin() + shown * d);
    std::string name = spec;
    for (char& c : name) c = c == ':' ? '_' : c;
    io::write_image_grid_png(o.out + "/restore_" + name + ".png", rows.data(), shape, 3 * shown, shown, 2);
    const evaluation::restoration_scores& q = r.scores;
    table += fmt::format("{},{},{:.4f},{:.4f},{:.2f},{:.2f},{:.4f},{:.4f}\n", spec, n, q.mae_degraded, q.mae_restored,
                         q.psnr_degraded, q.psnr_restored, q.ssim_degraded, q.ssim_restored);
  }
  io::write_atomically(o.out + "/restoration.csv", [&](std::ostream& out) { out << table; });
  return table;
}

template <class Gen>
io::ordered_json run(Gen& gen, const options& o, const data::dataset& train_set, const data::image_set& test, const scorer& s) {
  const data::image_shape shape = test.shape;
  const index_t d = shape.size();
  io::ordered_json summary = {{"method", o.method}, {"batch", o.batch}, {"channels", o.channels}, {"lr", o.lr},
                              {"seed", o.seed}, {"threads", o.threads}, {"parameters", gen.net().parameter_count()}};
  const generation_scores scores = train(gen, o, train_set, s, summary);
  summary["fld_f_z"] = scores.fld_f_z;
  summary["fld_f_f_z"] = scores.fld_f_f_z;
  summary["coverage_f_z"] = scores.f_z.coverage;
  summary["density_f_z"] = scores.f_z.density;
  summary["coverage_f_f_z"] = scores.f_f_z.coverage;
  summary["density_f_f_z"] = scores.f_f_z.density;
  train::save_checkpoint(o.out + "/model.safetensors", gen, {{"net", gen.net().describe()}, {"method", o.method}});

  // One-step samples f(z) and f(f(z)), 32 of each.
  constexpr index_t shown = 32;
  be::matrix z(d, shown);
  random_stream sample_rng = random_stream(o.seed).split(2);
  be::fill_normal(z, sample_rng);
  const auto iterates = samplers::recursive(gen.net(), z, 2);
  std::vector<double> grid = to_host(iterates[0]);
  const std::vector<double> twice = to_host(iterates[1]);
  grid.insert(grid.end(), twice.begin(), twice.end());
  io::write_image_grid_png(o.out + "/samples.png", grid.data(), shape, 2 * shown, 16, 2);

  // Memorisation check: f(z)'s distance to the nearest of 2 000 training images, against a test image's.
  data::dataset_sampler<be> batches(train_set);
  be::matrix train_sample(d, 2000);
  random_stream check_rng = random_stream(o.seed).split(3);
  batches.sample(train_sample, check_rng);
  const be::matrix test_sample = evaluation::feature_classifier<be>::to_matrix(test, 0, shown);
  const auto mean = [](const std::vector<double>& v) { double sum = 0; for (double e : v) sum += e; return sum / static_cast<double>(v.size()); };
  summary["nearest_train_distance_f_z"] = mean(evaluation::nearest_distances<be>(train_sample, iterates[0]));
  summary["nearest_train_distance_test_images"] = mean(evaluation::nearest_distances<be>(train_sample, test_sample));
  std::cout << restore(gen, o, test);
  return summary;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const options o = parse(argc, argv);
    be::set_num_threads(o.threads);
    const data::dataset train = data::dataset::parse("fashion-mnist");
    const data::image_set test = data::read_idx_directory(data::fashion_mnist_directory(), data::idx_split::test);
    const auto shape = train.images()->shape;
    net_t net({.channels_in = shape.channels, .height = shape.height, .width = shape.width, .channels = nn::parse_conv_widths(o.channels)},
              random_stream(o.seed).split(5));
    io::claim_output_directory(o.out, /*replace=*/false);
    io::create_output_directory(o.out);

    // The FLD's classifier and scale first: every score of the run is read against them.
    const auto began = std::chrono::steady_clock::now();
    const evaluation::feature_classifier<be> classifier(*train.images(), {.seed = o.seed});
    const scorer s(classifier, *train.images(), test, o.eval_samples, o.seed);
    const evaluation::fld_scale& scale = s.scale;
    const evaluation::coverage_density data_coverage =
        s.coverage(evaluation::feature_classifier<be>::to_matrix(*train.images(), 0, o.eval_samples));
    const double accuracy = classifier.accuracy(test);
    std::fprintf(stderr, "classifier: test accuracy %.4f; FLD scale at n = %ld: training images %.3f, noised %.3f, blurred %.3f (%.0f s)\n",
                 accuracy, static_cast<long>(o.eval_samples), scale.train_images, scale.noised_train_images, scale.blurred_train_images,
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count());

    models::generator_options g{.optimizer = {.lr = o.lr, .weight_decay = 0.0}, .seed = o.seed};
    io::ordered_json summary;
    if (o.method == "ign") {
      models::ign<net_t, metric::l1> gen(std::move(net), models::ign_losses({}, {.weight = o.idem_weight}, {.weight = o.tight_weight}),
                                         {}, g);
      summary = run(gen, o, train, test, s);
    } else {
      models::naign<net_t, metric::l1> gen(std::move(net), {}, {}, g, {.candidates_per_sample = 10});
      summary = run(gen, o, train, test, s);
    }
    summary["classifier_test_accuracy"] = accuracy;
    summary["fld_scale"] = {{"n", scale.n}, {"training_images", scale.train_images}, {"noised_training_images", scale.noised_train_images},
                            {"blurred_training_images", scale.blurred_train_images},
                            {"coverage_of_training_images", data_coverage.coverage}, {"density_of_training_images", data_coverage.density}};
    io::write_atomically(o.out + "/summary.json", [&](std::ostream& s) { s << summary.dump(2) << '\n'; });
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "fashion_mnist: " << e.what() << "\n";
    return 2;
  }
}
