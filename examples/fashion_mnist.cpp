// fashion_mnist: IGN or NAIGN on Fashion-MNIST with the convolutional generator (nn::conv_net),
// then what a manifold projector is for: one-step samples f(z) and f(f(z)), and restoration of
// degraded test images (NAIGN §4.2, Table 2: MAE, here with PSNR and SSIM beside it).
//
//   fashion_mnist --out DIR [--method ign|naign --steps 2000 --batch 64 --channels 32,64,64
//                  --lr 1e-4 --seed 0 --threads 2]
// writes DIR/loss.csv (step and each loss term), DIR/samples.png (f(z), then f(f(z)) below it),
// DIR/restore_<degradation>.png (rows: clean, degraded, f(degraded)), DIR/restoration.csv (MAE,
// PSNR, SSIM of the degraded and of the restored test images) and DIR/summary.json.
// Data: Debian's dataset-fashion-mnist ($IDEMGEN_FASHION_MNIST_DIR overrides), images in
// [−1, 1]; ℓ1 distance (NAIGN §4: "ℓ1 for images"); NAIGN with M = 10 N candidates.
// Bad options or data exit 2 with one line.

#include <boost/program_options.hpp>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "idemgen/data/dataset.hpp"
#include "idemgen/data/degradations.hpp"
#include "idemgen/evaluation/image_quality.hpp"
#include "idemgen/evaluation/nearest_neighbours.hpp"
#include "idemgen/idemgen.hpp"
#include "idemgen/io/atomic_file.hpp"
#include "idemgen/io/image_grid.hpp"
#include "idemgen/io/json.hpp"
#include "idemgen/io/output_directory.hpp"
#include "idemgen/models/ign.hpp"
#include "idemgen/models/naign.hpp"
#include "idemgen/samplers/recursive.hpp"

namespace po = boost::program_options;
using namespace idemgen;
using be = backend::cpu<float>;
using net_t = nn::conv_net<be>;

namespace {

struct options {
  std::string method = "ign", channels = "32,64,64", out;
  long steps = 2000;
  index_t batch = 64;
  double lr = 1e-4;
  std::uint64_t seed = 0;
  int threads = 2;
};

options parse(int argc, char** argv) {
  options o;
  po::options_description desc("fashion_mnist: IGN or NAIGN on Fashion-MNIST with a convolutional generator");
  desc.add_options()("help,h", "show this help")
      ("method", po::value(&o.method)->default_value(o.method), "ign or naign")
      ("steps", po::value(&o.steps)->default_value(o.steps), "training steps")
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
  idemgen::detail::require_option(o.steps > 0 && o.batch > 0 && o.threads > 0 && o.lr > 0, "fashion_mnist",
                                  "--steps/--batch/--threads/--lr", "all > 0", "a value <= 0");
  return o;
}

std::vector<index_t> parse_widths(const std::string& text) {
  std::vector<index_t> widths;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    char* end = nullptr;
    const long w = std::strtol(item.c_str(), &end, 10);
    idemgen::detail::require_option(!item.empty() && *end == '\0' && w > 0 && w <= 1024, "fashion_mnist", "--channels",
                                    "comma-separated widths in 1..1024", text);
    widths.push_back(w);
  }
  idemgen::detail::require_option(!widths.empty() && widths.size() <= 3, "fashion_mnist", "--channels",
                                  "1 to 3 widths (28 halves twice at most)", text);
  return widths;
}

std::vector<double> to_host(be::const_view m) {
  std::vector<float> f(static_cast<std::size_t>(m.size()));
  be::copy_to_host(m, f.data());
  return {f.begin(), f.end()};
}

void upload(const std::vector<double>& host, be::view out) {
  const std::vector<float> f(host.begin(), host.end());
  be::copy_from_host(f.data(), out);
}

