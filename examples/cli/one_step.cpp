// idemgen train/sample for one-step methods: IGN, NAIGN, NAIGN− (f(z) and its recursive
// applications f(f(z)), …).

#include <cstdio>
#include <filesystem>

#include "cli/common.hpp"
#include "cli/one_step_train.hpp"
#include "idemgen/evaluation/mmd.hpp"
#include "idemgen/evaluation/projection_errors.hpp"
#include "idemgen/io/csv.hpp"
#include "idemgen/samplers/recursive.hpp"

namespace idemgen::cli {
namespace {

using net_t = nn::mlp<be>;

/// Samples k recursive applications from z ~ N(0, I), evaluates every iterate against fresh data
/// and writes samples.csv (last iterate), samples.png, trajectory.png and metrics.json.
int write_outputs(const net_t& net, data::toy dataset, index_t n, int k, std::uint64_t seed, const std::string& out,
                  const std::string& json_head) {
  data::toy_sampler<be> sampler(dataset);
  random_stream eval_rng = random_stream(seed).split(2);
  be::matrix z(2, n), data_a(2, n), data_b(2, n);
  be::fill_normal(z, eval_rng);
  sampler.sample(data_a, eval_rng);
  sampler.sample(data_b, eval_rng);
  const auto iterates = samplers::recursive(net, z, k);
  std::string json = "{\n" + json_head;
  json += fmt::format("  \"dataset\": \"{}\",\n  \"samples\": {},\n", data::to_string(dataset), n);
  json += fmt::format("  \"mmd2_data_vs_data\": {:.6g},\n", evaluation::mmd2_unbiased<be>(data_b, data_a));
  json += fmt::format("  \"idempotence_error\": {:.6g},\n", evaluation::idempotence_error(net, z));
  json += fmt::format("  \"reconstruction_error\": {:.6g},\n", evaluation::reconstruction_error(net, data_b));
  json += "  \"iterates\": [\n";
  std::string summary;
  for (int step = 0; step < k; ++step) {
    const auto q = measure(iterates[static_cast<std::size_t>(step)], data_a, dataset);
    json += fmt::format("    {{\"applications\": {}, {}}}{}\n", step + 1, q.json(), step + 1 < k ? "," : "");
    if (step == 0) summary = q.summary();
  }
  json += "  ]\n}\n";
  io::write_atomically(out + "/metrics.json", [&](std::ostream& s) { s << json; });
  const auto last = to_host(iterates.back());
  io::write_samples_csv(out + "/samples.csv", last.data(), 2, n);
  write_samples_png(out + "/samples.png", iterates.back(), data_a);
  std::vector<be::matrix> states;
  states.emplace_back(2, n);
  be::copy(z, states.back());
  for (const auto& it : iterates) {
    states.emplace_back(2, n);
    be::copy(it, states.back());
  }
  write_trajectory_png(out + "/trajectory.png", states, data_a, /*box_from_first=*/true);
  std::printf("idemgen: %s (data vs data %.4g); wrote %s\n", summary.c_str(),
              evaluation::mmd2_unbiased<be>(data_b, data_a), out.c_str());
  return 0;
}

}  // namespace

int train_one_step(const options& o) {
  net_t host = make_one_step_net<be>(o.width, o.depth, o.activation, random_stream(0));
  const host_sampler sample = [&host](const std::vector<float>& parameters, be::const_view z, be::view out) {
    load_parameters(host, parameters);
    samplers::one_step(host, z, out);
  };
  const trained t = o.device == "cuda" ? train_one_step_cuda(o, sample) : train_one_step_on<be>(o, sample);
  load_parameters(host, t.parameters);
  return write_outputs(host, data::parse_toy(o.dataset), o.samples, 2, o.seed, o.out,
                       fmt::format("  \"method\": \"{}\",\n  \"coupling\": \"{}\",\n  \"device\": \"{}\",\n  \"steps\": {},\n"
                                   "  \"train_seconds\": {:.4g},\n  \"recoveries\": {},\n",
                                   o.method, coupling_of(o), o.device, t.report.steps, t.report.seconds, t.report.recoveries));
}

int sample_one_step(const io::safetensors& file, const std::string& checkpoint, index_t n, int steps,
                    const std::string& weights, std::uint64_t seed, const std::string& out) {
  const auto meta = [&](const char* key) { return train::metadata_string(file.metadata, key, checkpoint); };
  const auto integer = [&](const char* key) {
    return static_cast<index_t>(train::metadata_integer(file.metadata, key, checkpoint, 1));
  };
  const data::toy dataset = data::parse_toy(meta("dataset"));
  net_t net = make_one_step_net<be>(integer("width"), integer("depth"), meta("activation"), random_stream(0));
  const bool use_ema = train::load_weights(file, net, checkpoint, weights == "ema");
  std::filesystem::create_directories(out);
  return write_outputs(net, dataset, n, steps, seed, out,
                       fmt::format("  \"method\": \"{}\",\n  \"checkpoint\": {},\n  \"weights\": \"{}\",\n",
                                   meta("method"), io::json_quote(checkpoint), use_ema ? "ema" : "raw"));
}

}  // namespace idemgen::cli
