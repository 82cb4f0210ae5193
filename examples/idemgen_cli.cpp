// idemgen — the command-line program: train IGN / NAIGN on toy data and write samples, pictures,
// a log and metrics.
//
//   idemgen train --method naign --dataset grid25 --steps 4000 --out out/naign_grid25
//
// Writes DIR/samples.csv (one-step samples f(z)), DIR/samples.png (samples over data),
// DIR/log.csv (every term every --log-every steps) and DIR/metrics.json. A rejected command line
// exits with code 2 and a one-line message, and writes nothing.

#include <boost/program_options.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>

#include "idemgen/data/toy.hpp"
#include "idemgen/evaluation/mmd.hpp"
#include "idemgen/evaluation/mode_coverage.hpp"
#include "idemgen/evaluation/projection_errors.hpp"
#include "idemgen/evaluation/sliced_wasserstein.hpp"
#include "idemgen/idemgen.hpp"
#include "idemgen/io/csv.hpp"
#include "idemgen/io/scatter_png.hpp"
#include "idemgen/models/ign.hpp"
#include "idemgen/models/naign.hpp"
#include "idemgen/train/trainer.hpp"

namespace po = boost::program_options;
using namespace idemgen;
using be = backend::cpu<float>;
using net_t = nn::mlp<be>;

namespace {

struct options {
  std::string method = "naign", dataset = "grid25", out, activation = "relu";
  long steps = 4000, log_every = 50;
  index_t batch = 512, width = 256, depth = 3, samples = 2500;
  double lr = 1e-3, imle_ratio = 10, clip = 0, ema = 0, tight_weight = 0.1, tight_clamp = 0;
  std::uint64_t seed = 0;
  int threads = 2;
};

[[noreturn]] void usage_error(const std::string& message) {
  std::cerr << "idemgen: " << message << "\n";
  std::exit(2);
}

options parse_train(int argc, char** argv) {
  options o;
  po::options_description desc("idemgen train: train a one-step generator on toy data");
  desc.add_options()("help,h", "show this help")
      ("method", po::value(&o.method)->default_value(o.method), "ign, naign or naign-minus")
      ("dataset", po::value(&o.dataset)->default_value(o.dataset),
       "grid25, 8gaussians, moons, rings, checkerboard, swiss_roll, pinwheel")
      ("steps", po::value(&o.steps)->default_value(o.steps), "training steps")
      ("batch", po::value(&o.batch)->default_value(o.batch), "batch size N")
      ("width", po::value(&o.width)->default_value(o.width), "mlp hidden width")
      ("depth", po::value(&o.depth)->default_value(o.depth), "mlp hidden layers")
      ("activation", po::value(&o.activation)->default_value(o.activation), "relu, silu, gelu, ...")
      ("lr", po::value(&o.lr)->default_value(o.lr), "AdamW learning rate (NAIGN's paper: 1e-4 for 100k steps)")
      ("imle-ratio", po::value(&o.imle_ratio)->default_value(o.imle_ratio), "IMLE candidates M / N")
      ("tight-weight", po::value(&o.tight_weight)->default_value(o.tight_weight), "IGN tightness weight")
      ("tight-clamp", po::value(&o.tight_clamp)->default_value(o.tight_clamp), "IGN tightness clamp ratio a (0 = off)")
      ("clip", po::value(&o.clip)->default_value(o.clip), "global gradient-norm clip (0 = off)")
      ("ema", po::value(&o.ema)->default_value(o.ema), "EMA decay for evaluation (0 = off)")
      ("samples", po::value(&o.samples)->default_value(o.samples), "samples written and evaluated")
      ("seed", po::value(&o.seed)->default_value(o.seed), "random seed")
      ("threads", po::value(&o.threads)->default_value(o.threads), "CPU threads")
      ("log-every", po::value(&o.log_every)->default_value(o.log_every), "log.csv interval")
      ("out", po::value(&o.out)->required(), "output directory");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    if (vm.count("help")) {
      std::cout << desc << "\n";
      std::exit(0);
    }
    po::notify(vm);
  } catch (const po::error& e) {
    usage_error(e.what());
  }
  if (o.method != "ign" && o.method != "naign" && o.method != "naign-minus")
    usage_error("--method: expected ign, naign or naign-minus, got " + o.method);
  try {
    data::parse_toy(o.dataset);
    nn::parse_activation(o.activation);
  } catch (const error& e) {
    usage_error(e.what());
  }
  if (o.steps <= 0 || o.batch <= 1 || o.width <= 0 || o.depth <= 0 || o.samples <= 1 ||
      o.log_every <= 0 || o.threads <= 0)
    usage_error("--steps, --width, --depth, --log-every, --threads must be > 0 and --batch, --samples > 1");
  if (!(o.lr > 0) || !(o.imle_ratio >= 1) || o.clip < 0 || o.ema < 0 || o.ema >= 1)
    usage_error("--lr must be > 0, --imle-ratio >= 1, --clip >= 0, --ema in [0, 1)");
  return o;
}

std::vector<double> to_host(be::const_view v) {
  std::vector<double> h(static_cast<std::size_t>(v.size()));
  for (index_t e = 0; e < v.size(); ++e) h[static_cast<std::size_t>(e)] = v[e];
  return h;
}

