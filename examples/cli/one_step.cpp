// idemgen train/sample for one-step methods: IGN, NAIGN, NAIGN−, SIGN (f(z) and its recursive
// applications f(f(z)), …; SIGN from z = σ_max ε, with Alg. 3's multistep table besides).

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "cli/common.hpp"
#include "cli/one_step_train.hpp"
#include "idemgen/evaluation/mmd.hpp"
#include "idemgen/evaluation/projection_errors.hpp"
#include "idemgen/io/csv.hpp"
#include "idemgen/samplers/multistep_editing.hpp"
#include "idemgen/samplers/recursive.hpp"

namespace idemgen::cli {
namespace {

using net_t = nn::mlp<be>;

/// How a one-step model generates: from z = source_scale · ε, by `sampler` (recursive: K
/// applications, SIGN Alg. 2; multistep: SIGN Alg. 3 with K NFE over `grid`) with K = steps.
/// SIGN has a grid (its flow term's), the others none.
struct one_step_sampling {
  double source_scale = 1;
  std::optional<schedule::karras_grid> grid;
  std::string sampler = "recursive";
  int steps = 1;  // samples.csv holds f^steps(z): f(z) after training, as its printed summary says
};

/// SIGN Alg. 3 from x = σ_max ε (in x on entry) with K NFE: re-noised at the grid points of
/// lines_indices(K) after the first. Returns the NFE.
int multistep(const net_t& net, const schedule::karras_grid& grid, int k, be::view x, std::uint64_t seed) {
  if (k > grid.steps)
    throw invalid_argument("idemgen", "--steps", fmt::format("at most the grid's {} points for multistep", grid.steps),
                           std::to_string(k));
  std::vector<double> levels;
  const auto set = lines_indices(k, grid.steps);
  for (std::size_t i = 1; i < set.size(); ++i) levels.push_back(grid.sigma<double>(set[i]));
  random_stream rng = random_stream(seed).split(6);
  return samplers::multistep_editing(net, levels, x, rng);
}

/// Samples recursive applications (and, for SIGN, Alg. 3) from z, evaluates them against fresh
/// data and writes samples.csv, samples.png, trajectory.png and metrics.json.
int write_outputs(const net_t& net, const data::dataset& dataset, index_t n, const one_step_sampling& how, std::uint64_t seed,
                  const std::string& out, const io::ordered_json& json_head, const std::string& model, bool save_noise = false) {
  data::dataset_sampler<be> sampler(dataset);
  random_stream eval_rng = random_stream(seed).split(2);
  be::matrix z(2, n), data_a(2, n), data_b(2, n);
  be::fill_normal(z, eval_rng, 0.0f, static_cast<float>(how.source_scale));
  sampler.sample(data_a, eval_rng);
  sampler.sample(data_b, eval_rng);
  // The samples are f^k(z); the table goes on to f^4(z) at least, so every run reports NFE 1, 2, 4.
  const int k = how.sampler == "recursive" ? how.steps : 2;
  const int evaluated = std::max(k, 4);
  const auto iterates = samplers::recursive(net, z, evaluated);
  io::ordered_json metrics = json_head;
  const std::string held = how.sampler == "multistep" ? fmt::format("multistep, {} NFE", how.steps)
                           : k == 1                    ? std::string("f(z)")
                                                       : fmt::format("f^{}(z)", k);
  metrics.update({{"dataset", dataset.name()}, {"samples", n}, {"samples_csv", held}, {"source_scale", how.source_scale},
                  {"mmd2_data_vs_data", evaluation::mmd2_unbiased<be>(data_b, data_a)},
                  {"idempotence_error", evaluation::idempotence_error(net, z)},
                  {"reconstruction_error", evaluation::reconstruction_error(net, data_b)}});
  auto& table = metrics["iterates"] = io::ordered_json::array();
  std::string summary;
  for (int step = 0; step < evaluated; ++step) {
    const auto q = measure(iterates[static_cast<std::size_t>(step)], data_a, dataset);
    io::ordered_json row = {{"applications", step + 1}};
    row.update(q.json());
    table.push_back(row);
    if (step == k - 1) summary = q.summary() + (k == 1 ? " for f(z)" : fmt::format(" for f^{}(z)", k));
  }
  be::matrix samples(2, n);
  be::copy(iterates[static_cast<std::size_t>(k - 1)], samples);
  if (how.grid) {  // SIGN Alg. 3 against NFE, from the same z
    auto& rows = metrics["multistep"] = io::ordered_json::array();
    be::matrix x(2, n);
    for (int nfe : {1, 2, 3, 4, 8}) {
      if (nfe > how.grid->steps) break;
      be::copy(z, x);
      multistep(net, *how.grid, nfe, x, seed);
      io::ordered_json row = {{"nfe", nfe}};
      row.update(measure(x, data_a, dataset).json());
      rows.push_back(row);
    }
    if (how.sampler == "multistep") {
      be::copy(z, samples);
      multistep(net, *how.grid, how.steps, samples, seed);
      summary = measure(samples, data_a, dataset).summary() + fmt::format(" (multistep, {} NFE)", how.steps);
    }
  }
  write_metrics(out + "/metrics.json", metrics);
  const auto last = to_host(samples);
  io::write_samples_csv(out + "/samples.csv", last.data(), 2, n);
  if (save_noise) io::write_samples_csv(out + "/noise.csv", to_host(z).data(), 2, n);  // f's input, source_scale · ε
  write_samples_png(out + "/samples.png", samples, data_a, fmt::format("{}: {}", model, held), held);
  std::vector<be::matrix> states;
  if (how.source_scale == 1) {  // σ_max ε lies far outside the data's box: show f's iterates only
    states.emplace_back(2, n);
    be::copy(z, states.back());
  }
  for (int step = 0; step < std::max(k, 2); ++step) {  // at least z -> f(z) -> f(f(z))
    states.emplace_back(2, n);
    be::copy(iterates[static_cast<std::size_t>(step)], states.back());
  }
  write_trajectory_png(out + "/trajectory.png", states, data_a, /*box_from_first=*/true,
                       fmt::format("{}: z, f(z), f(f(z)), ...", model), how.source_scale == 1 ? "z" : "f(z)",
                       fmt::format("f^{}(z)", std::max(k, 2)));  // the loop above shows max(k, 2) applications
  std::printf("idemgen: %s (data vs data %.4g); wrote %s\n", summary.c_str(),
              evaluation::mmd2_unbiased<be>(data_b, data_a), out.c_str());
  return 0;
}

}  // namespace

int train_one_step(const options& o) {
  net_t host = make_one_step_net<be>(o.width, o.depth, o.activation, random_stream(0));
  one_step_sampling how;
  if (o.method == "sign") {
    how.source_scale = o.sigma_max;
    how.grid = schedule::karras_grid{.sigma_max = o.sigma_max, .steps = o.teacher_steps};
    how.sampler = o.sampler.empty() ? "recursive" : o.sampler;
    how.steps = o.sample_steps > 0 ? o.sample_steps : 1;
  }
  be::matrix source;
  const host_sampler sample = [&](const std::vector<float>& parameters, be::const_view z, be::view out) {
    load_parameters(host, parameters);
    source.resize(z.rows(), z.cols());
    be::copy(z, source);
    be::scale(source, static_cast<float>(how.source_scale));
    samplers::one_step(host, source, out);
  };
  const trained t = o.device == "cuda" ? train_one_step_cuda(o, sample) : train_one_step_on<be>(o, sample);
  if (!is_output_rank()) return 0;  // --distributed: rank 0 writes the outputs
  load_parameters(host, t.parameters);
  return write_outputs(host, o.data, o.samples, how, o.seed, o.out,
                       {{"method", o.method}, {"coupling", coupling_of(o)}, {"device", o.device}, {"steps", t.report.steps},
                        {"train_seconds", t.report.seconds}, {"coupling_seconds", t.report.coupling_seconds},
                        {"recoveries", t.report.recoveries}},
                       fmt::format("{} on {}, step {}", o.method, o.dataset, t.report.steps));
}

int sample_one_step(const io::safetensors& file, const std::string& checkpoint, index_t n, int steps,
                    const std::string& sampler, const std::string& weights, std::uint64_t seed, const std::string& out,
                    const std::string& config, bool save_noise) {
  const auto meta = [&](const char* key) { return train::metadata_string(file.metadata, key, checkpoint); };
  const auto integer = [&](const char* key) {
    return static_cast<index_t>(train::metadata_integer(file.metadata, key, checkpoint, 1));
  };
  const data::dataset dataset = data::dataset::parse(meta("dataset"));
  net_t net = make_one_step_net<be>(integer("width"), integer("depth"), meta("activation"), random_stream(0));
  const bool use_ema = train::load_weights(file, net, checkpoint, weights == "ema");
  one_step_sampling how{.sampler = sampler.empty() ? "recursive" : sampler, .steps = steps};
  if (meta("method") == "sign") {
    how.source_scale = train::metadata_real(file.metadata, "source_scale", checkpoint, 0);
    how.grid = schedule::karras_grid{.sigma_max = train::metadata_real(file.metadata, "sigma_max", checkpoint, 0),
                                     .steps = static_cast<int>(integer("teacher_steps"))};
    how.grid->validate();
  }
  if (how.sampler == "multistep" && (!how.grid || steps > how.grid->steps))  // before anything is written
    throw invalid_argument("idemgen", "--steps",
                           fmt::format("at most the grid's {} points for multistep", how.grid ? how.grid->steps : 0),
                           std::to_string(steps));
  start_output_directory(out, config);
  return write_outputs(net, dataset, n, how, seed, out,
                       {{"method", meta("method")}, {"checkpoint", checkpoint}, {"weights", use_ema ? "ema" : "raw"},
                        {"sampler", how.sampler}, {"sampler_steps", steps}},
                       fmt::format("{} on {}, step {}", meta("method"), meta("dataset"), meta("step")), save_noise);
}

}  // namespace idemgen::cli
