// idemgen — the command-line program: train IGN / NAIGN on toy data, or sample a trained model
// again, and write samples, pictures, a log and metrics.
//
//   idemgen train --method naign --dataset grid25 --steps 4000 --out out/naign_grid25
//   idemgen sample --checkpoint out/naign_grid25/model.safetensors --n 2500 --steps 3 --out DIR2
//
// train writes DIR/samples.csv (one-step samples f(z)), DIR/samples.png (samples over data),
// DIR/trajectory.png (z → f(z) → f(f(z))), DIR/log.csv (every term every --log-every steps),
// DIR/metrics.json and DIR/model.safetensors (weights, AdamW state, EMA, step, random stream,
// options). sample writes samples.csv (the last of --steps recursive applications),
// samples.png, trajectory.png and metrics.json. A rejected command line exits with code 2 and a
// one-line message, and writes nothing.

#include <boost/program_options.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
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
#include "idemgen/train/checkpoint.hpp"
#include "idemgen/train/trainer.hpp"

namespace po = boost::program_options;
using namespace idemgen;
using be = backend::cpu<float>;
using net_t = nn::mlp<be>;

namespace {

struct options {
  std::string method = "naign", dataset = "grid25", out, activation = "relu";
  long steps = 4000, log_every = 50, eval_every = 0;
  index_t batch = 512, width = 256, depth = 3, samples = 2500;
  double lr = 1e-3, imle_ratio = 10, clip = 0, ema = 0, tight_weight = 0.1, tight_clamp = 0;
  std::uint64_t seed = 0;
  int threads = 2;
};

[[noreturn]] void usage_error(const std::string& message) {
  std::cerr << "idemgen: " << message << "\n";
  std::exit(2);
}

/// Parses argv against `desc`; --help prints it and exits 0, errors exit 2 with one line.
void parse_or_exit(const po::options_description& desc, int argc, char** argv) {
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
      ("eval-every", po::value(&o.eval_every)->default_value(o.eval_every),
       "write MMD² and mode coverage of 1000 samples to eval.csv every N steps (0 = off)")
      ("out", po::value(&o.out)->required(), "output directory");
  parse_or_exit(desc, argc, argv);
  if (o.method != "ign" && o.method != "naign" && o.method != "naign-minus")
    usage_error("--method: expected ign, naign or naign-minus, got " + o.method);
  try {
    data::parse_toy(o.dataset);
    nn::parse_activation(o.activation);
  } catch (const error& e) {
    usage_error(e.what());
  }
  if (o.eval_every < 0) usage_error("--eval-every must be >= 0");
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

/// Samples k recursive applications from z ~ N(0, I), evaluates every iterate against fresh data
/// and writes samples.csv (last iterate), samples.png, trajectory.png and metrics.json.
int write_outputs(const net_t& net, data::toy dataset, index_t n, int k, std::uint64_t seed,
                  const std::string& out, const std::string& json_head) {
  data::toy_sampler<be> sampler(dataset);
  random_stream eval_rng = random_stream(seed).split(2);
  be::matrix z(2, n), data_a(2, n), data_b(2, n);
  be::fill_normal(z, eval_rng);
  sampler.sample(data_a, eval_rng);
  sampler.sample(data_b, eval_rng);
  const auto iterates = samplers::recursive(net, z, k);
  const auto d = to_host(data_a), z_host = to_host(z);
  const auto mix = data::mixture_of(dataset);
  std::string json = "{\n" + json_head;
  json += fmt::format("  \"dataset\": \"{}\",\n  \"samples\": {},\n", data::to_string(dataset), n);
  json += fmt::format("  \"mmd2_data_vs_data\": {:.6g},\n", evaluation::mmd2_unbiased<be>(data_b, data_a));
  json += fmt::format("  \"idempotence_error\": {:.6g},\n", evaluation::idempotence_error(net, z));
  json += fmt::format("  \"reconstruction_error\": {:.6g},\n", evaluation::reconstruction_error(net, data_b));
  json += "  \"iterates\": [\n";
  std::string summary;
  std::vector<std::vector<double>> hosts;
  for (int step = 0; step < k; ++step) {
    hosts.push_back(to_host(iterates[static_cast<std::size_t>(step)]));
    const auto& h = hosts.back();
    const double mmd = evaluation::mmd2_unbiased<be>(iterates[static_cast<std::size_t>(step)], data_a);
    json += fmt::format("    {{\"applications\": {}, \"mmd2\": {:.6g}, \"sliced_w2\": {:.6g}", step + 1,
                        mmd, evaluation::sliced_wasserstein2(h.data(), d.data(), 2, n));
    if (mix) {
      const auto c = evaluation::mode_coverage(*mix, h.data(), n);
      json += fmt::format(", \"modes\": {}, \"modes_hit\": {}, \"modes_balanced\": {}, \"high_quality\": {:.4g}",
                          c.modes, c.modes_hit, c.modes_balanced, c.high_quality);
      if (step == 0) summary = fmt::format(", modes {}/{} (balanced {})", c.modes_hit, c.modes, c.modes_balanced);
    }
    json += step + 1 < k ? "},\n" : "}\n";
    if (step == 0) summary = fmt::format("MMD² {:.4g}", mmd) + summary;
  }
  json += "  ]\n}\n";
  io::write_atomically(out + "/metrics.json", [&](std::ostream& s) { s << json; });
  io::write_samples_csv(out + "/samples.csv", hosts.back().data(), 2, n);
  const io::scatter_layer data_layer{d.data(), n, {190, 190, 190}, 1};
  const auto box = io::bounding_box(data_layer, 0.25);
  io::write_scatter_png(out + "/samples.png", {data_layer, {hosts.back().data(), n, {214, 39, 40}, 1}}, box);
  // Trajectory: the noise, then every iterate, from light blue to dark red.
  std::vector<io::scatter_layer> layers = {data_layer, {z_host.data(), n, {158, 202, 225}, 1}};
  const std::array<unsigned char, 3> ramp[] = {{253, 141, 60}, {214, 39, 40}, {103, 0, 13}};
  for (int step = 0; step < k; ++step)
    layers.push_back({hosts[static_cast<std::size_t>(step)].data(), n, ramp[std::min(step, 2)], 1});
  io::write_scatter_png(out + "/trajectory.png", layers, io::bounding_box(layers[1], 0.05));
  std::printf("idemgen: %s (data vs data %.4g); wrote %s\n", summary.c_str(),
              evaluation::mmd2_unbiased<be>(data_b, data_a), out.c_str());
  return 0;
}

template <class Generator>
int run(Generator& gen, const options& o) {
  const data::toy dataset = data::parse_toy(o.dataset);
  data::toy_sampler<be> sampler(dataset);
  random_stream data_rng = random_stream(o.seed).split(1);
  std::filesystem::create_directories(o.out);
  std::printf("idemgen: training %s on %s for %ld steps (batch %ld, width %ld x %ld)\n", o.method.c_str(),
              o.dataset.c_str(), o.steps, static_cast<long>(o.batch), static_cast<long>(o.width),
              static_cast<long>(o.depth));
  // Periodic evaluation on a fixed z and fixed data, so the curve shows the model, not the draw.
  std::ofstream eval_log;
  be::matrix eval_z(2, 1000), eval_data(2, 1000), eval_out(2, 1000);
  const auto mix = data::mixture_of(dataset);
  if (o.eval_every > 0) {
    random_stream eval_rng = random_stream(o.seed).split(4);
    be::fill_normal(eval_z, eval_rng);
    sampler.sample(eval_data, eval_rng);
    eval_log.open(o.out + "/eval.csv");
    eval_log << "step,mmd2,modes_hit,modes_balanced,high_quality\n";
  }
  const auto evaluate = [&](long step) {
    samplers::one_step(gen.net(), eval_z, eval_out);
    eval_log << step << ',' << evaluation::mmd2_unbiased<be>(eval_out, eval_data);
    if (mix) {
      const auto h = to_host(eval_out);
      const auto c = evaluation::mode_coverage(*mix, h.data(), 1000);
      eval_log << ',' << c.modes_hit << ',' << c.modes_balanced << ',' << c.high_quality;
    } else {
      eval_log << ",,,";
    }
    eval_log << '\n' << std::flush;
  };
  const auto report = train::train(gen, o.batch, [&](be::view x) { sampler.sample(x, data_rng); },
                                   {.steps = o.steps, .log_every = o.log_every,
                                    .log_path = o.out + "/log.csv", .evaluate_every = o.eval_every,
                                    .evaluate = evaluate});
  train::save_checkpoint(o.out + "/model.safetensors", gen,
                         {{"method", o.method}, {"dataset", o.dataset}, {"width", std::to_string(o.width)},
                          {"depth", std::to_string(o.depth)}, {"activation", o.activation},
                          {"lr", fmt::format("{}", o.lr)}, {"batch", std::to_string(o.batch)},
                          {"imle_ratio", fmt::format("{}", o.imle_ratio)}, {"seed", std::to_string(o.seed)}});
  if (gen.has_ema()) gen.ema().copy_to(gen.net().parameters());

  return write_outputs(gen.net(), dataset, o.samples, 2, o.seed, o.out,
                       fmt::format("  \"method\": \"{}\",\n  \"steps\": {},\n  \"train_seconds\": {:.4g},\n"
                                   "  \"recoveries\": {},\n",
                                   o.method, report.steps, report.seconds, report.recoveries));
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


int sample_command(int argc, char** argv) {
  std::string checkpoint, out, weights = "ema";
  index_t n = 2500;
  int steps = 1, threads = 2;
  std::uint64_t seed = 0;
  po::options_description desc("idemgen sample: draw samples from a trained model again");
  desc.add_options()("help,h", "show this help")
      ("checkpoint", po::value(&checkpoint)->required(), "model.safetensors written by 'idemgen train'")
      ("n", po::value(&n)->default_value(n), "number of samples")
      ("steps", po::value(&steps)->default_value(steps), "recursive applications K >= 1 (f^K(z))")
      ("weights", po::value(&weights)->default_value(weights), "ema (when the checkpoint has one) or raw")
      ("seed", po::value(&seed)->default_value(seed), "random seed for z")
      ("threads", po::value(&threads)->default_value(threads), "CPU threads")
      ("out", po::value(&out)->required(), "output directory");
  parse_or_exit(desc, argc, argv);
  if (n <= 1 || steps < 1 || threads < 1) usage_error("--n must be > 1, --steps >= 1 and --threads >= 1");
  if (weights != "ema" && weights != "raw") usage_error("--weights: expected ema or raw, got " + weights);
  be::set_num_threads(threads);
  // Read and check everything before creating the output directory.
  const io::safetensors file = io::read_safetensors(checkpoint);
  const auto meta = [&](const char* key) { return train::metadata_string(file.metadata, key, checkpoint); };
  const auto integer = [&](const char* key) {
    return static_cast<index_t>(train::metadata_integer(file.metadata, key, checkpoint, 1));
  };
  const data::toy dataset = data::parse_toy(meta("dataset"));
  net_t net({.input_dim = 2, .output_dim = 2,
             .hidden = std::vector<index_t>(static_cast<std::size_t>(integer("depth")), integer("width")),
             .act = {nn::parse_activation(meta("activation"))}},
            0);
  train::load_parameters(file, net, checkpoint);
  const bool use_ema = weights == "ema" && file.tensors.count("ema") > 0;
  if (use_ema) {
    const auto& ema = file.tensors.at("ema");
    if (ema.elements() != net.parameter_count())
      throw io_error("idemgen sample", checkpoint, fmt::format("{} EMA values", net.parameter_count()),
                     fmt::format("{}", ema.elements()));
    const auto v = ema.values<float>();
    be::copy_from_host(v.data(), net.parameters());
  }
  std::filesystem::create_directories(out);
  return write_outputs(net, dataset, n, steps, seed, out,
                       fmt::format("  \"method\": \"{}\",\n  \"checkpoint\": {},\n  \"weights\": \"{}\",\n",
                                   meta("method"), io::json_quote(checkpoint), use_ema ? "ema" : "raw"));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    std::cout << "usage: idemgen train [options]    train a model (idemgen train --help)\n"
                 "       idemgen sample [options]   sample a trained model (idemgen sample --help)\n";
    return argc < 2 ? 2 : 0;
  }
  const std::string command = argv[1];
  if (command != "train" && command != "sample")
    usage_error("unknown command '" + command + "' (expected: train or sample)");
  try {
    return command == "train" ? train_command(argc - 1, argv + 1) : sample_command(argc - 1, argv + 1);
  } catch (const error& e) {
    std::cerr << "idemgen: " << e.what() << "\n";
    return 2;
  }
}