template <class Gen>
io::ordered_json run(Gen& gen, const options& o, const data::dataset& train, const data::image_set& test) {
  const data::image_shape shape = train.images()->shape;
  const index_t d = shape.size();
  data::dataset_sampler<be> batches(train);
  random_stream data_rng = random_stream(o.seed).split(1);
  be::matrix x(d, o.batch);
  std::string log = "step";
  for (const char* name : Gen::term_names) log += std::string(",") + name;
  log += ",total\n";
  for (long step = 0; step < o.steps; ++step) {
    batches.sample(x, data_rng);
    const auto r = gen.train_step(x);
    if (step % 50 == 0 || step + 1 == o.steps) {
      log += std::to_string(step);
      for (double t : r.terms) log += fmt::format(",{:.6g}", t);
      log += fmt::format(",{:.6g}\n", r.total);
      std::fprintf(stderr, "step %ld: loss %.4g\n", step, r.total);
    }
  }
  io::write_atomically(o.out + "/loss.csv", [&](std::ostream& s) { s << log; });

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

  // Memorisation check: f(z)'s distance to the nearest training image, against a test image's.
  be::matrix train_sample(d, 2000), test_sample(d, shown);
  random_stream check_rng = random_stream(o.seed).split(3);
  batches.sample(train_sample, check_rng);
  std::vector<double> clean(static_cast<std::size_t>(d * shown));
  for (index_t j = 0; j < shown; ++j) test.image_to(j, clean.data() + j * d);
  upload(clean, test_sample);
  const auto mean = [](const std::vector<double>& v) { double s = 0; for (double e : v) s += e; return s / static_cast<double>(v.size()); };
  io::ordered_json summary = {{"method", o.method}, {"steps", o.steps}, {"batch", o.batch}, {"channels", o.channels},
                              {"parameters", gen.net().parameter_count()},
                              {"nearest_train_distance_f_z", mean(evaluation::nearest_distances<be>(train_sample, iterates[0]))},
                              {"nearest_train_distance_test_images", mean(evaluation::nearest_distances<be>(train_sample, test_sample))}};

  // Restoration of the first test images under NAIGN supp. §8's degradations.
  std::string table = "degradation,mae_degraded,mae_restored,psnr_degraded,psnr_restored,ssim_degraded,ssim_restored\n";
  be::matrix degraded(d, shown), restored(d, shown);
  for (const char* spec : {"noise:0.5", "blur:1.5", "lines:0.2", "salt-pepper:0.2", "checkerboard:4"}) {
    std::vector<double> bad = clean;
    random_stream degrade_rng = random_stream(o.seed).split(4);
    data::degrade(data::degradation::parse(spec), shape, bad.data(), shown, degrade_rng);
    upload(bad, degraded);
    samplers::one_step(gen.net(), degraded, restored);
    const std::vector<double> fixed = to_host(restored);
    std::vector<double> rows = clean;
    rows.insert(rows.end(), bad.begin(), bad.end());
    rows.insert(rows.end(), fixed.begin(), fixed.end());
    std::string name = spec;
    for (char& c : name) c = c == ':' ? '_' : c;
    io::write_image_grid_png(o.out + "/restore_" + name + ".png", rows.data(), shape, 3 * shown, shown, 2);
    table += fmt::format("{},{:.4f},{:.4f},{:.2f},{:.2f},{:.4f},{:.4f}\n", spec,
                         evaluation::mae(bad.data(), clean.data(), shape, shown), evaluation::mae(fixed.data(), clean.data(), shape, shown),
                         evaluation::psnr(bad.data(), clean.data(), shape, shown), evaluation::psnr(fixed.data(), clean.data(), shape, shown),
                         evaluation::ssim(bad.data(), clean.data(), shape, shown), evaluation::ssim(fixed.data(), clean.data(), shape, shown));
  }
  io::write_atomically(o.out + "/restoration.csv", [&](std::ostream& s) { s << table; });
  std::cout << table;
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
    net_t net({.channels_in = shape.channels, .height = shape.height, .width = shape.width, .channels = parse_widths(o.channels)},
              random_stream(o.seed).split(5));
    io::claim_output_directory(o.out, /*replace=*/false);
    io::create_output_directory(o.out);
    models::generator_options g{.optimizer = {.lr = o.lr, .weight_decay = 0.0}, .seed = o.seed};
    io::ordered_json summary;
    if (o.method == "ign") {
      models::ign<net_t, metric::l1> gen(std::move(net), {}, {}, g);
      summary = run(gen, o, train, test);
    } else {
      models::naign<net_t, metric::l1> gen(std::move(net), {}, {}, g, {.candidates_per_sample = 10});
      summary = run(gen, o, train, test);
    }
    io::write_atomically(o.out + "/summary.json", [&](std::ostream& s) { s << summary.dump(2) << '\n'; });
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "fashion_mnist: " << e.what() << "\n";
    return 2;
  }
}
