// Couplings make the step's pairs. Facts: NAIGN over nearest_generated is the old IMLE term step
// for step; an exact OT coupling is a permutation applied to the documented side whose cost is
// the solver's optimum and ≤ the independent cost (torchcfm #142, PR #178); Sinkhorn pairs are
// drawn without replacement; the Gaussian → Gaussian bound (LMM App. A.2): E⟨z, y_π⟩ of exact OT
// < nearest neighbour < √(2 ln n / d); the metric prices the pairs; pairs handed to the step
// replace the coupling.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "idemgen/data/toy.hpp"
#include "idemgen/evaluation/straightness.hpp"
#include "idemgen/samplers/model_function.hpp"
#include "idemgen/models/flow_matching.hpp"
#include "idemgen/models/naign.hpp"
#include "support/gradcheck.hpp"

namespace idemgen::test {

namespace {
using net_t = nn::mlp<cpu>;

net_t plain_net(std::uint64_t seed = 11) {
  return net_t({.input_dim = 2, .output_dim = 2, .hidden = {16, 16}, .act = {nn::activation::tanh}}, seed);
}
net_t cond_net() {
  return net_t({.input_dim = 2, .output_dim = 2, .hidden = {16, 16}, .act = {nn::activation::tanh},
                .cond = {.dim = 8, .kind = nn::embedding_kind::fourier, .fourier_scale = 2.0, .seed = 7}},
               11);
}
matrix grid_batch(index_t n, std::uint64_t seed) {
  matrix x(2, n);
  random_stream rng(seed);
  data::toy_sampler<cpu>(data::toy::grid25).sample(x, rng);
  return x;
}

// The IMLE term as wave 1 wrote it (NAIGN eq. 8, search and regression in one term), kept here as
// the reference that the coupling redesign must reproduce.
struct wave1_imle {
  static constexpr const char* name = "imle";
  static constexpr losses::model_kind model = losses::model_kind::one_step;
  double weight = 1.0;
  double candidates_per_sample = 10.0;
  template <class Ctx>
  struct state {
    matrix z, fz, distances, selected;
    cpu::index_matrix nearest;
    net_t::cache search;
  };
  template <class Ctx>
  double operator()(Ctx& ctx, state<Ctx>& s) const {
    const index_t n = ctx.batch(), d = ctx.dim();
    const index_t m = static_cast<index_t>(std::ceil(candidates_per_sample * static_cast<double>(n)));
    s.z.resize(d, m);
    s.fz.resize(d, m);
    cpu::fill_normal(s.z, ctx.rng());
    const index_t chunk = std::min(m, 4 * n);
    for (index_t first = 0; first < m; first += chunk) {
      const index_t count = std::min(chunk, m - first);
      const auto out = ctx.net().forward(cpu::const_view(s.z).columns(first, count), cpu::const_view{}, s.search);
      cpu::copy(out, cpu::view(s.fz).columns(first, count));
    }
    s.distances.resize(m, n);
    ctx.metric().template pairwise<cpu>(s.fz, ctx.x(), s.distances);
    s.nearest.resize(1, n);
    cpu::column_argmin(s.distances, s.nearest);
    s.selected.resize(d, n);
    cpu::gather_columns(s.z, s.nearest, s.selected);
    return ctx.mean_distance(ctx.call_on(s.selected), ctx.x(), models::route::full);
  }
};

template <class Gen>
std::vector<std::vector<double>> run_steps(Gen& gen, int steps) {
  std::vector<std::vector<double>> out;
  for (int k = 0; k < steps; ++k) {
    const matrix x = grid_batch(48, 100 + static_cast<std::uint64_t>(k));
    const auto r = gen.train_step(x);
    out.emplace_back(r.terms.begin(), r.terms.end());
    out.back().push_back(r.grad_norm);
  }
  return out;
}

// Mean over pairs of ⟨z, y⟩ / (‖z‖ ‖y‖).
double mean_cosine(cpu::const_view a, cpu::const_view b) {
  double s = 0;
  for (index_t j = 0; j < a.cols(); ++j) {
    double ab = 0, aa = 0, bb = 0;
    for (index_t i = 0; i < a.rows(); ++i) ab += a(i, j) * b(i, j), aa += a(i, j) * a(i, j), bb += b(i, j) * b(i, j);
    s += ab / std::sqrt(aa * bb);
  }
  return s / static_cast<double>(a.cols());
}
}  // namespace

TEST_CASE("NAIGN over nearest_generated equals wave 1's IMLE term step for step in double", "[couplings]") {
  const models::generator_options o{.optimizer = {.lr = 1e-3, .weight_decay = 0.0}, .seed = 3};
  for (double ratio : {1.0, 2.5, 10.0}) {
    models::naign<net_t> now(plain_net(), {}, {}, o, {.candidates_per_sample = ratio});
    using reference_losses = losses::set<losses::reconstruction, wave1_imle, losses::idempotence<losses::idem_kind::modified>>;
    models::generator<net_t, metric::l2, coupling::independent, reference_losses> before(
        plain_net(), reference_losses({}, {.candidates_per_sample = ratio}, {}), {}, o);
    const auto a = run_steps(now, 6), b = run_steps(before, 6);
    for (std::size_t k = 0; k < a.size(); ++k)
      for (std::size_t t = 0; t < a[k].size(); ++t) CHECK(a[k][t] == Approx(b[k][t]).epsilon(1e-12));
  }
}

TEST_CASE("exact minibatch OT: a permutation on the target side, the solver's optimum, <= the independent cost",
          "[couplings]") {
  // Noised model (OT-CFM): z is priced against y directly.
  models::ot_flow_matching<net_t> fm(nn::velocity<net_t>(cond_net()), {}, {}, {.seed = 4});
  const matrix y = grid_batch(200, 1);
  fm.train_step(y);
  const auto& s = fm.coupling_state();
  std::vector<index_t> sorted(s.host_assigned.begin(), s.host_assigned.end());
  std::sort(sorted.begin(), sorted.end());
  for (index_t j = 0; j < 200; ++j) CHECK(sorted[static_cast<std::size_t>(j)] == j);  // every source exactly once
  // Column j of the pairs is (candidate π(j), y_j): y keeps its order, the sources move.
  double paired = 0;
  for (index_t j = 0; j < 200; ++j) {
    const index_t i = s.host_assigned[static_cast<std::size_t>(j)];
    for (index_t r = 0; r < 2; ++r) CHECK(s.selected(r, j) == s.candidates(r, i));
    paired += std::pow(s.candidates(0, i) - y(0, j), 2) + std::pow(s.candidates(1, i) - y(1, j), 2);
  }
  CHECK(s.last.coupled_cost == Approx(paired).epsilon(1e-12));
  transport::assignment_solver solver;
  CHECK(s.last.coupled_cost == Approx(solver.solve(cpu::const_view(s.costs)).cost).epsilon(1e-12));
  CHECK(s.last.coupled_cost < 0.5 * s.last.independent_cost);  // grid-25 from N(0, I): far from independent
}

TEST_CASE("Sinkhorn minibatch OT: pairs drawn without replacement, cost between exact and independent",
          "[couplings]") {
  models::ot_flow_matching<net_t, coupling::sinkhorn> fm(
      nn::velocity<net_t>(cond_net()), {}, {}, {.seed = 4},
      {.sinkhorn_options = {.epsilon = 0.01, .tolerance = 1e-6, .max_iterations = 20000}});
  fm.train_step(grid_batch(200, 1));
  const auto& s = fm.coupling_state();
  std::vector<index_t> sorted(s.host_assigned.begin(), s.host_assigned.end());
  std::sort(sorted.begin(), sorted.end());
  CHECK(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end());
  CHECK(s.last.converged);
  CHECK(s.last.marginal_error < 1e-5);
  transport::assignment_solver solver;
  const double optimum = solver.solve(cpu::const_view(s.costs)).cost;
  CHECK(s.last.coupled_cost >= optimum - 1e-9);
  CHECK(s.last.coupled_cost < 0.5 * s.last.independent_cost);
}

TEST_CASE("Gaussian to Gaussian: exact OT's mean cosine < nearest neighbour's < sqrt(2 ln n / d)", "[couplings]") {
  // LMM App. A.2 / §4: in high dimension even the optimal mini-batch coupling barely aligns z and y.
  const index_t d = 16, n = 256;
  matrix z(d, n), y(d, n), c(n, n);
  random_stream rng(0);
  cpu::fill_normal(z, rng);
  cpu::fill_normal(y, rng);
  metric::squared_l2{}.cost<cpu>(z, y, c);
  transport::assignment_solver solver;
  const auto& a = solver.solve(cpu::const_view(c));
  matrix paired(d, n), single(d, 1), target(d, 1);
  cpu::index_matrix idx(1, n);
  for (index_t j = 0; j < n; ++j) idx(0, j) = a.source_of[static_cast<std::size_t>(j)];
  cpu::gather_columns(z, idx, paired);
  // Nearest neighbour in angle: for each y_j the z_i of largest cosine (no one-to-one constraint).
  double nn = 0;
  for (index_t j = 0; j < n; ++j) {
    double best = -1;
    for (index_t i = 0; i < n; ++i) {
      for (index_t r = 0; r < d; ++r) single(r, 0) = z(r, i), target(r, 0) = y(r, j);
      best = std::max(best, mean_cosine(single, target));
    }
    nn += best / static_cast<double>(n);
  }
  const double ot = mean_cosine(paired, y);
  const double bound = std::sqrt(2 * std::log(static_cast<double>(n)) / static_cast<double>(d));
  CHECK(ot > 0.3);
  CHECK(ot < nn);
  CHECK(nn < bound);
}

TEST_CASE("the coupling prices pairs with the model's metric: l1 and l2 assignments differ", "[couplings]") {
  // Two sources a0 = (1, 1) and a1 = (1.8, 0), two targets b0 = 0 and b1 = (2.9, 0.9):
  // l2: a0→b0 + a1→b1 = 1.41 + 1.42 = 2.84 < a1→b0 + a0→b1 = 1.8 + 1.90 = 3.70;
  // l1: a0→b0 + a1→b1 = 2 + 2.0 = 4.0 > a1→b0 + a0→b1 = 1.8 + 2.0 = 3.8.
  matrix a(2, 2), b(2, 2), cost(2, 2);
  a(0, 0) = 1, a(1, 0) = 1, a(0, 1) = 1.8, a(1, 1) = 0;
  b(0, 0) = 0, b(1, 0) = 0, b(0, 1) = 2.9, b(1, 1) = 0.9;
  transport::assignment_solver solver;
  metric::l2{}.cost<cpu>(a, b, cost);
  CHECK(cost(0, 0) == Approx(std::sqrt(2.0)));
  CHECK(solver.solve(cpu::const_view(cost)).source_of == std::vector<index_t>{0, 1});
  metric::l1{}.cost<cpu>(a, b, cost);
  CHECK(cost(0, 0) == Approx(2.0));
  CHECK(solver.solve(cpu::const_view(cost)).source_of == std::vector<index_t>{1, 0});
}

TEST_CASE("OT-coupled NAIGN trains with M = N and M > N (rectangular), every data point getting its own candidate",
          "[couplings]") {
  for (double ratio : {1.0, 3.0}) {
    models::ot_naign<net_t> gen(plain_net(), {}, {}, {.optimizer = {.lr = 1e-3, .weight_decay = 0.0}, .seed = 1},
                                {.candidates_per_sample = ratio});
    const auto steps = run_steps(gen, 3);
    for (const auto& s : steps)
      for (double v : s) CHECK(std::isfinite(v));
    const auto& st = gen.coupling_state();
    CHECK(st.candidates.cols() == static_cast<index_t>(std::ceil(ratio * 48)));
    std::vector<index_t> used(st.host_assigned.begin(), st.host_assigned.end());
    std::sort(used.begin(), used.end());
    CHECK(std::adjacent_find(used.begin(), used.end()) == used.end());
    // IMLE's search would let several data points share one candidate; here the cost is priced
    // over f(z): the coupled cost is the optimum of the f(z)-to-x assignment.
    CHECK(st.last.coupled_cost <= st.last.independent_cost);
  }
}

TEST_CASE("pairs handed to train_step_on_pairs replace the coupling's", "[couplings]") {
  // NAIGN− (no term draws from the stream but the coupling): a step on the pairs that
  // nearest_generated made equals the step that made them.
  const models::generator_options o{.optimizer = {.lr = 1e-3, .weight_decay = 0.0}, .seed = 6};
  models::naign_minus<net_t> searched(plain_net(), {}, {}, o, {.candidates_per_sample = 4});
  models::naign_minus<net_t> handed(plain_net(), {}, {}, o);
  const matrix x = grid_batch(40, 9);
  const auto a = searched.train_step(x);
  const auto b = handed.train_step_on_pairs(searched.coupling_state().selected, x);
  CHECK(a.terms[0] == b.terms[0]);
  CHECK(a.terms[1] == b.terms[1]);
  CHECK(relative_error(searched.net().parameters().data(),
                       std::vector<double>(handed.net().parameters().data(),
                                           handed.net().parameters().data() + handed.net().parameter_count())) == 0.0);
  CHECK_THROWS_AS(handed.train_step_on_pairs(matrix(2, 39), x), shape_error);
}

TEST_CASE("coupling_seconds counts the coupling's calls only: it grows with every searched step, not on handed pairs",
          "[couplings]") {
  const models::generator_options o{.optimizer = {.lr = 1e-3, .weight_decay = 0.0}, .seed = 6};
  models::naign_minus<net_t> searched(plain_net(), {}, {}, o, {.candidates_per_sample = 4});
  const matrix x = grid_batch(40, 9);
  CHECK(searched.coupling_seconds() == 0.0);
  searched.train_step(x);
  const double after_one = searched.coupling_seconds();
  CHECK(after_one > 0.0);
  searched.train_step(x);
  CHECK(searched.coupling_seconds() > after_one);
  const matrix source = searched.coupling_state().selected;
  const double before_handed = searched.coupling_seconds();
  searched.train_step_on_pairs(source, x);
  CHECK(searched.coupling_seconds() == before_handed);
}

}  // namespace idemgen::test

