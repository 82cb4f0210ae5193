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
//
// train writes DIR/samples.csv, DIR/samples.png (samples over data), DIR/trajectory.png,
// DIR/log.csv (every term every --log-every steps), DIR/metrics.json and DIR/model.safetensors
// (weights, AdamW state, EMA, step, random stream, options). One-step methods (ign, naign,
// naign-minus) sample f(z) and its recursive applications; noised methods (diffusion, cdm, fm)
// sample with an ODE/SDE sampler and add a samples-vs-NFE table, straightness and (diffusion,
// cdm) CDM's consistency error to metrics.json. A rejected command line exits with code 2 and a
// one-line message, and writes nothing.

#include <cstdio>
#include <iostream>

#include "cli/common.hpp"

using namespace idemgen;
using namespace idemgen::cli;

namespace {

options parse_train(int argc, char** argv) {
  options o;
  po::options_description desc("idemgen train: train a generator on toy data");
  desc.add_options()("help,h", "show this help")
      ("method", po::value(&o.method)->default_value(o.method), one_of(method_names()).c_str())
      ("coupling", po::value(&o.coupling), coupling_help().c_str())
      ("ot-ratio", po::value(&o.ot_ratio)->default_value(o.ot_ratio),
       "ot, sinkhorn: source candidates M / N (> 1: a rectangular assignment)")
      ("sinkhorn-epsilon", po::value(&o.sinkhorn_epsilon)->default_value(o.sinkhorn_epsilon),
       "sinkhorn: entropic epsilon relative to the mean cost")
      ("from", po::value(&o.from), "reflow: the previous flow (an fm checkpoint) whose ODE makes the pairs (z, ODE(z))")
      ("reflow-steps", po::value(&o.reflow_steps)->default_value(o.reflow_steps), "reflow: the previous flow's Euler steps per pair")
      ("dataset", po::value(&o.dataset)->default_value(o.dataset),
       "grid25, 8gaussians, moons, rings, checkerboard, swiss_roll, pinwheel")
      ("steps", po::value(&o.steps)->default_value(o.steps), "training steps (0: the method's budget, 4000; lmm 20000)")
      ("batch", po::value(&o.batch)->default_value(o.batch), "batch size N")
      ("width", po::value(&o.width)->default_value(o.width), "mlp hidden width")
      ("depth", po::value(&o.depth)->default_value(o.depth), "mlp hidden layers")
      ("activation", po::value(&o.activation)->default_value(o.activation), "relu, silu, gelu, ...")
      ("lr", po::value(&o.lr)->default_value(o.lr), "AdamW learning rate (NAIGN's paper: 1e-4 for 100k steps)")
      ("lr-schedule", po::value(&o.lr_schedule)->default_value(o.lr_schedule),
       "constant, or cosine (decay to 0 over --steps)")
      ("warmup", po::value(&o.warmup)->default_value(o.warmup), "linear lr warm-up steps")
      ("imle-ratio", po::value(&o.imle_ratio)->default_value(o.imle_ratio), "naign, naign-minus with --coupling nearest: IMLE candidates M / N")
      ("tight-weight", po::value(&o.tight_weight)->default_value(o.tight_weight), "IGN tightness weight")
      ("tight-clamp", po::value(&o.tight_clamp)->default_value(o.tight_clamp), "IGN tightness clamp ratio a (0 = off)")
      ("clip", po::value(&o.clip)->default_value(o.clip), "global gradient-norm clip (0 = off)")
      ("ema", po::value(&o.ema)->default_value(o.ema),
       "EMA decay of the weights used for the outputs (-1: 0.999 for diffusion, cdm, fm; off otherwise)")
      ("sampler", po::value(&o.sampler), "diffusion, cdm: heun (default), euler, stochastic, sde; fm: euler (default), midpoint; "
       "lmm: multistep (default), lines-euler, heun, euler; sign: recursive (default), multistep")
      ("sample-steps", po::value(&o.sample_steps)->default_value(o.sample_steps),
       "sampler steps (0: 18 for diffusion/cdm, i.e. 35 NFE with heun; 100 for fm)")
      ("sigma-data", po::value(&o.sigma_data)->default_value(o.sigma_data),
       "EDM's sigma_data (0: the data's standard deviation; P_mean moves by ln(sigma_data/0.5))")
      ("cdm-weight", po::value(&o.cdm_weight)->default_value(o.cdm_weight), "CDM: consistency weight lambda_c")
      ("cdm-epsilon", po::value(&o.cdm_epsilon)->default_value(o.cdm_epsilon), "CDM: sigma' ~ sigma - U[0, epsilon]")
      ("teacher", po::value(&o.teacher),
       "LMM, SIGN: the teacher, mixture:DATASET (the analytic denoiser of a mixture dataset; default: --dataset's) "
       "or a diffusion/cdm checkpoint (its EMA weights); SIGN also empirical (no teacher: consistency training)")
      ("pairs", po::value(&o.pairs), "LMM: train on a pair file of idemgen pairs instead of online teacher pairs; "
       "SIGN: add the regression term on them")
      ("teacher-steps", po::value(&o.teacher_steps)->default_value(o.teacher_steps),
       "LMM: the teacher's Heun grid points (18 = EDM's 35-NFE sampler); training sigma is uniform over them; "
       "SIGN: the flow term's grid")
      ("sot", po::bool_switch(&o.sot), "LMM: sampling-optimised training, sigma only on the index set of --sample-steps K")
      ("sigma-max", po::value(&o.sigma_max)->default_value(o.sigma_max),
       "SIGN: the Karras grid's sigma_max, and the source scale (f generates from sigma_max z)")
      ("flow-weight", po::value(&o.flow_weight)->default_value(o.flow_weight), "SIGN: flow weight lambda_f")
      ("denoise-weight", po::value(&o.denoise_weight)->default_value(o.denoise_weight), "SIGN: denoise weight lambda_n")
      ("idem", po::value(&o.idem)->default_value(o.idem),
       "SIGN: idempotence routing, eq4 (SIGN eq. 4) or printed (Alg. 1 l. 10 as printed: trains the outer call)")
      ("cond-dim", po::value(&o.cond_dim)->default_value(o.cond_dim), "noised methods: Fourier features of sigma or t")
      ("fourier-scale", po::value(&o.fourier_scale)->default_value(o.fourier_scale), "noised methods: Fourier frequency scale")
      ("samples", po::value(&o.samples)->default_value(o.samples), "samples written and evaluated")
      ("seed", po::value(&o.seed)->default_value(o.seed), "random seed")
      ("threads", po::value(&o.threads)->default_value(o.threads), "CPU threads")
      ("device", po::value(&o.device)->default_value(o.device),
       "cpu or cuda: where training runs (sampling and metrics run on the CPU)")
      ("log-every", po::value(&o.log_every)->default_value(o.log_every), "log.csv interval")
      ("eval-every", po::value(&o.eval_every)->default_value(o.eval_every),
       "write MMD² and mode coverage of 1000 samples to eval.csv every N steps (0 = off)")
      ("out", po::value(&o.out)->required(), "output directory");
  parse_or_exit(desc, argc, argv);
  const method_entry* method = nullptr;
  try {
    method = &find_method(o.method);
  } catch (const error&) {
    usage_error("--method: expected " + one_of(method_names()) + ", got " + o.method);
  }
  if (o.steps == 0) o.steps = method->default_train_steps;
  if (!o.coupling.empty() && !method->accepts_coupling(o.coupling))
    usage_error("--coupling: --method " + o.method + " accepts " + one_of(method->couplings) + ", got " + o.coupling);
  if (!(o.ot_ratio >= 1) || !(o.sinkhorn_epsilon > 0))
    usage_error("--ot-ratio must be >= 1 and --sinkhorn-epsilon > 0");
  try {
    data::parse_toy(o.dataset);
    nn::parse_activation(o.activation);
  } catch (const error& e) {
    usage_error(e.what());
  }
  if (o.eval_every < 0 || o.warmup < 0) usage_error("--eval-every and --warmup must be >= 0");
  if (o.device != "cpu" && o.device != "cuda") usage_error("--device: expected cpu or cuda, got " + o.device);
  if (o.lr_schedule != "constant" && o.lr_schedule != "cosine")
    usage_error("--lr-schedule: expected constant or cosine, got " + o.lr_schedule);
  if (o.steps <= 0 || o.batch <= 1 || o.width <= 0 || o.depth <= 0 || o.samples <= 1 || o.log_every <= 0 ||
      o.threads <= 0)
    usage_error("--steps, --width, --depth, --log-every, --threads must be > 0 and --batch, --samples > 1");
  if (!(o.lr > 0) || !(o.imle_ratio >= 1) || o.clip < 0 || o.ema >= 1 || (o.ema < 0 && o.ema != -1))
    usage_error("--lr must be > 0, --imle-ratio >= 1, --clip >= 0, --ema in [0, 1) or -1");
  if (o.teacher_steps < 2) usage_error("--teacher-steps must be >= 2");
  if (coupling_of(o) == "reflow" && (o.from.empty() || o.reflow_steps < 1))
    usage_error("--coupling reflow needs --from FM_CHECKPOINT and --reflow-steps >= 1");
  if (coupling_of(o) != "reflow" && !o.from.empty()) usage_error("--from applies to --coupling reflow");
  if (coupling_of(o) == "reflow" && o.device == "cuda")
    usage_error("--coupling reflow: trains on the CPU only for now (--device cpu)");
  if ((o.method == "lmm" || o.method == "sign") && o.device == "cuda")
    usage_error("--method " + o.method + ": trains on the CPU only for now (--device cpu)");
  if (!(o.sigma_max > 0) || !(o.flow_weight >= 0) || !(o.denoise_weight >= 0) || (o.idem != "eq4" && o.idem != "printed"))
    usage_error("--sigma-max must be > 0, --flow-weight and --denoise-weight >= 0, --idem eq4 or printed");
  if (!o.pairs.empty() && o.method != "lmm" && o.method != "sign") usage_error("--pairs applies to --method lmm or sign");
  if (o.sot && o.method != "lmm") usage_error("--sot applies to --method lmm");
  if (o.method == "sign" && o.sampler == "multistep" && o.sample_steps > o.teacher_steps)
    usage_error("--sample-steps: multistep takes at most the grid's --teacher-steps points");
  if (!o.sampler.empty() && !method->accepts_sampler(o.sampler))
    usage_error("--sampler: expected " + one_of(method->samplers) + " for --method " + o.method + ", got " + o.sampler);
  if (o.sample_steps < 0 || o.sigma_data < 0 || o.cdm_epsilon < 0 || o.cond_dim <= 0 || o.cond_dim % 2 != 0 ||
      !(o.fourier_scale > 0))
    usage_error("--sample-steps, --sigma-data, --cdm-epsilon must be >= 0, --cond-dim even and > 0, --fourier-scale > 0");
  // Last: probing the device is the one check that touches hardware.
  if (o.device == "cuda") {
    try {
      std::printf("idemgen: training on %s\n", require_cuda_device().c_str());
    } catch (const error& e) {
      usage_error(e.what());
    }
  }
  return o;
}

int sample_command(int argc, char** argv) {
  std::string checkpoint, out, weights = "ema", sampler;
  index_t n = 2500;
  int steps = 0, threads = 2;
  std::uint64_t seed = 0;
  po::options_description desc("idemgen sample: draw samples from a trained model again");
  desc.add_options()("help,h", "show this help")
      ("checkpoint", po::value(&checkpoint)->required(), "model.safetensors written by 'idemgen train'")
      ("n", po::value(&n)->default_value(n), "number of samples")
      ("steps", po::value(&steps)->default_value(steps),
       "one-step methods: recursive applications K (f^K(z); 0 = 1); noised methods: sampler steps (0 = 18 or 100)")
      ("sampler", po::value(&sampler), "noised methods: heun, euler, stochastic, sde (diffusion, cdm); euler, midpoint (fm); "
       "multistep, lines-euler (lmm); sign: recursive (Alg. 2, K applications), multistep (Alg. 3, K NFE)")
      ("weights", po::value(&weights)->default_value(weights), "ema (when the checkpoint has one) or raw")
      ("seed", po::value(&seed)->default_value(seed), "random seed for z")
      ("threads", po::value(&threads)->default_value(threads), "CPU threads")
      ("out", po::value(&out)->required(), "output directory");
  parse_or_exit(desc, argc, argv);
  if (n <= 1 || steps < 0 || threads < 1) usage_error("--n must be > 1, --steps >= 0 and --threads >= 1");
  if (weights != "ema" && weights != "raw") usage_error("--weights: expected ema or raw, got " + weights);
  be::set_num_threads(threads);
  // Read and check everything before creating the output directory.
  const io::safetensors file = io::read_safetensors(checkpoint);
  const std::string method = train::metadata_string(file.metadata, "method", checkpoint);
  if (is_noised(method)) return sample_noised(file, checkpoint, n, steps, sampler, weights, seed, out);
  if (!sampler.empty() && !find_method(method).accepts_sampler(sampler))
    usage_error("--sampler: " + sampler + " does not apply to a " + method + " checkpoint");
  return sample_one_step(file, checkpoint, n, std::max(steps, 1), sampler, weights, seed, out);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    std::cout << "usage: idemgen train [options]    train a model (idemgen train --help)\n"
                 "       idemgen sample [options]   sample a trained model (idemgen sample --help)\n"
                 "       idemgen couple [options]   optimal pairs between two point clouds (idemgen couple --help)\n"
                 "       idemgen pairs [options]    teacher-ODE pairs for LMM (idemgen pairs --help)\n";
    return argc < 2 ? 2 : 0;
  }
  const std::string command = argv[1];
  if (command != "train" && command != "sample" && command != "couple" && command != "pairs")
    usage_error("unknown command '" + command + "' (expected: train, sample, couple or pairs)");
  try {
    if (command == "sample") return sample_command(argc - 1, argv + 1);
    if (command == "couple") return couple_command(argc - 1, argv + 1);
    if (command == "pairs") return pairs_command(argc - 1, argv + 1);
    const options o = parse_train(argc - 1, argv + 1);
    be::set_num_threads(o.threads);
    return is_noised(o.method) ? train_noised(o) : train_one_step(o);
  } catch (const error& e) {
    std::cerr << "idemgen: " << e.what() << "\n";
    return 2;
  }
}
