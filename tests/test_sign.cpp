// SIGN's terms and samplers (SIGN eq. 4, eq. 8, Alg. 1–3): values by hand, parameter gradients
// against central differences in double, the routing (the flow target takes no gradient; flow and
// denoise share one call f(x_tn)), the empirical estimator, and the samplers' NFE and masks.
#include <catch2/catch.hpp>

#include <cmath>
#include <memory>

#include "idemgen/models/sign.hpp"
#include "idemgen/samplers/multistep_editing.hpp"
#include "idemgen/samplers/recursive.hpp"
#include "idemgen/teachers/mixture.hpp"
#include "support/gradcheck.hpp"

namespace idemgen::test {
namespace {

using net_t = nn::mlp<cpu>;
using teacher_t = evaluation::mixture_denoiser<cpu>;
using context_t = models::step_context<net_t, metric::l2>;

net_t small_net(std::uint64_t seed = 4) {
  return net_t({.input_dim = 2, .output_dim = 2, .hidden = {6}, .act = {nn::activation::tanh}}, seed);
}
std::shared_ptr<teacher_t> mixture_teacher() {
  return std::make_shared<teacher_t>(*teachers::exact_denoiser<cpu>(data::toy::gaussians8));
}
// σ_min well above 0: l2's gradient is a unit direction, ill-conditioned for finite differences
// where f(x_tn) and its target nearly meet (as they do at σ_min 0.002).
const schedule::karras_grid small_grid{.sigma_min = 0.1, .sigma_max = 5.0, .steps = 6};

/// A step context over f on batch x, the step's stream seeded with `seed`, f's gradients zeroed:
/// z ~ source_scale · N(0, I).
struct one_step {
  metric::l2 m;
  random_stream rng;
  context_t ctx;
  one_step(net_t& f, const matrix& x, std::uint64_t seed, double source_scale = 1.0) : rng(seed), ctx(f, m, rng) {
    ctx.set_source_scale(source_scale);
    f.zero_grad();
    ctx.begin(x, f.gradients());
  }
};
/// f's parameter gradient, copied out.
matrix gradient_of(net_t& f) {
  matrix g(f.parameter_count(), 1);
  cpu::copy(f.gradients(), g);
  return g;
}

/// The step's noised point replayed from the context's stream: the independent coupling's ε
/// first, then σ on the grid; x_tn = x + σ ε.
struct replayed_point {
  matrix eps, sigma, x_tn;
};
replayed_point replay(const matrix& x, std::uint64_t seed) {
  random_stream rng(seed);
  replayed_point p{matrix(2, x.cols()), matrix(1, x.cols()), matrix(2, x.cols())};
  cpu::fill_normal(p.eps, rng);
  small_grid.sample_training_level<cpu>(p.sigma, rng);
  for (index_t j = 0; j < x.cols(); ++j)
    for (index_t i = 0; i < 2; ++i) p.x_tn(i, j) = x(i, j) + p.sigma(0, j) * p.eps(i, j);
  return p;
}

/// The grid point below σ (0 below σ_min), found by search rather than karras_grid::below.
double next_grid_point(double sigma) {
  for (int i = 0; i < small_grid.steps; ++i)
    if (std::abs(small_grid.sigma<double>(i) - sigma) < 1e-9 * sigma)
      return i + 1 < small_grid.steps ? small_grid.sigma<double>(i + 1) : 0.0;
  FAIL("σ is not a grid point");
  return 0;
}

}  // namespace

TEST_CASE("karras_grid::below steps down the grid, to 0 past σ_min, in float and double", "[sign][schedules]") {
  const schedule::karras_grid g{};
  for (int i = 0; i < g.steps; ++i) {
    const double expected = i + 1 < g.steps ? g.sigma<double>(i + 1) : 0.0;
    CHECK(g.below<double>(g.sigma<double>(i), 1) == Approx(expected).epsilon(1e-12));
    CHECK(g.below<float>(g.sigma<float>(i), 1) == Approx(expected).epsilon(1e-5));
    CHECK(g.below<double>(g.sigma<double>(i), 3) == Approx(i + 3 < g.steps ? g.sigma<double>(i + 3) : 0.0).epsilon(1e-12));
  }
}

TEST_CASE("SIGN flow (eq. 8): D(f(x_tn), f(x_ts)) with x_ts one teacher Euler step to the next grid point, "
          "and the target takes no gradient (finite differences)",
          "[sign][gradcheck]") {
  net_t f = small_net();
  const matrix x = random_matrix(2, 7, 3);
  const auto teacher = mixture_teacher();
  one_step step(f, x, 21);
  auto& ctx = step.ctx;
  const losses::teacher_flow<teacher_t> flow{.weight = 0.7, .teacher = teacher, .schedule = small_grid};
  losses::teacher_flow<teacher_t>::state<context_t> st;
  const double value = losses::evaluate(flow, ctx, st);
  CHECK(ctx.finish() == 1);
  CHECK(ctx.calls() == 1);  // the target f(x_ts) is no call of the graph: forward only
  const matrix analytic = gradient_of(f);

  // By hand: x_ts = x_tn + (t_s − t_n)/t_n (x_tn − D*(x_tn; t_n)), t_s the next grid point.
  const replayed_point p = replay(x, 21);
  matrix denoised(2, 7), x_ts = p.x_tn;
  (*teacher)(p.x_tn, p.sigma, denoised);
  for (index_t j = 0; j < 7; ++j) {
    const double t = p.sigma(0, j), ratio = (next_grid_point(t) - t) / t;
    for (index_t i = 0; i < 2; ++i) x_ts(i, j) += ratio * (p.x_tn(i, j) - denoised(i, j));
  }
  const matrix target = eval(f, x_ts);
  CHECK(value == Approx(mean_l2(eval(f, p.x_tn), target)).epsilon(1e-12));
  for (index_t e = 0; e < x_ts.size(); ++e) CHECK(st.x_ts.data()[e] == Approx(x_ts.data()[e]).epsilon(1e-12));
  // d/dθ of 0.7 · mean ‖f_θ(x_tn) − c‖ with c = f(x_ts) held constant …
  const auto frozen = numerical_gradient([&] { return 0.7 * mean_l2(eval(f, p.x_tn), target); }, f.parameters().data(),
                                         f.parameter_count());
  CHECK(relative_error(analytic.data(), frozen) < 1e-7);
  // … and not the gradient with the target differentiated too.
  const auto through = numerical_gradient([&] { return 0.7 * mean_l2(eval(f, p.x_tn), eval(f, x_ts)); },
                                          f.parameters().data(), f.parameter_count());
  CHECK(relative_error(analytic.data(), through) > 1e-3);
}

TEST_CASE("SIGN flow with the empirical estimator lands on x + t_s ε with the step's own ε (consistency training)",
          "[sign]") {
  net_t f = small_net();
  const matrix x = random_matrix(2, 9, 5);
  one_step step(f, x, 8);
  auto& ctx = step.ctx;
  for (int steps : {1, 2}) {
    const losses::teacher_flow<teachers::empirical> flow{.euler_steps = steps, .schedule = small_grid};
    losses::teacher_flow<teachers::empirical>::state<context_t> st;
    losses::evaluate(flow, ctx, st);
    const replayed_point p = replay(x, 8);
    for (index_t j = 0; j < 9; ++j) {
      double t_s = p.sigma(0, j);
      for (int k = 0; k < steps; ++k) t_s = t_s > 0 ? next_grid_point(t_s) : 0.0;
      for (index_t i = 0; i < 2; ++i) CHECK(st.x_ts(i, j) == Approx(x(i, j) + t_s * p.eps(i, j)).margin(1e-12));
    }
  }
}

TEST_CASE("SIGN denoise and flow share one call f(x_tn): one forward with activations, one backward pass, "
          "and the gradient of their sum",
          "[sign][gradcheck]") {
  net_t f = small_net(6);
  const matrix x = random_matrix(2, 6, 9);
  one_step step(f, x, 13);
  auto& ctx = step.ctx;
  const losses::teacher_flow<teachers::empirical> flow{.schedule = small_grid};
  const losses::denoise<> denoise{.weight = 0.5, .schedule = small_grid};  // an equal value, another object
  losses::teacher_flow<teachers::empirical>::state<context_t> st;
  const double flow_value = losses::evaluate(flow, ctx, st);
  std::monostate no_state;
  const double denoise_value = losses::evaluate(denoise, ctx, no_state);
  CHECK(ctx.calls() == 1);
  CHECK(ctx.finish() == 1);
  const matrix analytic = gradient_of(f);
  const replayed_point p = replay(x, 13);
  const matrix target = st.target;
  CHECK(denoise_value == Approx(mean_l2(eval(f, p.x_tn), x)).epsilon(1e-12));
  const auto numeric = numerical_gradient(
      [&] {
        const matrix y = eval(f, p.x_tn);
        return mean_l2(y, target) + 0.5 * mean_l2(y, x);
      },
      f.parameters().data(), f.parameter_count());
  CHECK(relative_error(analytic.data(), numeric) < 1e-7);
  CHECK(flow_value > 0);
  // A denoise term over another grid cannot share the noised point: the documented error.
  const losses::denoise<> other{.schedule = {.sigma_min = 0.1, .sigma_max = 7.0, .steps = 6}};
  CHECK_THROWS_AS(other(ctx), invalid_argument);
  // Equal values share the levels, also from a temporary (the context keeps a copy, not the address).
  CHECK_NOTHROW(ctx.level(schedule::karras_grid(small_grid)));
  CHECK_THROWS_AS(ctx.level(schedule::karras_grid{.steps = 7}), invalid_argument);
}

TEST_CASE("idempotence as SIGN Alg. 1 l. 10 prints it: f_θ(f_θ'(z)) trains the outer call, not through it "
          "(finite differences)",
          "[sign][gradcheck]") {
  net_t f = small_net(2);
  const matrix x = random_matrix(2, 5, 1);
  one_step step(f, x, 4, 3.0);
  auto& ctx = step.ctx;
  const losses::idempotence<losses::idem_kind::printed> idem{};
  const double value = idem(ctx);
  ctx.finish();
  const matrix analytic = gradient_of(f);
  random_stream replay_rng(4);
  matrix z(2, 5);
  cpu::fill_normal(z, replay_rng, 0.0, 3.0);  // the source scale: z ~ 3 · N(0, I)
  const matrix u0 = eval(f, z);
  CHECK(value == Approx(mean_l2(u0, eval(f, u0))).epsilon(1e-12));
  // D(f_θ(z), f_θ(c)), c = f(z) held constant: both calls trained, the outer one at a fixed input.
  const auto printed = numerical_gradient([&] { return mean_l2(eval(f, z), eval(f, u0)); }, f.parameters().data(),
                                          f.parameter_count());
  CHECK(relative_error(analytic.data(), printed) < 1e-7);
  // SIGN eq. 4's routing gives another gradient.
  const net_t frozen = f;
  const auto eq4 = numerical_gradient([&] { return mean_l2(eval(f, z), eval(frozen, eval(f, z))); },
                                      f.parameters().data(), f.parameter_count());
  CHECK(relative_error(analytic.data(), eq4) > 1e-3);
}

TEST_CASE("SIGN regression: mean D(f(s z), y) over stored pairs drawn with replacement, s the source scale "
          "(finite differences)",
          "[sign][gradcheck]") {
  net_t f = small_net(3);
  auto set = std::make_shared<teachers::pair_set<cpu>>();
  set->z = random_matrix(2, 3, 30);
  set->y = random_matrix(2, 3, 31);
  const matrix x = random_matrix(2, 8, 2);
  one_step step(f, x, 17, 5.0);
  auto& ctx = step.ctx;
  const losses::teacher_regression<cpu> reg{.weight = 2.0, .pairs = {.pairs = set}};
  losses::teacher_regression<cpu>::state<context_t> st;
  const double value = losses::evaluate(reg, ctx, st);
  ctx.finish();
  const matrix analytic = gradient_of(f);
  random_stream replay_rng(17);
  matrix u(1, 8), input(2, 8), y(2, 8);
  cpu::fill_uniform(u, replay_rng, 0.0, 1.0);
  for (index_t j = 0; j < 8; ++j) {
    const index_t k = std::min<index_t>(2, static_cast<index_t>(u(0, j) * 3));
    for (index_t i = 0; i < 2; ++i) {
      input(i, j) = 5.0 * set->z(i, k);
      y(i, j) = set->y(i, k);
    }
  }
  CHECK(value == Approx(mean_l2(eval(f, input), y)).epsilon(1e-12));
  const auto numeric = numerical_gradient([&] { return 2.0 * mean_l2(eval(f, input), y); }, f.parameters().data(),
                                          f.parameter_count());
  CHECK(relative_error(analytic.data(), numeric) < 1e-7);
}

TEST_CASE("SIGN Alg. 3: NFE is 1 + the re-noise levels, masked entries keep x′, and each step is f(x + σ η)",
          "[sign][samplers]") {
  const net_t f = small_net(7);
  const matrix start = random_matrix(2, 10, 40, 4.0);
  const std::vector<double> levels = {2.0, 0.5};
  // No mask: by hand, with the stream's η.
  matrix x = start;
  random_stream rng(3);
  CHECK(samplers::multistep_editing(f, levels, x, rng) == 3);
  random_stream replay_rng(3);
  matrix expected = eval(f, start), eta(2, 10);
  for (double level : levels) {
    cpu::fill_normal(eta, replay_rng);
    matrix noised = expected;
    cpu::axpy(level, eta, noised);
    expected = eval(f, noised);
  }
  for (index_t e = 0; e < x.size(); ++e) CHECK(x.data()[e] == Approx(expected.data()[e]).epsilon(1e-12));
  // A mask keeping the first coordinate: x′'s values stay, the second row is the model's.
  matrix mask(2, 10), edited = start;
  for (index_t j = 0; j < 10; ++j) mask(0, j) = 0, mask(1, j) = 1;
  random_stream rng2(3);
  samplers::multistep_editing(f, levels, edited, rng2, mask);
  for (index_t j = 0; j < 10; ++j) CHECK(edited(0, j) == start(0, j));
  CHECK(edited(1, 0) != start(1, 0));
  CHECK_THROWS_AS(samplers::multistep_editing(f, std::vector<double>{0.5, 2.0}, x, rng), invalid_argument);
}

TEST_CASE("SIGN Alg. 2 to a tolerance stops once f moves x by less than it, or at the cap", "[sign][samplers]") {
  // A contraction: f(x) = 0.5 x (weights by hand), so the n-th application moves x by 0.5^n ‖x₀‖.
  net_t f({.input_dim = 2, .output_dim = 2, .hidden = {}, .act = {nn::activation::identity}}, 1);
  auto p = f.parameters();
  for (index_t k = 0; k < p.size(); ++k) p[k] = 0;
  p[0] = p[3] = 0.5;  // W = 0.5 I (column-major), b = 0
  matrix x(2, 1);
  x(0, 0) = 8, x(1, 0) = 0;
  CHECK(samplers::recursive_to_tolerance(f, x, 0.6, 50) == 4);  // moves 4, 2, 1, 0.5
  CHECK(x(0, 0) == Approx(0.5));
  matrix y(2, 1);
  y(0, 0) = 8, y(1, 0) = 0;
  CHECK(samplers::recursive_to_tolerance(f, y, 0.0, 3) == 3);
}

TEST_CASE("SIGN trains: the generator with the analytic teacher runs every term, and sign_empirical needs none",
          "[sign]") {
  using gen_t = models::sign<net_t, teacher_t>;
  const schedule::karras_grid grid{.sigma_max = 10.0};
  gen_t gen(small_net(), models::sign_losses<teacher_t>({}, {}, {.teacher = mixture_teacher(), .schedule = grid},
                                                        {.schedule = grid}),
            {}, {.optimizer = {.lr = 1e-3}, .seed = 2, .source_scale = 10.0});
  data::toy_sampler<cpu> data(data::toy::gaussians8);
  random_stream data_rng(1);
  matrix x(2, 64);
  data.sample(x, data_rng);
  const auto first = gen.train_step(x);
  CHECK(first.finite);
  for (double t : first.terms) CHECK(t > 0);
  models::sign_empirical<net_t> empirical(small_net(), {}, {}, {.source_scale = 80.0});
  CHECK(empirical.train_step(x).finite);
}

}  // namespace idemgen::test
