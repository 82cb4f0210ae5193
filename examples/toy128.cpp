// toy128 — LMM's Table 1 toy in d = 128 (LMM §4): source N(0, I), target
// ½N((−1, −1, 0…), diag(0.1², 0.1², 1…)) + ½N((1, 1, 0…), same) (the caption's "(0, 1, 0.1, 1⃗)" is
// garbled; our reading: std 0.1 in dimensions 1–2, 1 elsewhere). Trains, on one seed and budget,
//   edm        EDM denoiser (DSM)                          lmm       LMM on online Heun-18 pairs of the
//   fm         CFM = 1-rectified flow (independent)                  analytic teacher (LMM eq. 3)
//   ot128      OT-CFM, mini-batch OT at n = 128            rf2       2-rectified flow: FM on 20 000 pairs
//   ot256      OT-CFM at n = 256                                     (z, fm's 100-step Euler ODE of z)
//   sign       SIGN (analytic teacher, σ_max 80 or --sign-sigma-max): a one-step f without σ input
//   signreg    SIGN plus its regression term on 20 000 stored Heun-18 pairs of the teacher
// and reports, on 2 000 samples against fresh data (and a second draw of data, the estimators' floor): straightness S_2 (normalised, 100-step Euler
// trajectories; LMM Table 1), and at NFE 1 and 2 the sliced W2, the MMD² (RBF kernel at the
// data's median pairwise distance), the mass of the + component (mode balance; 0.5 is right) and
// the fraction within 3 std (0.3) of a component's mean in dimensions 1–2.
//   toy128 --steps 4000 --seed 0 --out out/toy128_s0      (prints one line a method, writes metrics.json)

#include <boost/program_options.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "idemgen/evaluation/mixture_denoiser.hpp"
#include "idemgen/evaluation/mmd.hpp"
#include "idemgen/evaluation/sliced_wasserstein.hpp"
#include "idemgen/evaluation/straightness.hpp"
#include "idemgen/io/atomic_file.hpp"
#include "idemgen/io/json.hpp"
#include "idemgen/models/diffusion.hpp"
#include "idemgen/models/flow_matching.hpp"
#include "idemgen/models/lmm.hpp"
#include "idemgen/models/sign.hpp"
#include "idemgen/nn/mlp.hpp"
#include "idemgen/samplers/flow_ode.hpp"
#include "idemgen/samplers/lines.hpp"
#include "idemgen/samplers/model_function.hpp"
#include "idemgen/samplers/multistep_editing.hpp"
#include "idemgen/samplers/pf_ode.hpp"

namespace {

using namespace idemgen;
using be = backend::cpu<float>;
using mlp_t = nn::mlp<be>;
using mixture_t = evaluation::mixture_denoiser<be>;
constexpr index_t dim = 128;

struct settings {
  long steps = 4000;
  index_t batch = 256, width = 256, depth = 3, samples = 2000;
  std::uint64_t seed = 0;
  std::string methods = "fm,ot128,ot256,rf2,edm,lmm,sign,signreg";
  double sign_sigma_max = 80;   // SIGN's grid σ_max and source scale
  double sign_denoise_weight = 1;  // SIGN's λ_n
  double sign_flow_weight = 1;     // SIGN's λ_f
  bool wants(const std::string& m) const { return ("," + methods + ",").find("," + m + ",") != std::string::npos; }
};

/// x ~ the target mixture, column by column.
void sample_target(be::view x, random_stream& rng) {
  be::fill_normal(x, rng);
  be::matrix sign(1, x.cols());
  be::fill_uniform(sign, rng, 0.0f, 1.0f);
  for (index_t j = 0; j < x.cols(); ++j) {
    const float mean = sign(0, j) < 0.5f ? -1.0f : 1.0f;
    for (index_t i = 0; i < 2; ++i) x(i, j) = mean + 0.1f * x(i, j);
  }
}

mixture_t exact_teacher() {
  std::vector<double> means, stds;
  for (double m : {-1.0, 1.0})
    for (index_t i = 0; i < dim; ++i) {
      means.push_back(i < 2 ? m : 0.0);
      stds.push_back(i < 2 ? 0.1 : 1.0);
    }
  return mixture_t(means, stds, {1.0, 1.0}, dim);
}

mlp_t conditioned_net(const settings& s, std::uint64_t seed) {
  return mlp_t({.input_dim = dim, .output_dim = dim, .hidden = std::vector<index_t>(static_cast<std::size_t>(s.depth), s.width),
                .act = {nn::activation::silu},
                .cond = {.dim = 32, .kind = nn::embedding_kind::fourier, .fourier_scale = 2.0, .seed = 7}},
               random_stream(seed));
}

/// 20 000 stored pairs (z, y): z ~ N(0, I) from `rng`, then map(z, y) writes y.
template <class Map>
std::shared_ptr<teachers::pair_set<be>> unit_noise_pairs(random_stream rng, Map map) {
  auto pairs = std::make_shared<teachers::pair_set<be>>();
  pairs->z.resize(dim, 20000);
  pairs->y.resize(dim, 20000);
  be::fill_normal(pairs->z, rng);
  map(be::const_view(pairs->z), be::view(pairs->y));
  return pairs;
}

/// A training run's wall-clock seconds, and the coupling's share of them.
struct timing {
  double seconds = 0, coupling_seconds = 0;
};

template <class Generator>
timing train(Generator& gen, const settings& s, index_t batch) {
  random_stream data_rng = random_stream(s.seed).split(1);
  be::matrix x(dim, batch);
  const auto start = std::chrono::steady_clock::now();
  for (long step = 0; step < s.steps; ++step) {
    sample_target(x, data_rng);
    if (!gen.train_step(x).finite) throw numeric_error("toy128", "training", "finite steps", "a non-finite step");
  }
  if (gen.has_ema()) gen.ema().copy_to(gen.net().parameters());
  return {std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), gen.coupling_seconds()};
}

