// idemgen train/sample for noised methods: diffusion (EDM DSM), cdm (DSM + CDM consistency) over
// a denoiser D_θ(x; σ) with schedule::karras, and fm (flow matching) over a velocity v_θ(x, t).
// Besides the samples it writes a samples-vs-NFE table, the straightness of 100-step Euler
// trajectories and, for denoisers, CDM's consistency error at a few (σ, σ') pairs.

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <variant>

#include "cli/common.hpp"
#include "cli/noised_draw.hpp"
#include "cli/noised_train.hpp"
#include "idemgen/evaluation/consistency_error.hpp"
#include "idemgen/evaluation/denoiser_error.hpp"
#include "idemgen/evaluation/mixture_denoiser.hpp"
#include "idemgen/evaluation/mmd.hpp"
#include "idemgen/evaluation/straightness.hpp"
#include "idemgen/io/csv.hpp"
#include "idemgen/samplers/flow_ode.hpp"
#include "idemgen/samplers/lines.hpp"
#include "idemgen/teachers/mixture.hpp"
#include "idemgen/samplers/model_function.hpp"
#include "idemgen/samplers/pf_ode.hpp"
#include "idemgen/samplers/reverse_sde.hpp"
#include "idemgen/train/checkpoint.hpp"

namespace idemgen::cli {
namespace {

using mlp_t = nn::mlp<be>;
using denoiser_t = nn::denoiser<mlp_t>;
using velocity_t = nn::velocity<mlp_t>;

/// The pooled per-coordinate standard deviation of 20000 points of the dataset.
double data_std(const data::dataset& dataset, std::uint64_t seed) {
  be::matrix x(2, 20000);
  random_stream rng = random_stream(seed).split(5);
  data::dataset_sampler<be>(dataset).sample(x, rng);
  double m[2] = {0, 0}, v = 0;
  for (index_t j = 0; j < x.cols(); ++j)
    for (index_t i = 0; i < 2; ++i) m[i] += x(i, j) / x.cols();
  for (index_t j = 0; j < x.cols(); ++j)
    for (index_t i = 0; i < 2; ++i) v += (x(i, j) - m[i]) * (x(i, j) - m[i]) / (2.0 * x.cols());
  return std::sqrt(v);
}

/// CDM's consistency error (evaluation/consistency_error.hpp) at local pairs (σ, 0.8σ) and to
/// σ' = 0, from states y + σ z on 512 fresh data points, 16 chains of 32 reverse-SDE steps each.
io::ordered_json consistency_json(const denoiser_t& den, be::const_view data, std::uint64_t seed) {
  const double sd = den.schedule().sigma_data;
  const index_t n = std::min<index_t>(512, data.cols());
  io::ordered_json rows = io::ordered_json::array();
  random_stream rng = random_stream(seed).split(7);
  be::matrix x(2, n), z(2, n), y(2, n);
  be::copy(be::const_view(data.data(), 2, n), y);
  for (double f : {0.02, 0.05, 0.1, 0.3, 1.0, 3.0}) {
    const double sigma = f * sd;
    for (double ratio : {0.8, 0.0}) {
      be::fill_normal(z, rng);
      be::copy(y, x);
      be::axpy(static_cast<float>(sigma), z, x);
      const auto ce = evaluation::consistency_error<be>(samplers::model_function(den), x, sigma, ratio * sigma, rng,
                                                        {.chains = 16, .steps = 32});
      rows.push_back({{"sigma", sigma}, {"sigma_prime", ratio * sigma}, {"value", ce.value}, {"standard_error", ce.standard_error}});
    }
  }
  return rows;
}

/// For mixture datasets: E‖D_θ − D*‖² against the exact denoiser, at every σ_i of Heun-18, on
/// x ~ p_σ and on the model's own Heun iterates (the drift CDM addresses).
io::ordered_json drift_json(const denoiser_t& den, const data::dataset& dataset, be::const_view z, be::const_view data) {
  if (!dataset.toy()) return nullptr;  // a user's point cloud has no exact denoiser here
  const auto teacher = teachers::exact_denoiser<be>(*dataset.toy());
  if (!teacher) return nullptr;
  const auto& exact = *teacher;
  const index_t n = std::min<index_t>(500, std::min(z.cols(), data.cols()));  // never past the buffers
  std::vector<be::matrix> states;
  be::matrix zn(2, n), x(2, n), noised(2, n), y(2, n), unit(2, n);
  be::copy(be::const_view(z.data(), 2, n), zn);
  be::copy(be::const_view(data.data(), 2, n), y);
  draw(den, "heun", 18, zn, x, 0, &states);
  const auto sigmas = den.schedule().steps(18);
  random_stream rng(9);
  io::ordered_json rows = io::ordered_json::array();
  for (std::size_t i = 1; i + 1 < sigmas.size(); ++i) {
    be::fill_normal(unit, rng);
    be::copy(y, noised);
    be::axpy(static_cast<float>(sigmas[i]), unit, noised);
    const double on_data = evaluation::denoiser_error<be>(samplers::model_function(den), exact, noised, sigmas[i]);
    const double on_own = evaluation::denoiser_error<be>(samplers::model_function(den), exact, states[i], sigmas[i]);
    rows.push_back({{"sigma", sigmas[i]}, {"on_data", on_data}, {"on_own_iterates", on_own}});
  }
  return rows;
}

/// samples.csv/png and trajectory.png from (sampler, steps); metrics.json with the NFE table,
/// straightness and (denoisers) consistency error.
/// The samples-vs-NFE table: (sampler, step counts) for the method's first two samplers.
std::vector<std::pair<std::string, std::vector<int>>> nfe_table_for(const method_entry& m) {
  std::vector<std::pair<std::string, std::vector<int>>> table;
  for (std::size_t k = 0; k < std::min<std::size_t>(2, m.samplers.size()); ++k) {
    const std::string& s = m.samplers[k];
    const bool velocity = m.family == model_family::velocity;
    table.emplace_back(s, s == "multistep" || s == "lines-euler" ? std::vector<int>{1, 2, 3, 4, 8}
                          : s == "heun"                          ? std::vector<int>{1, 2, 3, 5, 18}
                          : s == "midpoint"                      ? std::vector<int>{1, 2, 4, 50}
                          : velocity                             ? std::vector<int>{1, 2, 4, 8, 100}
                                                                 : std::vector<int>{1, 2, 4, 8, 35});
  }
  return table;
}

template <class Model>
int write_outputs(const Model& model, const method_entry& method, const data::dataset& dataset, index_t n,
                  const std::string& sampler, int steps, int grid_points, std::uint64_t seed, const std::string& out,
                  const io::ordered_json& json_head, const std::string& model_name, bool save_noise = false) {
  constexpr bool is_denoiser = std::is_same_v<Model, denoiser_t>;
  data::dataset_sampler<be> data_sampler(dataset);
  random_stream eval_rng = random_stream(seed).split(2);
  be::matrix z(2, n), data_a(2, n), data_b(2, n), x(2, n);
  be::fill_normal(z, eval_rng);
  data_sampler.sample(data_a, eval_rng);
  data_sampler.sample(data_b, eval_rng);
  std::vector<be::matrix> trajectory;
  std::vector<double> times;
  const int nfe = draw(model, sampler, steps, z, x, seed, &trajectory, &times, grid_points);
  const auto main = measure(x, data_a, dataset);
  io::ordered_json metrics = json_head;
  metrics.update({{"dataset", dataset.name()}, {"samples", n}, {"mmd2_data_vs_data", evaluation::mmd2_unbiased<be>(data_b, data_a)},
                  {"sampler", sampler}, {"sampler_steps", steps}, {"nfe", nfe}});
  metrics.update(main.json());
  // Samples against NFE: Euler and the second-order sampler of the family.
  auto& rows = metrics["nfe_table"] = io::ordered_json::array();
  const auto table = nfe_table_for(method);
  be::matrix y(2, n);
  for (const auto& [name, list] : table)
    for (int s : list) {
      if (walks_grid(name) && s > grid_points) break;
      const int e = draw(model, name, s, z, y, seed, nullptr, nullptr, grid_points);
      io::ordered_json row = {{"sampler", name}, {"steps", s}, {"nfe", e}};
      row.update(measure(y, data_a, dataset).json());
      rows.push_back(row);
    }
  // Straightness of 100-step Euler trajectories of (up to) 500 samples (LMM Table 1).
  {
    std::vector<be::matrix> states;
    std::vector<double> times;
    const index_t m5 = std::min<index_t>(500, n);  // --samples may be fewer: never read past z
    be::matrix z5(2, m5), y5(2, m5);
    be::copy(be::const_view(z.data(), 2, m5), z5);
    draw(model, "euler", 100, z5, y5, seed, &states, &times);
    const auto s = evaluation::straightness<be>(states, times);
    metrics["straightness"] = {{"trajectories", m5}, {"euler_steps", 100},
                               {"time", is_denoiser ? "t = 1 - sigma/sigma_max" : "flow t"},
                               {"p1", s.p1}, {"p2", s.p2}, {"p1_normalized", s.p1_normalized},
                               {"p2_normalized", s.p2_normalized}};
  }
  if constexpr (is_denoiser) {
    metrics["consistency_error"] = consistency_json(model, data_b, seed);
    if (auto drift = drift_json(model, dataset, z, data_b); !drift.is_null()) metrics["drift"] = std::move(drift);
  }
  metrics["summary"] = main.summary();
  write_metrics(out + "/metrics.json", metrics);
  const auto h = to_host(x);
  io::write_samples_csv(out + "/samples.csv", h.data(), 2, n);
  if (save_noise) io::write_samples_csv(out + "/noise.csv", to_host(z).data(), 2, n);  // unit ε: x starts at σ_max ε (t = 0: ε)
  const std::string drawn = fmt::format("{} {}, {} NFE", sampler, steps, nfe);
  write_samples_png(out + "/samples.png", x, data_a, model_name + ": " + drawn, "samples");
  // σ-models start at σ_max z, far outside the data's box: show the states from σ <= σ_d on.
  std::vector<be::matrix> shown;
  std::size_t from = 0;
  if constexpr (is_denoiser)
    while (from + 1 < trajectory.size() && (1 - times[from]) * model.schedule().sigma_max > model.schedule().sigma_data)
      ++from;
  const index_t m = std::min<index_t>(n, 400);
  for (std::size_t k = from; k < trajectory.size(); ++k) {
    shown.emplace_back(2, m);
    be::copy(be::const_view(trajectory[k].data(), 2, m), shown.back());
  }
  std::string first_state = "t = 0 (noise)";
  if constexpr (is_denoiser) first_state = fmt::format("sigma = {:.2g}", (1 - times[from]) * model.schedule().sigma_max);
  write_trajectory_png(out + "/trajectory.png", shown, data_a, /*box_from_first=*/false, model_name + ": " + drawn,
                       first_state, "sample");
  std::printf("idemgen: %s with %s, %d NFE (data vs data %.4g); wrote %s\n", main.summary().c_str(), sampler.c_str(),
              nfe, evaluation::mmd2_unbiased<be>(data_b, data_a), out.c_str());
  return 0;
}

std::string default_sampler(const std::string& method) { return find_method(method).samplers.front(); }
int default_steps(const std::string& method) { return find_method(method).default_sample_steps; }

}  // namespace

int train_noised(const options& o) {
  const data::dataset& dataset = o.data;
  const noised_config c{o.method, o.dataset, o.activation, o.width, o.depth, o.cond_dim, o.fourier_scale,
                       o.sigma_data > 0 ? o.sigma_data : data_std(dataset, o.seed)};
  const std::string sampler = o.sampler.empty() ? default_sampler(o.method) : o.sampler;
  const int steps = o.sample_steps > 0 ? o.sample_steps : default_steps(o.method);
  // --sampler was checked against the method when the command line was parsed (main.cpp).
  // LMM samples over its teacher's grid: --teacher-steps, or the stored pairs' (read before training).
  const int grid_points = o.method == "lmm" ? lmm_grid_points(o) : 18;
  check_grid_steps("--sample-steps", sampler, steps, grid_points);
  const auto outputs = [&](const auto& model, const trained& t) {
    return write_outputs(model, find_method(o.method), dataset, o.samples, sampler, steps, grid_points, o.seed, o.out,
                         {{"method", o.method}, {"coupling", coupling_of(o)}, {"device", o.device}, {"steps", t.report.steps},
                          {"train_seconds", t.report.seconds}, {"coupling_seconds", t.report.coupling_seconds},
                          {"recoveries", t.report.recoveries}, {"sigma_data", c.sigma_data}},
                         fmt::format("{} on {}, step {}", o.method, o.dataset, t.report.steps));
  };
  // Train on the chosen backend; sample (eval.csv during training, outputs after) on the CPU.
  const auto train_with = [&](auto& host) {
    const host_sampler sample = [&](const std::vector<float>& parameters, be::const_view z, be::view out) {
      load_parameters(host, parameters);
      draw(host, sampler, steps, z, out, o.seed, nullptr, nullptr, grid_points);
    };
    const trained t = o.device == "cuda" ? train_noised_cuda(o, c, sample) : train_noised_on<be>(o, c, sample);
    if (!is_output_rank()) return 0;  // --distributed: rank 0 writes the outputs
    load_parameters(host, t.parameters);
    return outputs(host, t);
  };
  if (find_method(o.method).family == model_family::velocity) {
    velocity_t vel(make_noised_net<be>(c, random_stream(0)));
    return train_with(vel);
  }
  denoiser_t den(make_noised_net<be>(c, random_stream(0)), make_karras(c.sigma_data));
  return train_with(den);
}

int sample_noised(const io::safetensors& file, const std::string& checkpoint, index_t n, int steps,
                  const std::string& sampler_arg, const std::string& weights, std::uint64_t seed, const std::string& out,
                  const std::string& config, bool save_noise) {
  const auto& md = file.metadata;
  const auto integer = [&](const char* key) { return static_cast<index_t>(train::metadata_integer(md, key, checkpoint, 1)); };
  const noised_config c = config_of(md, checkpoint);
  const data::dataset dataset = data::dataset::parse(c.dataset);
  const std::string sampler = sampler_arg.empty() ? default_sampler(c.method) : sampler_arg;
  if (!find_method(c.method).accepts_sampler(sampler))
    usage_error("--sampler: " + sampler + " does not apply to a " + c.method + " checkpoint");
  if (steps <= 0) steps = default_steps(c.method);
  const int grid_points = c.method == "lmm" ? static_cast<int>(integer("teacher_steps")) : 18;
  check_grid_steps("--steps", sampler, steps, grid_points);  // before anything is written
  const auto head = [&](bool ema) {
    return io::ordered_json{{"method", c.method}, {"checkpoint", checkpoint}, {"weights", ema ? "ema" : "raw"}};
  };
  if (find_method(c.method).family == model_family::velocity) {
    velocity_t vel(make_noised_net<be>(c, random_stream(0)));
    const bool ema = train::load_weights(file, vel, checkpoint, weights == "ema");
    start_output_directory(out, config);
    return write_outputs(vel, find_method(c.method), dataset, n, sampler, steps, grid_points, seed, out, head(ema),
                         fmt::format("{} on {}, step {}", c.method, c.dataset, train::metadata_string(md, "step", checkpoint)),
                         save_noise);
  }
  denoiser_t den(make_noised_net<be>(c, random_stream(0)), make_karras(c.sigma_data));
  const bool ema = train::load_weights(file, den, checkpoint, weights == "ema");
  start_output_directory(out, config);
  return write_outputs(den, find_method(c.method), dataset, n, sampler, steps, grid_points, seed, out, head(ema),
                         fmt::format("{} on {}, step {}", c.method, c.dataset, train::metadata_string(md, "step", checkpoint)),
                         save_noise);
}

}  // namespace idemgen::cli