template <class Generator>
int run(Generator& gen, const options& o) {
  const data::toy dataset = data::parse_toy(o.dataset);
  data::toy_sampler<be> sampler(dataset);
  random_stream data_rng = random_stream(o.seed).split(1);
  std::filesystem::create_directories(o.out);
  const auto report = train::train(gen, o.batch, [&](be::view x) { sampler.sample(x, data_rng); },
                                   {.steps = o.steps, .log_every = o.log_every,
                                    .log_path = o.out + "/log.csv"});
  if (gen.has_ema()) gen.ema().copy_to(gen.net().parameters());

  // Evaluation: samples f(z) and f(f(z)) against fresh data (ALGORITHMS Part A §6).
  random_stream eval_rng = random_stream(o.seed).split(2);
  be::matrix z(2, o.samples), data_a(2, o.samples), data_b(2, o.samples);
  be::fill_normal(z, eval_rng);
  sampler.sample(data_a, eval_rng);
  sampler.sample(data_b, eval_rng);
  const auto iterates = samplers::recursive(gen.net(), z, 2);
  const auto s1 = to_host(iterates[0]), s2 = to_host(iterates[1]), d = to_host(data_a);
  std::string json = "{\n";
  const auto put = [&](const std::string& key, double v) { json += fmt::format("  \"{}\": {:.6g},\n", key, v); };
  json += fmt::format("  \"method\": \"{}\",\n  \"dataset\": \"{}\",\n", o.method, o.dataset);
  put("steps", static_cast<double>(report.steps));
  put("train_seconds", report.seconds);
  put("recoveries", report.recoveries);
  put("mmd2_f_z", evaluation::mmd2_unbiased<be>(iterates[0], data_a));
  put("mmd2_f_f_z", evaluation::mmd2_unbiased<be>(iterates[1], data_a));
  put("mmd2_data_vs_data", evaluation::mmd2_unbiased<be>(data_b, data_a));
  put("sliced_w2_f_z", evaluation::sliced_wasserstein2(s1.data(), d.data(), 2, o.samples));
  put("idempotence_error", evaluation::idempotence_error(gen.net(), z));
  put("reconstruction_error", evaluation::reconstruction_error(gen.net(), data_b));
  std::string summary;
  if (const auto mix = data::mixture_of(dataset)) {
    const auto c1 = evaluation::mode_coverage(*mix, s1.data(), o.samples);
    const auto c2 = evaluation::mode_coverage(*mix, s2.data(), o.samples);
    put("modes", c1.modes);
    put("modes_hit_f_z", c1.modes_hit);
    put("modes_balanced_f_z", c1.modes_balanced);
    put("high_quality_f_z", c1.high_quality);
    put("modes_hit_f_f_z", c2.modes_hit);
    put("high_quality_f_f_z", c2.high_quality);
    summary = fmt::format(", modes {}/{} (balanced {})", c1.modes_hit, c1.modes, c1.modes_balanced);
  }
  json.erase(json.size() - 2);
  json += "\n}\n";
  io::write_atomically(o.out + "/metrics.json", [&](std::ostream& out) { out << json; });
  io::write_samples_csv(o.out + "/samples.csv", s1.data(), 2, o.samples);
  const io::scatter_layer data_layer{d.data(), o.samples, {190, 190, 190}, 1};
  io::write_scatter_png(o.out + "/samples.png",
                        {data_layer, {s1.data(), o.samples, {214, 39, 40}, 1}},
                        io::bounding_box(data_layer, 0.25));
  std::printf("idemgen: %s on %s, %ld steps in %.1f s, MMD² %.4g (data vs data %.4g)%s; wrote %s\n",
              o.method.c_str(), o.dataset.c_str(), report.steps, report.seconds,
              evaluation::mmd2_unbiased<be>(iterates[0], data_a),
              evaluation::mmd2_unbiased<be>(data_b, data_a), summary.c_str(), o.out.c_str());
  return 0;
}

int train_command(int argc, char** argv) {
  const options o = parse_train(argc, argv);
  be::set_num_threads(o.threads);
  net_t net({.input_dim = 2, .output_dim = 2,
             .hidden = std::vector<index_t>(static_cast<std::size_t>(o.depth), o.width),
             .act = {nn::parse_activation(o.activation)}},
            random_stream(o.seed).split(3));
  const models::generator_options g{.optimizer = {.lr = o.lr, .weight_decay = 0.0},
                                    .clip_grad_norm = o.clip, .ema_decay = o.ema, .seed = o.seed};
  if (o.method == "ign") {
    models::ign<net_t> gen(std::move(net),
                           models::ign_losses({}, {}, {.weight = o.tight_weight, .clamp_ratio = o.tight_clamp}),
                           {}, g);
    return run(gen, o);
  }
  if (o.method == "naign") {
    models::naign<net_t> gen(std::move(net), models::naign_losses({}, {.candidates_per_sample = o.imle_ratio}, {}), {}, g);
    return run(gen, o);
  }
  models::naign_minus<net_t> gen(std::move(net), models::naign_minus_losses({}, {.candidates_per_sample = o.imle_ratio}), {}, g);
  return run(gen, o);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    std::cout << "usage: idemgen train [options]   (idemgen train --help lists them)\n";
    return argc < 2 ? 2 : 0;
  }
  const std::string command = argv[1];
  if (command != "train") usage_error("unknown command '" + command + "' (expected: train)");
  try {
    return train_command(argc - 1, argv + 1);
  } catch (const error& e) {
    std::cerr << "idemgen: " << e.what() << "\n";
    return 2;
  }
}