struct quality {
  double sliced_w2 = 0, mmd2 = 0, plus_mass = 0, near_mean = 0;
};

struct evaluation_set {
  be::matrix z, data;
  double bandwidth = 1;
  explicit evaluation_set(const settings& s) : z(dim, s.samples), data(dim, s.samples) {
    random_stream rng = random_stream(s.seed).split(2);
    be::fill_normal(z, rng);
    sample_target(data, rng);
    // The median pairwise distance of 500 data points: the MMD bandwidth.
    std::vector<double> d;
    for (index_t a = 0; a < 500; ++a)
      for (index_t b = a + 1; b < 500; ++b) {
        double s2 = 0;
        for (index_t i = 0; i < dim; ++i) s2 += (data(i, a) - data(i, b)) * (data(i, a) - data(i, b));
        d.push_back(std::sqrt(s2));
      }
    std::nth_element(d.begin(), d.begin() + static_cast<long>(d.size() / 2), d.end());
    bandwidth = d[d.size() / 2];
  }
  quality measure(be::const_view x) const {
    quality q;
    const index_t n = x.cols();
    std::vector<double> a(static_cast<std::size_t>(dim * n)), b(a.size());
    for (index_t e = 0; e < dim * n; ++e) a[static_cast<std::size_t>(e)] = x.data()[e], b[static_cast<std::size_t>(e)] = data.data()[e];
    q.sliced_w2 = evaluation::sliced_wasserstein2(a.data(), b.data(), dim, n);
    q.mmd2 = evaluation::mmd2_unbiased<be>(x, data, {bandwidth});
    for (index_t j = 0; j < n; ++j) {
      const float mean = x.data()[j * dim] + x.data()[1 + j * dim] > 0 ? 1.0f : -1.0f;
      q.plus_mass += mean > 0 ? 1.0 / n : 0.0;
      const float r0 = x.data()[j * dim] - mean, r1 = x.data()[1 + j * dim] - mean;
      q.near_mean += std::sqrt(r0 * r0 + r1 * r1) < 0.3f ? 1.0 / n : 0.0;
    }
    return q;
  }
};

io::ordered_json json_of(const quality& q) {
  return {{"sliced_w2", q.sliced_w2}, {"mmd2", q.mmd2}, {"plus_mass", q.plus_mass}, {"near_mean", q.near_mean}};
}

struct report {
  std::string method;
  timing time;
  double straightness = -1;  // -1: no ODE (SIGN)
  quality nfe1, nfe2;
};

