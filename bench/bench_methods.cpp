// One IGN, one NAIGN and one SIGN training step (the generator's train_step: every loss term,
// AdamW), mlp 2 → 512 → 512 → 512 → 2, ReLU, batch 512, float, 2 threads; NAIGN with M = 5 120
// IMLE candidates (10 × batch); SIGN with an EDM teacher (the width-256 denoiser of the diffusion
// benchmarks). The same steps in PyTorch: bench/torch_methods.py.

#include "bench_common.hpp"
#include "idemgen/models/ign.hpp"
#include "idemgen/models/naign.hpp"
#include "idemgen/models/sign.hpp"
#include "idemgen/samplers/model_function.hpp"

namespace {

using namespace idemgen;
using be = bench::be;
using net_t = nn::mlp<be>;

using bench::method_step;

// One forward pass of the net over the batch of 512 (≈ 0.54 GFLOP).
const double pass = bench::mlp_forward_flops({2, 512, 512, 512, 2}, 512);

net_t paper_net() { return net_t({.input_dim = 2, .output_dim = 2, .hidden = {512, 512, 512}}, 0); }

void ign_step(benchmark::State& state) {
  models::ign<net_t> gen(paper_net());
  // Forwards f(x), u = f(z), v = f(u) (3); backwards: rec 2, idem 1 (dx through frozen v) + 2
  // (u), tight 2 (v, parameters only) = 10 passes. (PyTorch's step runs 11: its f_copy(fz) and
  // f(fz.detach()) are two forwards of the same value.)
  method_step(state, gen, 10 * pass);
}
void naign_step(benchmark::State& state) {
  models::naign<net_t> gen(paper_net(), {}, {}, {}, {.candidates_per_sample = 10});
  // Forwards: IMLE search over M = 10 N (10), the N selected (1), f(x), u, v, w (4); backwards:
  // IMLE 2, rec 2, idem halves 1 + 2 and 1 + 2 = 25 passes (PyTorch's step: 26).
  method_step(state, gen, 25 * pass);
}

// SIGN eq. 9 (λ_d = 0, every weight 1): rec + idem (SIGN eq. 4) + flow (SIGN eq. 8, one teacher
// Euler step down the 18-point Karras grid to σ_max = 80) + denoise, f generating from 80 ε. The
// teacher is an EDM denoiser over bench::fourier_net_256 (untrained: its cost does not depend on
// its weights). Forwards f(x), f(x_{t_n}), u = f(z), v = f(u), the target f(x_{t_s}) (5);
// backwards: rec 2, f(x_{t_n}) 2 (flow and denoise share the call), u 2, v 1 (input gradient only)
// = 12 passes of f, and one teacher pass.
void sign_step(benchmark::State& state) {
  const nn::denoiser<nn::mlp<be>> teacher_net(bench::fourier_net_256(), bench::toy_karras);
  auto teacher = std::make_shared<decltype(samplers::model_function(teacher_net))>(
      samplers::model_function(teacher_net));
  using teacher_t = decltype(teacher)::element_type;
  models::sign<net_t, teacher_t> gen(paper_net(), models::sign_losses<teacher_t>({}, {}, {.teacher = teacher}, {}), {},
                                     {.source_scale = 80.0});
  method_step(state, gen, 12 * pass + bench::fourier_net_256_pass);
}

// OT-coupled NAIGN, M = N: the IMLE search becomes an exact assignment of the N candidates' f(z)
// to the data (Euclidean cost). Forwards: candidates (1), the N paired (1), f(x), u, v, w (4);
// backwards as NAIGN: 2 + 2 + 6 = 10, so 16 passes; the assignment is on top.
void ot_naign_step(benchmark::State& state) {
  models::ot_naign<net_t> gen(paper_net());
  method_step(state, gen, 16 * pass);
}
// The coupling alone on such a step's costs: f(z_j) of the net after 3 steps against grid-25.
void ot_naign_assignment(benchmark::State& state) {
  models::ot_naign<net_t> gen(paper_net());
  data::toy_sampler<be> data(data::toy::grid25);
  random_stream rng(1);
  be::matrix x(2, 512);
  data.sample(x, rng);
  for (int k = 0; k < 3; ++k) gen.train_step(x);
  const auto& costs = gen.coupling_state().costs;
  transport::assignment_solver solver;
  for (auto _ : state) benchmark::DoNotOptimize(solver.solve(be::const_view(costs)).cost);
}

BENCHMARK(ign_step)->Name("ign_step/width:512/batch:512")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(naign_step)->Name("naign_step/width:512/batch:512/M:5120")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(sign_step)->Name("sign_step/width:512/batch:512/teacher:256")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(ot_naign_step)->Name("ot_naign_step/width:512/batch:512/M:512")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(ot_naign_assignment)->Name("ot_naign_assignment/batch:512")->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
