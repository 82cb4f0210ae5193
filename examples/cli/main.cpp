// idemgen — the command-line program: train a model on toy data, or sample a trained model
// again, and write samples, pictures, a log and metrics.
//
//   idemgen train --method naign --dataset grid25 --steps 4000 --out out/naign_grid25
//   idemgen train --method naign --coupling ot --out out/ot_naign_grid25
//   idemgen train --method fm --coupling ot --dataset moons --out out/otcfm_moons
//   idemgen train --method fm --coupling reflow --from out/fm_moons/model.safetensors --out out/2rf_moons
//   idemgen couple --source A.csv --target B.csv --method exact --out pairs.csv
//   idemgen pairs --teacher mixture:grid25 --n 200000 --out pairs.safetensors
//   idemgen train --method diffusion --dataset grid25 --out out/edm_grid25
//   idemgen train --method sign --teacher mixture:grid25 --out out/sign_grid25
//   idemgen train --method naign --device cuda --batch 4096 --out out/naign_gpu
//   idemgen sample --checkpoint out/edm_grid25/model.safetensors --sampler heun --steps 18 --out DIR2
//   idemgen train --method naign --dataset fashion-mnist --batch 64 --steps 5000 --out out/naign_fmnist
//   idemgen restore --checkpoint out/naign_fmnist/model.safetensors --degrade noise:0.5 --degrade lines --out DIR3
//
// train writes DIR/samples.csv, DIR/samples.png (samples over data), DIR/trajectory.png,
// DIR/log.csv (every term every --log-every steps), DIR/metrics.json and DIR/model.safetensors
// (weights, AdamW state, EMA, step, random stream, options). One-step methods (ign, naign,
// naign-minus) sample f(z) and its recursive applications; noised methods (diffusion, cdm, fm)
// sample with an ODE/SDE sampler and add a samples-vs-NFE table, straightness and (diffusion,
// cdm) CDM's consistency error to metrics.json. On an image --dataset (fashion-mnist,
// mnist-idx:DIR, folder:DIR) the one-step methods train nn::conv_net with the ℓ1 distance and
// write image grids, the FLD, coverage and density (NAIGN Table 1) and restoration scores
// (Table 2) instead (cli/images.cpp). A rejected command line exits with code 2 and a one-line
// message, and writes nothing.

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <new>
#include <optional>
#include <string_view>

#include "cli/common.hpp"
#include "idemgen/io/output_directory.hpp"
#if defined(IDEMGEN_CLI_MPI)
#include "idemgen/distributed/mpi_communicator.hpp"
#endif

using namespace idemgen;
using namespace idemgen::cli;

