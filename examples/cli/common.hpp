#pragma once
// Shared pieces of the `idemgen` command-line program (examples/cli/): the options, command-line
// parsing, sample-quality measurements and pictures, and the training loop with its periodic
// evaluation. One-step methods (IGN, NAIGN) live in one_step.cpp, noised methods (diffusion,
// CDM, flow matching) in noised.cpp.

#include <boost/program_options.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "idemgen/data/toy.hpp"
#include "idemgen/idemgen.hpp"
#include "idemgen/io/safetensors.hpp"
#include "idemgen/train/trainer.hpp"

namespace idemgen::cli {

namespace po = boost::program_options;
using be = backend::cpu<float>;

struct options {
  std::string method = "naign", dataset = "grid25", out, activation = "relu";
  long steps = 4000, log_every = 50, eval_every = 0;
  index_t batch = 512, width = 256, depth = 3, samples = 2500;
  double lr = 1e-3, imle_ratio = 10, clip = 0, ema = -1, tight_weight = 0.1, tight_clamp = 0;
  std::uint64_t seed = 0;
  int threads = 2;
  // Noised methods (diffusion, cdm, fm).
  std::string sampler;        // empty: heun (diffusion, cdm) or euler (fm)
  int sample_steps = 0;       // 0: 18 (diffusion, cdm) or 100 (fm)
  double sigma_data = 0;      // 0: the data's standard deviation (ALGORITHMS Part B trap 8)
  double cdm_weight = 10, cdm_epsilon = 0.05;
  index_t cond_dim = 32;
  double fourier_scale = 2.0;
};

bool is_noised(const std::string& method);
[[noreturn]] void usage_error(const std::string& message);
/// Parses argv against `desc`; --help prints it and exits 0, errors exit 2 with one line.
void parse_or_exit(const po::options_description& desc, int argc, char** argv);
std::vector<double> to_host(be::const_view v);

/// MMD², sliced W2 and (for mixture datasets) mode coverage of samples against data.
struct sample_quality {
  double mmd2 = 0, sliced_w2 = 0;
  int modes = 0, modes_hit = 0, modes_balanced = 0;
  double high_quality = 0;
  std::string json() const;     // "\"mmd2\": …, …" (no braces)
  std::string summary() const;  // "MMD² … , modes …/…"
};
sample_quality measure(be::const_view samples, be::const_view data, data::toy dataset);

/// Scatter pictures: samples (red) over data (grey), and a sequence of states from light to dark.
void write_samples_png(const std::string& path, be::const_view samples, be::const_view data);
void write_trajectory_png(const std::string& path, const std::vector<be::matrix>& states, be::const_view data,
                          bool box_from_first);

/// A fixed evaluation set (z and data, drawn from the seed) for the periodic eval.csv curve.
struct eval_set {
  be::matrix z, data;
  eval_set(std::uint64_t seed, data::toy dataset, index_t n);
};

/// The training loop with log.csv and, when o.eval_every > 0, eval.csv rows from `sample`
/// (which writes 1000 samples from the fixed z); then saves DIR/model.safetensors.
template <class Generator>
train::training_report train_and_save(Generator& gen, const options& o, const std::function<void(be::const_view, be::view)>& sample,
                                      const std::vector<std::pair<std::string, std::string>>& metadata);

int train_one_step(const options& o);
int train_noised(const options& o);
int sample_one_step(const io::safetensors& file, const std::string& checkpoint, index_t n, int steps,
                    const std::string& weights, std::uint64_t seed, const std::string& out);
int sample_noised(const io::safetensors& file, const std::string& checkpoint, index_t n, int steps,
                  const std::string& sampler, const std::string& weights, std::uint64_t seed, const std::string& out);

}  // namespace idemgen::cli

#include "cli/train_and_save.hpp"