/// Straightness S_2 (normalised) of a trajectory with its times.
double straightness_of(const std::vector<be::matrix>& states, const std::vector<double>& times) {
  return evaluation::straightness<be>(states, times).p2_normalized;
}

report evaluate_velocity(const std::string& method, const nn::velocity<mlp_t>& v, const evaluation_set& e, timing time) {
  report r{method, time};
  be::matrix x(dim, e.z.cols());
  std::vector<be::matrix> states;
  const auto run = [&](int steps, std::vector<be::matrix>* keep) {
    be::copy(e.z, x);
    samplers::flow_ode<be>(samplers::model_function(v), schedule::linear{}.steps(steps), samplers::flow_method::euler, x,
                           keep);
  };
  run(100, &states);
  r.straightness = straightness_of(states, schedule::linear{}.steps(100));
  run(1, nullptr);
  r.nfe1 = e.measure(x);
  run(2, nullptr);
  r.nfe2 = e.measure(x);
  return r;
}

/// σ-models (EDM, LMM): straightness of 100-step PF-ODE Euler on t = 1 − σ/σ_max; NFE 1 and 2 by
/// `draw(k, x)` (x = z on entry).
template <class Draw>
report evaluate_denoiser(const std::string& method, const nn::denoiser<mlp_t>& den, const evaluation_set& e, timing time,
                         Draw draw) {
  report r{method, time};
  be::matrix x(dim, e.z.cols());
  std::vector<be::matrix> states;
  const auto sigmas = den.schedule().steps(100);
  be::copy(e.z, x);
  be::scale(x, static_cast<float>(den.schedule().sigma_max));
  samplers::pf_ode<be>(samplers::model_function(den), sigmas, samplers::ode_method::euler, x, &states);
  r.straightness = straightness_of(states, evaluation::times_from_sigmas(sigmas));
  be::copy(e.z, x);
  draw(1, x);
  r.nfe1 = e.measure(x);
  be::copy(e.z, x);
  draw(2, x);
  r.nfe2 = e.measure(x);
  return r;
}