namespace {

/// Refuses a --out that is a file or holds an earlier run (exit 2); with --force, removes that
/// run's files.
void claim_output_or_exit(const std::string& out, bool force) {
  try {
    io::claim_output_directory(out, force);
  } catch (const error& e) {
    usage_error("--out " + out + ": expected " + e.expected() + ", got " + e.actual());
  }
}

/// Refuses sizes whose buffers this machine cannot hold, before anything is allocated: the
/// widest batch a step sends through the net (N times the candidates a data point of IMLE or
/// mini-batch OT), its float activations, caches and gradients for f and f(f(·)), and the
/// candidate-to-data cost matrix in double. An estimate within a small factor, not a bound.
void require_memory(const options& o) {
  const double machine = static_cast<double>(::sysconf(_SC_PHYS_PAGES)) * static_cast<double>(::sysconf(_SC_PAGE_SIZE));
  if (const data::image_set* images = o.data.images()) {
    // conv_net: about 6 c₀·H·W activations an image, kept twice (pre- and post-activation) in
    // float, for the widest pass (IMLE's candidates), f and f(f(·)); evaluation goes 500 at a time.
    // unet: about 40 c₀·H·W floats an image (its blocks' caches and backward workspaces), for up
    // to 3 calls a step (CDM) and 250 images at a time in evaluation.
    // SIGN's unet: about 5 calls a step (rec, idem, flow's two, the teacher's), 500 images at a
    // time in evaluation.
    const bool unet = o.net == "unet";
    const double columns = o.method == "sign" ? 5.0 * static_cast<double>(o.batch) + 500
                           : unet             ? 3.0 * static_cast<double>(o.batch) + 250
                                : (o.method == "ign" ? 1.0 : o.imle_ratio) * static_cast<double>(o.batch) + 500;
    const double c0 = static_cast<double>(nn::parse_conv_widths(o.channels).front());
    const double need = 4.0 * (unet ? 40 : 2 * 2 * 6) * columns * c0 * static_cast<double>(images->shape.height * images->shape.width);
    if (machine > 0 && need > machine)
      usage_error(fmt::format("--batch {} with --channels {}: need about {:.1f} GiB, this machine has {:.1f} GiB", o.batch,
                              o.channels, need / (1 << 30), machine / (1 << 30)));
    return;
  }
  const std::string coupling = coupling_of(o);
  const double candidates = coupling == "nearest" ? o.imle_ratio : (coupling == "ot" || coupling == "sinkhorn") ? o.ot_ratio : 1;
  const double solved = static_cast<double>(o.ot_batch > o.batch ? o.ot_batch : o.batch);  // data points per solve
  const double columns = candidates * solved;
  const double net_bytes = 32.0 * columns * static_cast<double>(o.width) * static_cast<double>(o.depth + 2);
  const double cost_bytes = 8.0 * columns * solved;
  const double sample_bytes = 16.0 * static_cast<double>(o.samples) * static_cast<double>(o.width + 2);
  const double need = net_bytes + cost_bytes + sample_bytes;
  if (machine > 0 && need > machine)
    usage_error(fmt::format("--batch {} ({} candidates a data point), --width {}, --depth {}, --samples {}: need about "
                            "{:.1f} GiB, this machine has {:.1f} GiB",
                            o.batch, candidates, o.width, o.depth, o.samples, need / (1 << 30), machine / (1 << 30)));
}

options parse_train(int argc, char** argv) {
  options o;
  std::string resume_dir;
  po::options_description desc("idemgen train: train a generator on toy data");
  desc.add_options()("help,h", "show this help")
      ("method", with_default(&o.method), one_of(method_names()).c_str())
      ("coupling", po::value(&o.coupling), coupling_help().c_str())
      ("ot-ratio", with_default(&o.ot_ratio),
       "ot, sinkhorn: source candidates M / N (> 1: a rectangular assignment)")
      ("distributed", po::bool_switch(&o.distributed),
       "data-parallel over MPI: run as `mpirun -np P idemgen train --distributed ...` (--batch is per rank; "
       "on a 2-core machine add --oversubscribe, and --allow-run-as-root as root); rank 0 writes the outputs")
      ("global-coupling", po::bool_switch(&o.global_coupling),
       "--distributed: nearest, ot and sinkhorn search over every rank's candidates (as one process at P x --batch) "
       "instead of each rank's own")
      ("ot-batch", with_default(&o.ot_batch),
       "ot, sinkhorn: data points per solve, a multiple K of --batch (0: --batch); one solve serves K steps")
      ("ot-passes", with_default(&o.ot_passes),
       "ot, sinkhorn: times each solved batch is served (plan reuse); one solve serves K x passes steps")
      ("sinkhorn-epsilon", with_default(&o.sinkhorn_epsilon),
       "sinkhorn: entropic epsilon relative to the mean cost")
      ("from", po::value(&o.from), "reflow: the previous flow (an fm checkpoint) whose ODE makes the pairs (z, ODE(z))")
      ("reflow-steps", with_default(&o.reflow_steps), "reflow: the previous flow's Euler steps per pair")
      ("dataset", with_default(&o.dataset),
       "grid25, 8gaussians, moons, rings, checkerboard, swiss_roll, pinwheel, or csv:FILE (your 2-D points, one a "
       "row; drawn with replacement, and evaluated against the same points); images: fashion-mnist (Debian's "
       "dataset-fashion-mnist), mnist-idx:DIR (an MNIST-style IDX directory), folder:DIR or folder:HxWxC:DIR (PNG/JPEG "
       "files, or class folders of them)")
      ("net", with_default(&o.net),
       "auto (on images conv for ign/naign/naign-minus, unet for diffusion/cdm/fm; mlp on points), mlp, conv or unet")
      ("channels", with_default(&o.channels), "images: conv_net widths c0,c1,... (each further width halves H and W)")
      ("idem-weight", with_default(&o.idem_weight),
       "IGN idempotence weight (-1: 1 on points, 0.125 on images as NAIGN's image baseline)")
      ("steps", with_default(&o.steps), "training steps (0: the method's budget, 4000; lmm 20000)")
      ("batch", with_default(&o.batch), "batch size N")
      ("width", with_default(&o.width), "mlp hidden width")
      ("depth", with_default(&o.depth), "mlp hidden layers")
      ("activation", with_default(&o.activation), "relu, silu, gelu, ...")
      ("lr", with_default(&o.lr), "AdamW learning rate (NAIGN's paper: 1e-4 for 100k steps)")
      ("lr-schedule", with_default(&o.lr_schedule),
       "constant, or cosine (decay to 0 over --steps)")
      ("warmup", with_default(&o.warmup), "linear lr warm-up steps")
      ("imle-ratio", with_default(&o.imle_ratio), "naign, naign-minus with --coupling nearest: IMLE candidates M / N")
      ("tight-weight", with_default(&o.tight_weight), "IGN tightness weight")
      ("tight-clamp", with_default(&o.tight_clamp), "IGN tightness clamp ratio a (0 = off)")
      ("clip", with_default(&o.clip),
       "global gradient-norm clip (0 = off; lmm on images: 0 = 1, as RAdam's first, un-rectified steps are momentum "
       "SGD on a loss summed over the pixels)")
      ("ema", with_default(&o.ema),
       "EMA decay of the weights used for the outputs (-1: 0.999 for diffusion, cdm, fm; off otherwise)")
      ("sampler", po::value(&o.sampler), "diffusion, cdm: heun (default), euler, stochastic, sde; fm: euler (default), midpoint; "
       "lmm: multistep (default), lines-euler, heun, euler; sign: recursive (default), multistep")
      ("sample-steps", with_default(&o.sample_steps),
       "sampler steps (0: 18 for diffusion/cdm, i.e. 35 NFE with heun; 100 for fm)")
      ("sigma-data", with_default(&o.sigma_data),
       "EDM's sigma_data (0: the data's standard deviation; P_mean moves by ln(sigma_data/0.5))")
      ("cdm-weight", with_default(&o.cdm_weight), "CDM: consistency weight lambda_c")
      ("cdm-epsilon", with_default(&o.cdm_epsilon), "CDM: sigma' ~ sigma - U[0, epsilon]")
      ("teacher", po::value(&o.teacher),
       "LMM, SIGN: the teacher, mixture:DATASET (the analytic denoiser of a mixture dataset; default: --dataset's) "
       "or a diffusion/cdm checkpoint (its EMA weights; on images a unet one of the same images); SIGN also "
       "empirical (no teacher: consistency training)")
      ("pairs", po::value(&o.pairs), "LMM: train on a pair file of idemgen pairs instead of online teacher pairs; "
       "SIGN: add the regression term on them")
      ("teacher-steps", with_default(&o.teacher_steps),
       "LMM: the teacher's Heun grid points (18 = EDM's 35-NFE sampler); training sigma is uniform over them; "
       "SIGN: the flow term's grid")
      ("sot", po::bool_switch(&o.sot), "LMM: sampling-optimised training, sigma only on the index set of --sample-steps K")
      ("sigma-max", with_default(&o.sigma_max),
       "SIGN: the Karras grid's sigma_max, and the source scale (f generates from sigma_max z)")
      ("flow-weight", with_default(&o.flow_weight), "SIGN: flow weight lambda_f")
      ("denoise-weight", with_default(&o.denoise_weight), "SIGN: denoise weight lambda_n")
      ("idem", with_default(&o.idem),
       "SIGN: idempotence routing, eq4 (SIGN eq. 4) or printed (Alg. 1 l. 10 as printed: trains the outer call)")
      ("cond-dim", with_default(&o.cond_dim), "noised methods: Fourier features of sigma or t (0: 32 on points, 64 on images)")
      ("fourier-scale", with_default(&o.fourier_scale),
       "noised methods: Fourier frequency scale (0: 2 on points, 16 on images as EDM)")
      ("samples", with_default(&o.samples),
       "samples written and evaluated (0: 2500 on points; on images NAIGN's FLD at 10000, 2000 for the noised methods)")
      ("seed", with_default(&o.seed), "random seed")
      ("threads", with_default(&o.threads), "CPU threads")
      ("device", with_default(&o.device),
       "cpu or cuda: where training runs (sampling and metrics run on the CPU)")
      ("log-every", with_default(&o.log_every), "log.csv interval")
      ("eval-every", with_default(&o.eval_every),
       "write MMD² and mode coverage of 1000 samples to eval.csv every N steps (0 = off)")
      ("out", po::value(&o.out)->required(), "output directory (new or empty)")
      ("force", po::bool_switch(&o.force), "replace an earlier run's files in --out (other files are kept)")
      ("checkpoint-every", with_default(&o.checkpoint_every),
       "write --out/model.safetensors every N steps (0: at the end only); SIGINT/SIGTERM also write it")
      ("resume", po::value(&resume_dir),
       "continue the run in DIR from its model.safetensors up to --steps in all (options: DIR/config.json's, "
       "unless given)");
  std::vector<std::string> args = with_resumed_options(argc, argv);
  std::vector<char*> arg_pointers;
  for (std::string& a : args) arg_pointers.push_back(a.data());
  const po::variables_map vm = parse_or_exit(desc, static_cast<int>(arg_pointers.size()), arg_pointers.data());
  o.config = config_json("train", vm);
  // The checkpoint's copy leaves out where the run lives and how it was started, so that a run
  // resumed is the same file as the run never stopped.
  o.model_config = config_json("train", vm, {"out", "resume", "force", "distributed"});
  o.resume = !resume_dir.empty();
  // How the run is launched is this command line's, not config.json's: a run resumes with any
  // number of ranks (the streams' positions are global ones).
  o.distributed = std::find_if(argv, argv + argc, [](const char* a) { return std::string_view(a) == "--distributed"; }) !=
                  argv + argc;
  if (o.resume && std::filesystem::path(o.out).lexically_normal() != std::filesystem::path(resume_dir).lexically_normal())
    usage_error("--out: --resume " + resume_dir + " continues in " + resume_dir + ", got --out " + o.out);
  if (o.resume && !std::filesystem::is_regular_file(resume_dir + "/model.safetensors"))
    usage_error("--resume " + resume_dir + ": expected a run directory with model.safetensors, got none");
  if (o.resume && o.force) usage_error("--force: does not combine with --resume (which keeps the run's files)");
  const method_entry* method = nullptr;
  try {
    method = &find_method(o.method);
  } catch (const error&) {
    usage_error("--method: expected " + one_of(method_names()) + ", got " + o.method);
  }
  if (o.steps == 0) o.steps = method->default_train_steps;
  if (!o.coupling.empty() && !method->accepts_coupling(o.coupling))
    usage_error("--coupling: --method " + o.method + " accepts " + one_of(method->couplings) + ", got " + o.coupling);
  // One check an option, each naming what is allowed; NaN fails every comparison, so each bound
  // is written as !(value within range). The upper bounds keep every buffer addressable (the
  // memory estimate below does the rest).
  require_option(o.ot_ratio >= 1 && o.ot_ratio <= 1000, "--ot-ratio", "a number in [1, 1000]", o.ot_ratio);
  require_option(o.ot_batch >= 0 && o.ot_batch <= (1 << 16), "--ot-batch", "an integer in [0, 2^16]", o.ot_batch);
  require_option(o.ot_passes >= 1 && o.ot_passes <= 1000, "--ot-passes", "an integer in [1, 1000]", o.ot_passes);
  if (o.distributed && communicator == nullptr)
    usage_error("--distributed: this idemgen was built without MPI (Debian: libopenmpi-dev; cmake -DIDEMGEN_WITH_MPI=ON)");
  if (o.global_coupling && !o.distributed) usage_error("--global-coupling: needs --distributed");
  if (o.distributed && o.device == "cuda")
    usage_error("--distributed: runs on the CPU backend only (the NCCL path is not written yet)");
  if (o.distributed && (o.ot_batch != 0 || o.ot_passes != 1))
    usage_error("--distributed: does not combine with --ot-batch or --ot-passes");
  if (o.distributed) {
    // Every rank draws whole Philox blocks of its part of each batch (random_stream::set_shard).
    require_option(o.batch % 4 == 0, "--batch", "a multiple of 4 under --distributed", o.batch);
  }
  if (o.ot_batch != 0 || o.ot_passes != 1) {
    const std::string c = coupling_of(o);
    if (c != "ot" && c != "sinkhorn")
      usage_error("--ot-batch, --ot-passes: need --coupling ot or sinkhorn, got " + c);
  }
  require_option(o.sinkhorn_epsilon > 0 && std::isfinite(o.sinkhorn_epsilon), "--sinkhorn-epsilon",
                 "a finite number > 0", o.sinkhorn_epsilon);
  const bool images = data::dataset::is_image_spec(o.dataset);
  try {
    o.data = data::dataset::parse(o.dataset, images ? 0 : 2);
  } catch (const error& e) {
    if (o.dataset.rfind("csv:", 0) == 0 || images)
      usage_error("--dataset " + o.dataset + ": expected " + e.expected() + ", got " + e.actual());
    usage_error("--dataset: expected one of " + fmt::format("{}", fmt::join(data::toy_names, ", ")) +
                ", csv:FILE, fashion-mnist, mnist-idx:DIR or folder:DIR, got " + o.dataset);
  }
  const bool noised = method->noised();
  const std::string image_net = noised || o.method == "sign" ? "unet" : "conv";  // SIGN §5: a U-Net
  require_option(o.net == "auto" || o.net == (images ? image_net : "mlp"), "--net",
                 images ? "auto or " + image_net + " for --method " + o.method + " on an image --dataset"
                        : std::string("auto or mlp on points (conv and unet take an image --dataset)"),
                 o.net);
  o.net = images ? image_net : "mlp";
  // 0 is the method's default, resolved here (config.json, which --resume replays, keeps the 0).
  // On images NAIGN's FLD protocol takes 10 000 samples; a noised model's 35-NFE sampler makes
  // 2 000 the default there. EDM's noise embedding on images (App. F.2): Fourier features of scale 16.
  if (o.samples == 0) o.samples = !images ? 2500 : noised ? 2000 : 10000;
  if (o.cond_dim == 0) o.cond_dim = images ? 64 : 32;
  if (o.fourier_scale == 0) o.fourier_scale = images ? 16 : 2;
  // LMM's RAdam (LMM Table 6) takes its first ~5 steps as momentum SGD, unnormalised: on a
  // U-Net with a loss summed over 784 pixels the first gradients have norm ~3 000 and the
  // 4e-4 of the paper sent the loss from 328 to 1e7 in 4 steps (measured); a unit clip bounds them.
  if (images && o.method == "lmm" && o.clip == 0) o.clip = 1;
  if (images) {
    if (o.method == "lmm" && o.pairs.empty() &&
        (o.teacher.empty() || o.teacher == "empirical" || o.teacher.rfind("mixture:", 0) == 0))
      usage_error("--teacher: on images lmm takes a diffusion/cdm checkpoint of the same images (or --pairs FILE of "
                  "idemgen pairs from one), got " + (o.teacher.empty() ? std::string("none") : o.teacher));
    if (o.method == "sign") {
      if (o.teacher.empty() || o.teacher.rfind("mixture:", 0) == 0)
        usage_error("--teacher: on images sign takes empirical or a diffusion/cdm checkpoint of the same images, got " +
                    (o.teacher.empty() ? std::string("none") : o.teacher));
      if (o.idem != "eq4") usage_error("--idem " + o.idem + ": on images sign takes eq4 only");
      if (!o.sampler.empty() && o.sampler != "recursive")
        usage_error("--sampler " + o.sampler + ": on images sign's outputs are f(x_T) and f(f(x_T)) (recursive)");
    }
    const std::string c = coupling_of(o);
    if (!noised && c != "independent" && c != "nearest")
      usage_error("--coupling " + c + ": on images nearest (IMLE) only; ot and sinkhorn price pairs in l2, "
                  "the one-step image models use l1");
    if (c == "reflow") usage_error("--coupling reflow: trains on points only for now");
    if (o.device != "cpu" || o.distributed)
      usage_error("--dataset " + o.dataset + ": image models train on one CPU process for now (no --device cuda, no "
                  "--distributed)");
    try {
      const data::image_shape& shape = o.data.images()->shape;
      const std::vector<index_t> widths = nn::parse_conv_widths(o.channels);
      if (o.net == "unet")
        nn::unet<be>({.channels_in = shape.channels, .height = shape.height, .width = shape.width, .channels = widths,
                      .cond = {.dim = 2}},
                     random_stream(0));
      else
        nn::conv_net<be>({.channels_in = shape.channels, .height = shape.height, .width = shape.width, .channels = widths},
                         random_stream(0));
    } catch (const error& e) {
      usage_error("--channels " + o.channels + ": expected " + e.expected() + ", got " + e.actual());
    }
  }
  try {
    nn::parse_activation(o.activation);
  } catch (const error& e) {
    usage_error("--activation: expected " + e.expected() + ", got " + o.activation);
  }
  require_option(o.eval_every >= 0, "--eval-every", "an integer >= 0", o.eval_every);
  require_option(o.warmup >= 0, "--warmup", "an integer >= 0", o.warmup);
  require_option(o.device == "cpu" || o.device == "cuda", "--device", "cpu or cuda", o.device);
  require_option(o.lr_schedule == "constant" || o.lr_schedule == "cosine", "--lr-schedule", "constant or cosine",
                 o.lr_schedule);
  require_option(o.steps > 0 && o.steps <= 1'000'000'000, "--steps", "an integer in [1, 10^9]", o.steps);
  require_option(o.batch > 1 && o.batch <= (1 << 20), "--batch", "an integer in [2, 2^20]", o.batch);
  require_option(o.width > 0 && o.width <= (1 << 14), "--width", "an integer in [1, 2^14]", o.width);
  require_option(o.depth > 0 && o.depth <= 64, "--depth", "an integer in [1, 64]", o.depth);
  require_option(o.samples > 1 && o.samples <= (1 << 22), "--samples", "an integer in [2, 2^22]", o.samples);
  require_option(o.log_every > 0, "--log-every", "an integer > 0", o.log_every);
  require_option(o.threads > 0 && o.threads <= 1024, "--threads", "an integer in [1, 1024]", o.threads);
  require_option(o.lr > 0 && std::isfinite(o.lr), "--lr", "a finite number > 0", o.lr);
  require_option(o.imle_ratio >= 1 && o.imle_ratio <= 1000, "--imle-ratio", "a number in [1, 1000]", o.imle_ratio);
  require_option(o.clip >= 0 && std::isfinite(o.clip), "--clip", "a finite number >= 0 (0: off)", o.clip);
  require_option((o.ema >= 0 && o.ema < 1) || o.ema == -1, "--ema", "a decay in [0, 1), or -1 (the method's default)",
                 o.ema);
  require_option(o.tight_weight >= 0 && std::isfinite(o.tight_weight), "--tight-weight", "a finite number >= 0",
                 o.tight_weight);
  require_option(o.tight_clamp >= 0 && std::isfinite(o.tight_clamp), "--tight-clamp", "a finite number >= 0 (0: off)",
                 o.tight_clamp);
  require_option(o.idem_weight == -1 || (o.idem_weight >= 0 && std::isfinite(o.idem_weight)), "--idem-weight",
                 "a finite number >= 0, or -1 (the default)", o.idem_weight);
  require_option(o.teacher_steps >= 2 && o.teacher_steps <= 10000, "--teacher-steps", "an integer in [2, 10000]",
                 o.teacher_steps);
  if (coupling_of(o) == "reflow" && o.from.empty()) usage_error("--coupling reflow needs --from FM_CHECKPOINT");
  require_option(o.reflow_steps >= 1 && o.reflow_steps <= 100000, "--reflow-steps", "an integer in [1, 100000]",
                 o.reflow_steps);
  if (coupling_of(o) != "reflow" && !o.from.empty()) usage_error("--from applies to --coupling reflow");
  if (coupling_of(o) == "reflow" && o.device == "cuda")
    usage_error("--coupling reflow: trains on the CPU only for now (--device cpu)");
  if ((o.method == "lmm" || o.method == "sign") && o.device == "cuda")
    usage_error("--method " + o.method + ": trains on the CPU only for now (--device cpu)");
  require_option(o.sigma_max > 0 && std::isfinite(o.sigma_max), "--sigma-max", "a finite number > 0", o.sigma_max);
  require_option(o.flow_weight >= 0 && std::isfinite(o.flow_weight), "--flow-weight", "a finite number >= 0",
                 o.flow_weight);
  require_option(o.denoise_weight >= 0 && std::isfinite(o.denoise_weight), "--denoise-weight", "a finite number >= 0",
                 o.denoise_weight);
  require_option(o.idem == "eq4" || o.idem == "printed", "--idem", "eq4 or printed", o.idem);
  require_option(o.cdm_weight >= 0 && std::isfinite(o.cdm_weight), "--cdm-weight", "a finite number >= 0", o.cdm_weight);
  if (!o.pairs.empty() && o.method != "lmm" && o.method != "sign") usage_error("--pairs applies to --method lmm or sign");
  if (o.sot && o.method != "lmm") usage_error("--sot applies to --method lmm");
  if (o.method == "sign" && o.sampler == "multistep" && o.sample_steps > o.teacher_steps)
    usage_error("--sample-steps: multistep takes at most the grid's --teacher-steps points");
  if (!o.sampler.empty() && method->samplers.empty())
    usage_error("--sampler: --method " + o.method + " has no sampler choice (it samples f^k(z)), got " + o.sampler);
  if (!o.sampler.empty() && !method->accepts_sampler(o.sampler))
    usage_error("--sampler: expected " + one_of(method->samplers) + " for --method " + o.method + ", got " + o.sampler);
  require_option(o.sample_steps >= 0 && o.sample_steps <= 100000, "--sample-steps", "an integer in [0, 100000]",
                 o.sample_steps);
  require_option(o.sigma_data >= 0 && std::isfinite(o.sigma_data), "--sigma-data", "a finite number >= 0 (0: the data's)",
                 o.sigma_data);
  require_option(o.cdm_epsilon >= 0 && std::isfinite(o.cdm_epsilon), "--cdm-epsilon", "a finite number >= 0",
                 o.cdm_epsilon);
  require_option(o.cond_dim > 0 && o.cond_dim % 2 == 0 && o.cond_dim <= 4096, "--cond-dim",
                 "an even integer in [2, 4096]", o.cond_dim);
  require_option(o.fourier_scale > 0 && std::isfinite(o.fourier_scale), "--fourier-scale", "a finite number > 0",
                 o.fourier_scale);
  if (uses_ot_pool(o)) {
    const index_t per_solve = o.ot_batch == 0 ? o.batch : o.ot_batch;
    require_option(per_solve % o.batch == 0, "--ot-batch", fmt::format("a multiple of --batch {}", o.batch), o.ot_batch);
    // A resumed run is exact when its checkpoint falls between solves (the pool is not saved).
    const long period = static_cast<long>(per_solve / o.batch) * o.ot_passes;
    require_option(o.checkpoint_every % period == 0, "--checkpoint-every",
                   fmt::format("a multiple of {} (the steps one OT solve serves; a resumed run is exact only "
                               "between solves)", period),
                   o.checkpoint_every);
  }
  require_memory(o);
  // Last: probing the device is the one check that touches hardware.
  if (o.device == "cuda") {
    try {
      std::printf("idemgen: training on %s\n", require_cuda_device().c_str());
    } catch (const error& e) {
      usage_error(e.what());
    }
  }
  require_option(o.checkpoint_every >= 0, "--checkpoint-every", "an integer >= 0 (0: at the end only)",
                 o.checkpoint_every);
  // Last: with --force it removes the earlier run's files. Under --distributed rank 0 alone.
  if (!o.resume && is_output_rank()) claim_output_or_exit(o.out, o.force);
  return o;
}

int sample_command(int argc, char** argv) {
  std::string checkpoint, out, weights = "ema", sampler;
  index_t n = 2500;
  int steps = 0, threads = 2;
  std::uint64_t seed = 0;
  bool force = false, save_noise = false;
  po::options_description desc("idemgen sample: draw samples from a trained model again");
  desc.add_options()("help,h", "show this help")
      ("checkpoint", po::value(&checkpoint)->required(), "model.safetensors written by 'idemgen train'")
      ("n", with_default(&n), "number of samples")
      ("steps", with_default(&steps),
       "one-step methods: recursive applications K (f^K(z); 0 = 1); noised methods: sampler steps (0 = 18 or 100)")
      ("sampler", po::value(&sampler), "noised methods: heun, euler, stochastic, sde (diffusion, cdm); euler, midpoint (fm); "
       "multistep, lines-euler (lmm); sign: recursive (Alg. 2, K applications), multistep (Alg. 3, K NFE)")
      ("weights", with_default(&weights), "ema (when the checkpoint has one) or raw")
      ("seed", with_default(&seed), "random seed for z")
      ("threads", with_default(&threads), "CPU threads")
      ("out", po::value(&out)->required(), "output directory (new or empty)")
      ("force", po::bool_switch(&force), "replace an earlier run's files in --out (other files are kept)")
      ("save-noise", po::bool_switch(&save_noise),
       "also write noise.csv: the z each sample starts from (one-step: f's input; noised: the unit noise)");
  const std::string config = config_json("sample", parse_or_exit(desc, argc, argv));
  require_option(n > 1 && n <= (1 << 22), "--n", "an integer in [2, 2^22]", n);
  require_option(steps >= 0 && steps <= 100000, "--steps", "an integer in [0, 100000]", steps);
  require_option(threads >= 1 && threads <= 1024, "--threads", "an integer in [1, 1024]", threads);
  require_option(weights == "ema" || weights == "raw", "--weights", "ema or raw", weights);
  claim_output_or_exit(out, force);
  be::set_num_threads(threads);
  // Read and check everything before creating the output directory.
  const io::safetensors file = io::read_safetensors(checkpoint);
  const std::string method = train::metadata_string(file.metadata, "method", checkpoint);
  if (file.metadata.count("net") && (file.metadata.at("net") == "conv_net" || (file.metadata.at("net") == "unet" && method == "sign")))
    return sample_images(file, checkpoint, n, std::max(steps, 1), weights, seed, out, config);
  if (file.metadata.count("net") && file.metadata.at("net") == "unet")
    return sample_noised_images(file, checkpoint, n, steps, sampler, weights, seed, out, config);
  if (is_noised(method)) return sample_noised(file, checkpoint, n, steps, sampler, weights, seed, out, config, save_noise);
  if (!sampler.empty() && !find_method(method).accepts_sampler(sampler))
    usage_error("--sampler: " + sampler + " does not apply to a " + method + " checkpoint");
  return sample_one_step(file, checkpoint, n, std::max(steps, 1), sampler, weights, seed, out, config, save_noise);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    std::cout << "usage: idemgen train [options]    train a model (idemgen train --help)\n"
                 "       idemgen sample [options]   sample a trained model (idemgen sample --help)\n"
                 "       idemgen couple [options]   optimal pairs between two point clouds (idemgen couple --help)\n"
                 "       idemgen pairs [options]    teacher-ODE pairs for LMM (idemgen pairs --help)\n"
                 "       idemgen restore [options]  restore degraded images with an image model (idemgen restore --help)\n";
    return argc < 2 ? 2 : 0;
  }
  const std::string command = argv[1];
  if (command != "train" && command != "sample" && command != "couple" && command != "pairs" && command != "restore")
    usage_error("unknown command '" + command + "' (expected: train, sample, couple, pairs or restore)");
  try {
    // IDEMGEN_GEMM (openblas or onednn): read before any command writes anything.
    (void)backend::current_host_sgemm();
    if (command == "sample") return sample_command(argc - 1, argv + 1);
    if (command == "couple") return couple_command(argc - 1, argv + 1);
    if (command == "pairs") return pairs_command(argc - 1, argv + 1);
    if (command == "restore") return restore_command(argc - 1, argv + 1);
    // --distributed: MPI starts before the options are read, so that only rank 0 claims --out.
#if defined(IDEMGEN_CLI_MPI)
    std::optional<distributed::mpi_environment> mpi;
    std::optional<distributed::mpi_communicator> ranks;
    if (std::find_if(argv + 2, argv + argc, [](const char* a) { return std::string_view(a) == "--distributed"; }) !=
        argv + argc) {
      mpi.emplace(argc, argv);
      ranks.emplace();
      communicator = &*ranks;
    }
#endif
    const options o = parse_train(argc - 1, argv + 1);
    be::set_num_threads(o.threads);
    if (o.data.images() != nullptr)
      return is_noised(o.method) ? train_noised_images(o) : o.method == "sign" ? train_sign_images(o) : train_one_step_images(o);
    return is_noised(o.method) ? train_noised(o) : train_one_step(o);
  } catch (const error& e) {
    // An option's error reads as the option: "--out DIR: expected ..., got ...".
    if (e.where().rfind("--", 0) == 0)
      std::cerr << "idemgen: " << e.where() << " " << e.argument() << ": expected " << e.expected() << ", got "
                << e.actual() << "\n";
    else
      std::cerr << "idemgen: " << e.what() << "\n";
    return 2;
  } catch (const interrupted& stop) {
    std::cerr << "idemgen: stopped by signal " << stop.signal << " after step " << stop.step
              << "; its checkpoint is saved: continue with idemgen train --resume " << stop.out << "\n";
    return 128 + stop.signal;
  } catch (const std::bad_alloc&) {
    std::cerr << "idemgen: out of memory (smaller --batch, --samples, --n or --width)\n";
    return 2;
  } catch (const std::exception& e) {  // the file system or a stream: never an abort
    std::cerr << "idemgen: " << e.what() << "\n";
    return 2;
  }
}