namespace idemgen::test {

TEST_CASE("reflow pairs are (z, the previous flow's Euler ODE from z), and 2-rectified flow is straighter than 1-RF",
          "[couplings][reflow]") {
  using vel_t = nn::velocity<net_t>;
  const auto train = [](auto& gen, int steps) {
    data::toy_sampler<cpu> data(data::toy::gaussians8);
    random_stream rng(3);
    matrix x(2, 256);
    for (int s = 0; s < steps; ++s) {
      data.sample(x, rng);
      REQUIRE(gen.train_step(x).finite);
    }
  };
  const models::generator_options opt{.optimizer = {.lr = 3e-3}, .seed = 1};
  models::flow_matching<net_t> first(vel_t(cond_net()), {}, {}, opt);  // 1-RF: independent CFM
  train(first, 800);
  using previous_t = decltype(samplers::model_function(std::declval<const vel_t&>()));
  const auto previous = std::make_shared<previous_t>(samplers::model_function(first.net()));
  const coupling::reflow<previous_t> pairs{.previous = previous, .steps = 20};
  // The pairs by hand: the coupling's z from the step's stream, then 20 Euler steps of 1-RF.
  {
    metric::squared_l2 m;
    random_stream rng(5);
    models::step_context<vel_t, metric::squared_l2, coupling::reflow<previous_t>> ctx(first.net(), m, rng, pairs);
    matrix x(2, 9), grads(first.net().parameter_count(), 1);
    ctx.begin(x, grads);
    const auto p = ctx.pairs();
    random_stream replay(5);
    matrix z(2, 9);
    cpu::fill_normal(z, replay);
    matrix y = z;
    samplers::flow_ode<cpu>(samplers::model_function(first.net()), schedule::linear{}.steps(20),
                            samplers::flow_method::euler, y);
    for (index_t e = 0; e < z.size(); ++e) {
      CHECK(p.source.data()[e] == z.data()[e]);
      CHECK(p.target.data()[e] == Approx(y.data()[e]).epsilon(1e-12));
    }
  }
  models::rectified_flow<net_t, previous_t> second(vel_t(cond_net()), {}, {}, opt, pairs);  // 2-RF
  train(second, 800);
  // Straightness (LMM Table 1's S_2, normalised) of 50-step Euler trajectories from the same z.
  const auto straightness_of = [](const vel_t& v) {
    matrix z = random_matrix(2, 400, 77);
    std::vector<cpu::matrix> states;
    const auto times = schedule::linear{}.steps(50);
    samplers::flow_ode<cpu>(samplers::model_function(v), times, samplers::flow_method::euler, z, &states);
    return evaluation::straightness<cpu>(states, times).p2_normalized;
  };
  const double s1 = straightness_of(first.net()), s2 = straightness_of(second.net());
  CHECK(s2 < 0.5 * s1);
}

}  // namespace idemgen::test