std::vector<report> run_all(const settings& s) {
  const evaluation_set e(s);
  std::vector<report> out;
  const auto say = [&](const report& r) {
    std::printf("toy128: %-6s %6.1f s  S2 %.4g  NFE 1: SW2 %.4g MMD² %.4g plus %.3f near %.3f  NFE 2: SW2 %.4g MMD² %.4g "
                "plus %.3f near %.3f\n",
                r.method.c_str(), r.time.seconds, r.straightness, r.nfe1.sliced_w2, r.nfe1.mmd2, r.nfe1.plus_mass,
                r.nfe1.near_mean, r.nfe2.sliced_w2, r.nfe2.mmd2, r.nfe2.plus_mass, r.nfe2.near_mean);
    std::fflush(stdout);
    out.push_back(r);
  };
  {  // the estimators' floor: a second draw of data against the evaluation data
    report floor{"data"};
    be::matrix other(dim, s.samples);
    random_stream rng = random_stream(s.seed).split(5);
    sample_target(other, rng);
    floor.nfe1 = floor.nfe2 = e.measure(other);
    say(floor);
  }
  const models::generator_options adam{.optimizer = {.lr = 1e-3}, .ema_decay = 0.999, .seed = s.seed};
  const auto init = random_stream(s.seed).split(3).next_block();
  // Flow matching: independent (1-RF), then OT-CFM at n = 128 and 256.
  models::flow_matching<mlp_t> fm(nn::velocity<mlp_t>(conditioned_net(s, init)), {}, {}, adam);
  if (s.wants("fm") || s.wants("rf2")) {
    say(evaluate_velocity("fm", fm.net(), e, train(fm, s, s.batch)));
  }
  for (index_t n : {index_t(128), index_t(256)}) {
    if (!s.wants("ot" + std::to_string(n))) continue;
    models::ot_flow_matching<mlp_t> ot(nn::velocity<mlp_t>(conditioned_net(s, init)), {}, {}, adam);
    say(evaluate_velocity("ot" + std::to_string(n), ot.net(), e, train(ot, s, n)));
  }
  // 2-RF: 20 000 pairs (z, fm's 100-step Euler ODE of z), made once, then FM on them.
  if (s.wants("rf2")) {
    const auto start = std::chrono::steady_clock::now();
    const auto times = schedule::linear{}.steps(100);
    const auto pairs = unit_noise_pairs(random_stream(s.seed).split(4), [&](be::const_view z, be::view y) {
      be::copy(z, y);
      for (index_t first = 0; first < y.cols(); first += 2000)
        samplers::flow_ode<be>(samplers::model_function(fm.net()), times, samplers::flow_method::euler,
                               y.columns(first, 2000));
    });
    models::flow_matching<mlp_t, coupling::stored_pairs<be>> rf2(nn::velocity<mlp_t>(conditioned_net(s, init)), {}, {}, adam,
                                                                 {.pairs = pairs});
    const double coupling_seconds = train(rf2, s, s.batch).coupling_seconds;
    const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    say(evaluate_velocity("rf2", rf2.net(), e, {sec, coupling_seconds}));
  }
  const auto teacher = std::make_shared<mixture_t>(exact_teacher());
  const schedule::karras edm{.sigma_data = 1.0};
  // EDM: NFE 1 and 2 are Euler steps of its PF-ODE.
  if (s.wants("edm")) {
    models::diffusion<mlp_t> gen(nn::denoiser<mlp_t>(conditioned_net(s, init), edm), {}, {}, adam);
    say(evaluate_denoiser("edm", gen.net(), e, train(gen, s, s.batch), [&](int k, be::view x) {
      be::scale(x, static_cast<float>(edm.sigma_max));
      samplers::pf_ode<be>(samplers::model_function(gen.net()), edm.steps(k), samplers::ode_method::euler, x);
    }));
  }
  // LMM: online Heun-18 pairs of the analytic teacher, RAdam, σ uniform over the grid.
  if (s.wants("lmm")) {
    const schedule::karras_grid grid{};
    models::lmm<mlp_t, mixture_t> gen(nn::denoiser<mlp_t>(conditioned_net(s, init), edm),
                                      models::lmm_losses({.schedule = grid}), {},
                                      {.optimizer = {.lr = 1e-3}, .ema_decay = 0.999, .seed = s.seed},
                                      {.teacher = teacher, .ode = {.grid = grid}});
    say(evaluate_denoiser("lmm", gen.net(), e, train(gen, s, s.batch), [&](int k, be::view x) {
      random_stream rng = random_stream(s.seed).split(6);
      samplers::lines_sampler<be>(samplers::model_function(gen.net()), grid, k == 1 ? std::vector<int>{0} : std::vector<int>{0, 1},
                                  samplers::lines_method::multistep, x, rng);
    }));
  }
  // SIGN: a one-step f (no σ input) from σ_max ε; NFE 2 is Alg. 3 re-noised at σ_1.
  // SIGN: a one-step f (no σ input) from σ_max ε; NFE 2 is Alg. 3 re-noised at σ_1. "signreg" adds
  // the regression term on 20 000 stored Heun-18 pairs of the same teacher (SIGN eq. 9's λ_r).
  const schedule::karras_grid sign_grid{.sigma_max = s.sign_sigma_max};
  const auto sign_report = [&](const std::string& name, const auto& net, timing time) {
    report r{name, time};
    be::matrix x(dim, e.z.cols());
    for (int k : {1, 2}) {
      be::copy(e.z, x);
      be::scale(x, static_cast<float>(sign_grid.sigma_max));
      random_stream rng = random_stream(s.seed).split(6);
      samplers::multistep_editing(net, k == 1 ? std::vector<double>{} : std::vector<double>{sign_grid.sigma<double>(1)}, x,
                                  rng);
      (k == 1 ? r.nfe1 : r.nfe2) = e.measure(x);
    }
    say(r);
  };
  const mlp_t sign_f({.input_dim = dim, .output_dim = dim,
                      .hidden = std::vector<index_t>(static_cast<std::size_t>(s.depth), s.width),
                      .act = {nn::activation::silu}},
                     random_stream(init));
  const models::generator_options sign_options{.optimizer = {.lr = 1e-3}, .ema_decay = 0.999, .seed = s.seed,
                                               .source_scale = sign_grid.sigma_max};
  const losses::teacher_flow<mixture_t> flow{.weight = s.sign_flow_weight, .teacher = teacher, .schedule = sign_grid};
  const losses::denoise<> denoise{.weight = s.sign_denoise_weight, .schedule = sign_grid};
  if (s.wants("sign")) {
    models::sign<mlp_t, mixture_t> gen(sign_f, models::sign_losses<mixture_t>({}, {}, flow, denoise), {}, sign_options);
    sign_report("sign", gen.net(), train(gen, s, s.batch));
  }
  if (s.wants("signreg")) {
    const auto start = std::chrono::steady_clock::now();
    const teachers::ode_options ode{.grid = {.sigma_max = s.sign_sigma_max}};
    const auto pairs = unit_noise_pairs(random_stream(s.seed).split(7), [&](be::const_view z, be::view y) {
      teachers::ode_endpoints<be>(*teacher, ode, ode.grid.grid(), z, y);
    });
    models::sign_with_pairs<mlp_t, mixture_t> gen(
        sign_f,
        models::sign_with_pairs_losses<mixture_t, be>({}, {}, flow, denoise, {.pairs = {.pairs = pairs}}), {},
        sign_options);
    const double coupling_seconds = train(gen, s, s.batch).coupling_seconds;
    sign_report("signreg", gen.net(),
                {std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), coupling_seconds});
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  namespace po = boost::program_options;
  settings s;
  std::string out;
  int threads = 2;
  po::options_description desc("toy128: LMM's 128-d two-Gaussian toy for EDM, CFM, OT-CFM, 2-RF, LMM and SIGN");
  desc.add_options()("help,h", "show this help")
      ("steps", po::value(&s.steps)->default_value(s.steps), "training steps of each method")
      ("batch", po::value(&s.batch)->default_value(s.batch), "batch size (OT-CFM: its own n)")
      ("width", po::value(&s.width)->default_value(s.width), "mlp hidden width")
      ("samples", po::value(&s.samples)->default_value(s.samples), "evaluation samples")
      ("seed", po::value(&s.seed)->default_value(s.seed), "random seed")
      ("sign-sigma-max", po::value(&s.sign_sigma_max)->default_value(s.sign_sigma_max), "SIGN's sigma_max (and source scale)")
      ("sign-flow-weight", po::value(&s.sign_flow_weight)->default_value(s.sign_flow_weight), "SIGN's lambda_f")
      ("sign-denoise-weight", po::value(&s.sign_denoise_weight)->default_value(s.sign_denoise_weight), "SIGN's lambda_n")
      ("methods", po::value(&s.methods)->default_value(s.methods), "comma-separated subset of the methods (rf2 trains fm first)")
      ("threads", po::value(&threads)->default_value(threads), "CPU threads")
      ("out", po::value(&out)->required(), "output directory (metrics.json)");
  try {
    po::variables_map vm;
    po::store(po::parse_command_line(argc, argv, desc), vm);
    if (vm.count("help")) {
      std::cout << desc << "\n";
      return 0;
    }
    po::notify(vm);
    if (s.steps < 1 || s.batch < 2 || s.width < 1 || s.samples < 500 || threads < 1)
      throw po::error("--steps, --width, --threads must be >= 1, --batch >= 2, --samples >= 500");
  } catch (const po::error& e) {
    std::cerr << "toy128: " << e.what() << "\n";
    return 2;
  }
  try {
    if (std::filesystem::is_directory(out + "/metrics.json")) throw io_error("toy128", out + "/metrics.json", "a file", "a directory");
    be::set_num_threads(threads);
    const auto reports = run_all(s);
    io::ordered_json metrics = {{"steps", s.steps}, {"batch", s.batch}, {"width", s.width}, {"seed", s.seed},
                                {"methods", io::ordered_json::array()}};
    for (const auto& r : reports)
      metrics["methods"].push_back({{"method", r.method}, {"train_seconds", r.time.seconds},
                                    {"coupling_seconds", r.time.coupling_seconds},
                                    {"straightness_p2_normalized", r.straightness}, {"nfe1", json_of(r.nfe1)},
                                    {"nfe2", json_of(r.nfe2)}});
    std::filesystem::create_directories(out);
    io::write_atomically(out + "/metrics.json", [&](std::ostream& f) { f << metrics.dump(2) << '\n'; });
    std::printf("toy128: wrote %s/metrics.json\n", out.c_str());
  } catch (const error& e) {
    std::cerr << "toy128: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
