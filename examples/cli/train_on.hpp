#pragma once
// The training half of `idemgen train`, written once for any backend: the options, and
// train_and_save, which runs the trainer on the generator's own backend (CPU, or CUDA with
// --device cuda) and hands back the trained weights as host floats. Everything after training
// (sampling for pictures and metrics) runs on the CPU from those weights. No Boost here: the CUDA
// translation unit (cuda_train.cu) includes this file through nvcc.

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "idemgen/backend/cpu.hpp"
#include "idemgen/couplings/ot_pool.hpp"
#include "idemgen/data/dataset.hpp"
#include "idemgen/distributed/data_parallel.hpp"
#include "idemgen/io/json.hpp"
#include "idemgen/io/output_directory.hpp"
#include "idemgen/models/generator.hpp"
#include "idemgen/train/checkpoint.hpp"
#include "idemgen/train/trainer.hpp"

namespace idemgen::cli {

using be = backend::cpu<float>;

struct options {
  std::string method = "naign", dataset = "grid25", out, activation = "relu", lr_schedule = "constant";
  std::string device = "cpu";  // cpu or cuda: where training runs
  long steps = 0, log_every = 50, eval_every = 0, warmup = 0;
  index_t batch = 512, width = 256, depth = 3;
  index_t samples = 0;  // 0: the method's default (main.cpp), so that a --resume replays 0, not a resolved value
  double lr = 1e-3, imle_ratio = 10, clip = 0, ema = -1, tight_weight = 0.1, tight_clamp = 0;
  std::uint64_t seed = 0;
  int threads = 2;
  // Noised methods (diffusion, cdm, fm).
  std::string sampler;        // empty: heun (diffusion, cdm) or euler (fm)
  int sample_steps = 0;       // 0: 18 (diffusion, cdm) or 100 (fm)
  double sigma_data = 0;      // 0: the data's standard deviation (EDM tunes σ_data for images)
  double cdm_weight = 10, cdm_epsilon = 0.05;
  // LMM: the teacher ("mixture:DATASET", the analytic denoiser; empty: the --dataset's) and its
  // Heun grid points (18: EDM's 35-NFE sampler).
  std::string teacher, pairs;  // pairs: a pair file (idemgen pairs) instead of online pairs
  int teacher_steps = 18;
  bool sot = false;  // LMM: sampling-optimised training, σ only on the sampler's index set
  // SIGN: the grid's σ_max (also the source scale: f generates from σ_max ε), the flow and
  // denoise weights λ_f, λ_n, and the idempotence routing (eq4, or printed: SIGN Alg. 1 l. 10).
  double sigma_max = 80, flow_weight = 1, denoise_weight = 1;
  std::string idem = "eq4";
  // Couplings (methods.hpp lists which method accepts which; empty: the method's default).
  std::string coupling;
  std::string from;       // --coupling reflow: the previous flow's fm checkpoint
  int reflow_steps = 100; // its Euler steps per pair
  double ot_ratio = 1, sinkhorn_epsilon = 0.05;
  bool distributed = false;      // --distributed: one rank of `mpirun -np P idemgen train`
  bool global_coupling = false;  // --global-coupling: IMLE/OT search over every rank's candidates
  index_t ot_batch = 0;  // ot, sinkhorn: data points per solve (0: --batch, the in-step coupling)
  int ot_passes = 1;     // ot, sinkhorn: times each solved batch is served (plan reuse)
  // Images (an image --dataset): the conv_net's or unet's widths (conv for the one-step methods,
  // unet for the noised ones), and IGN's idempotence weight (-1: 1 on points, NAIGN's image
  // baseline 0.125 on images).
  std::string net = "auto", channels = "32,64,64";
  double idem_weight = -1;
  index_t cond_dim = 0;       // 0: 32 on points, 64 on images
  double fourier_scale = 0;   // 0: 2 on points, 16 on images (EDM App. F.2)
  bool force = false;   // --force: replace an earlier run's files in --out
  bool resume = false;  // --resume DIR: continue the run in out (= DIR) from its model.safetensors
  long checkpoint_every = 1000;  // DIR/model.safetensors every N steps (0: at the end only)
  std::string config;   // config.json: every option of the command line, defaults included
  std::string model_config;  // the checkpoint's "config": the same without --out, --resume, --force
  data::dataset data;   // --dataset, read once when the command line is checked (a CSV file is not read again)
};

/// loss.png from a run's log.csv: the total loss against the step (log10 when every value is
/// positive). common.cpp.
void write_loss_curve_png(const std::string& log_csv, const std::string& path, const std::string& title);

/// The ranks of `mpirun -np P idemgen train --distributed` (set by main; null otherwise).
inline distributed::collective* communicator = nullptr;
/// Rank 0 (or a single process): the one that writes files and prints.
inline bool is_output_rank() { return communicator == nullptr || communicator->rank() == 0; }

bool is_noised(const std::string& method);
/// The multistep samplers' index set of K grid points (LMM, SIGN Alg. 3): LMM Table 7's {0},
/// {0, 1}, {0, 3, 5}, {0, 1, 3, 5} for K <= 4, else K points spread over the grid.
std::vector<int> lines_indices(int k, int grid_points);
/// The --coupling in force: as given, or the method's default.
std::string coupling_of(const options& o);
/// The coupling's settings as checkpoint metadata.
std::vector<std::pair<std::string, std::string>> coupling_metadata(const options& o);
/// The generator's optimiser, lr schedule (--lr-schedule, --warmup), clipping, EMA and seed.
models::generator_options generator_options_for(const options& o, double ema_decay);

/// MMD², sliced W2 and (for mixture datasets) mode coverage of samples against data.
struct sample_quality {
  double mmd2 = 0, sliced_w2 = 0;
  int modes = 0, modes_hit = 0, modes_balanced = 0;
  double high_quality = 0;
  io::ordered_json json() const;  // {"mmd2": …, "sliced_w2": …, and the modes for mixtures}
  std::string summary() const;  // "MMD² … , modes …/…"
};
sample_quality measure(be::const_view samples, be::const_view data, const data::dataset& dataset);

/// A fixed evaluation set (z and data, drawn from the seed) for the periodic eval.csv curve.
struct eval_set {
  be::matrix z, data;
  eval_set(std::uint64_t seed, const data::dataset& dataset, index_t n);
};

/// Draws samples into `out` (host) from z with a model holding `parameters` (host floats): the
/// command's own sampler, run on the CPU whichever backend trains.
using host_sampler = std::function<void(const std::vector<float>& parameters, be::const_view z, be::view out)>;

/// What training hands back: the weights the outputs use (the EMA when kept) and the report.
struct trained {
  std::vector<float> parameters;
  train::training_report report;
};

/// Writes host floats (as train_and_save hands them back) into a network of any backend.
template <class Net>
void load_parameters(Net& net, const std::vector<float>& parameters) {
  auto p = net.parameters();
  idemgen::detail::require_dim("cli::load_parameters", "parameters", "size", p.size(),
                               static_cast<index_t>(parameters.size()));
  Net::backend_type::copy_from_host(parameters.data(), p);
}

/// A periodic evaluation for eval.csv other than the 2-D one (MMD², modes): its header line and
/// one row (without the step) from the current weights as host floats.
struct periodic_evaluation {
  std::string header;
  std::function<std::string(const std::vector<float>& parameters)> row;
};

/// Thrown by train_and_save when SIGINT or SIGTERM ended training: the checkpoint of `step` is
/// saved; main exits 128 + signal.
struct interrupted {
  long step;
  int signal;
  std::string out;
};

/// The signal that asked training to stop (0: none); set by the handler train_and_save installs.
inline volatile std::sig_atomic_t stop_signal = 0;
extern "C" inline void request_stop(int signal) { stop_signal = signal; }

/// --ot-batch > --batch or --ot-passes > 1: the OT coupling is solved outside the step, once
/// every (ot_batch / batch) · passes steps (coupling::ot_pool).
inline bool uses_ot_pool(const options& o) { return (o.ot_batch != 0 && o.ot_batch != o.batch) || o.ot_passes != 1; }

template <class Generator, class NextBatch>
train::training_report train_on_pool(Generator& gen, const options& o, NextBatch& next_batch,
                                     const train::trainer_options& loop) {
  using B = typename Generator::backend_type;
  const coupling::pool_options pool_options = {
      .steps_per_solve = static_cast<int>((o.ot_batch == 0 ? o.batch : o.ot_batch) / o.batch),
      .passes = o.ot_passes,
      .candidates_per_sample = o.ot_ratio,
      .sinkhorn_options = {.epsilon = o.sinkhorn_epsilon}};
  if constexpr (metric::transport_cost<std::remove_cvref_t<decltype(gen.metric())>, B>) {
    if (coupling_of(o) == "sinkhorn") {
      coupling::ot_pool<B, coupling::sinkhorn> pool(o.batch, pool_options);
      return train::train_pooled(gen, pool, next_batch, loop);
    }
    coupling::ot_pool<B> pool(o.batch, pool_options);
    return train::train_pooled(gen, pool, next_batch, loop);
  } else {
    throw invalid_argument("--ot-batch", o.method, "a method whose metric is a transport cost", "another metric");
  }
}

/// The training loop every method shares, on the generator's backend: log.csv and, when
/// o.eval_every > 0, eval.csv rows from 1000 samples of `sample` on a fixed z (or `custom`'s
/// rows when given); then
/// DIR/model.safetensors (weights, optimiser state, EMA, step, both random streams, options as
/// metadata), also every o.checkpoint_every steps and when SIGINT/SIGTERM stops the run. With
/// o.resume the run continues from DIR/model.safetensors, bit for bit as if never stopped.
template <class Generator>
trained train_and_save(Generator& gen, const options& o, const host_sampler& sample,
                       const std::vector<std::pair<std::string, std::string>>& metadata,
                       const periodic_evaluation* custom = nullptr) {
  using B = typename Generator::backend_type;
  const data::dataset& dataset = o.data;
  data::dataset_sampler<B> sampler(dataset);
  random_stream data_rng = random_stream(o.seed).split(1);
  train::metadata meta = {{"method", o.method},
                          {"dataset", o.dataset},
                          {"width", std::to_string(o.width)},
                          {"depth", std::to_string(o.depth)},
                          {"activation", o.activation},
                          {"lr", fmt::format("{}", o.lr)},
                          {"lr_schedule", o.lr_schedule},
                          {"warmup", std::to_string(o.warmup)},
                          // The global batch: --batch times the ranks under --distributed.
                          {"batch", std::to_string(o.batch * (communicator ? communicator->size() : 1))},
                          {"seed", std::to_string(o.seed)},
                          {"device", o.device}};
  for (const auto& [k, v] : metadata) meta[k] = v;
  const std::string checkpoint_path = o.out + "/model.safetensors";
  if (o.resume) {
    // Everything that shapes the run must be what it was (checked first: the option a user
    // changed is named, not the network description it changes); the step count may grow.
    const train::metadata saved = io::read_safetensors(checkpoint_path).metadata;
    for (const auto& [key, value] : meta) {
      const auto it = saved.find(key);
      if (it == saved.end() || it->second != value)
        throw invalid_argument("--resume", o.out, fmt::format("'{}' = {} (this command line)", key, value),
                               it == saved.end() ? "none in the checkpoint" : it->second + " in the checkpoint");
    }
    train::load_checkpoint(checkpoint_path, gen);
    if (gen.steps() >= o.steps)
      throw invalid_argument("--steps", std::to_string(o.steps), fmt::format("more than the run's {} steps", gen.steps()),
                             std::to_string(o.steps));
    data_rng = random_stream(data_rng.seed(), train::metadata_unsigned(saved, "data_rng_next_block", checkpoint_path));
  }
  const bool writes = is_output_rank();  // under --distributed only rank 0 writes files and prints
  if (writes) {
    io::create_output_directory(o.out);
    io::write_atomically(o.out + "/config.json", [&](std::ostream& s) { s << o.config; });
  }
  if (writes)
    std::printf("idemgen: %s %s on %s %s %ld steps (batch %ld, %s) on %s\n", o.resume ? "resuming" : "training",
                o.method.c_str(), o.dataset.c_str(), o.resume ? fmt::format("from step {} to", gen.steps()).c_str() : "for",
                o.steps, static_cast<long>(o.batch),
                (o.net == "conv" ? "conv_net " + o.channels : o.net == "unet" ? "unet " + o.channels : fmt::format("width {} x {}", o.width, o.depth)).c_str(), B::name);
  const auto save = [&] {
    train::metadata m = meta;
    m["data_rng_next_block"] = std::to_string(data_rng.next_block());
    m["config"] = o.model_config;  // every option, defaults included: loss weights, EMA, clipping, steps
    if (writes) train::save_checkpoint(checkpoint_path, gen, m);
  };
  const auto host_parameters = [&gen] {
    const auto p = gen.net().parameters();
    std::vector<float> h(static_cast<std::size_t>(p.size()));
    B::copy_to_host(p, h.data());
    return h;
  };
  // Periodic evaluation on a fixed z and fixed data, so the curve shows the model, not the draw.
  std::ofstream eval_log;
  std::optional<eval_set> eval;
  be::matrix eval_out(2, 1000);
  if (o.eval_every > 0 && writes) {
    if (custom == nullptr) eval.emplace(o.seed, dataset, 1000);
    eval_log.open(o.out + "/eval.csv", o.resume ? std::ios::app : std::ios::trunc);
    if (!o.resume) eval_log << (custom ? custom->header : "step,mmd2,modes_hit,modes_balanced,high_quality") << '\n';
  }
  const auto evaluate = [&](long step) {
    if (custom != nullptr) {
      eval_log << step << ',' << custom->row(host_parameters()) << '\n' << std::flush;
      return;
    }
    sample(host_parameters(), eval->z, eval_out);
    const auto q = measure(eval_out, eval->data, dataset);
    eval_log << step << ',' << q.mmd2;
    if (q.modes > 0)
      eval_log << ',' << q.modes_hit << ',' << q.modes_balanced << ',' << q.high_quality;
    else
      eval_log << ",,,";
    eval_log << '\n' << std::flush;
  };
  stop_signal = 0;
  const auto previous_int = std::signal(SIGINT, request_stop), previous_term = std::signal(SIGTERM, request_stop);
  const train::trainer_options loop = {.steps = o.steps, .log_every = o.log_every,
                                       .log_path = writes ? o.out + "/log.csv" : std::string(),
                                       .progress = writes, .evaluate_every = writes ? o.eval_every : 0,
                                       .evaluate = evaluate, .checkpoint_every = o.checkpoint_every,
                                       .checkpoint = [&](long) { save(); }, .append_log = o.resume,
                                       .stop = &stop_signal};
  const auto next_batch = [&](typename B::view x) { sampler.sample(x, data_rng); };
  const auto report = [&] {
    if (communicator != nullptr) {
      // Rank 0's weights everywhere, each rank its part of every batch (the streams sharded after
      // a resume has set their position), one deterministic all-reduce a step.
      distributed::data_parallel<Generator, distributed::collective> dp(
          gen, *communicator, o.global_coupling ? distributed::coupling_scope::global : distributed::coupling_scope::per_rank);
      dp.shard(data_rng);
      const auto r = train::train_data_parallel(dp, o.batch, next_batch, loop);
      if (writes)
        std::printf("idemgen: %d ranks; the all-reduce took %.3g s of %.3g s (%.1f%%), %zu values a step\n",
                    dp.size(), dp.communication_seconds(), r.seconds, 100 * dp.communication_seconds() / r.seconds,
                    static_cast<std::size_t>(gen.net().parameter_count() + Generator::term_count + 1));
      return r;
    }
    return uses_ot_pool(o) ? train_on_pool(gen, o, next_batch, loop) : train::train(gen, o.batch, next_batch, loop);
  }();
  std::signal(SIGINT, previous_int);
  std::signal(SIGTERM, previous_term);
  save();
  if (writes) write_loss_curve_png(o.out + "/log.csv", o.out + "/loss.png", o.method + " on " + o.dataset);
  if (report.interrupted) throw interrupted{gen.steps(), static_cast<int>(stop_signal), o.out};
  if (gen.has_ema()) gen.ema().copy_to(gen.net().parameters());
  return {host_parameters(), report};
}

/// --device cuda: fails with a usage error (exit 2, nothing written) when this build has no CUDA
/// backend or the machine no usable device; otherwise returns the device's name.
std::string require_cuda_device();
/// Training on backend::cuda<float> (cuda_train.cu; a build without CUDA never calls them).
trained train_one_step_cuda(const options& o, const host_sampler& sample);
struct noised_config;
trained train_noised_cuda(const options& o, const noised_config& c, const host_sampler& sample);

}  // namespace idemgen::cli
