// coupling::ot_pool serves one OT solve over several SGD steps. Facts: with K = P = 1 it is the
// in-step minibatch_ot coupling, step for step in double (OT-CFM and OT-NAIGN); an OT batch of
// K·N is one assignment whose K served batches use every data point and every chosen source once
// and whose cost is the solver's optimum over K·N; P passes serve the same pairs P times;
// per-label coupling never pairs across labels and costs at least the unlabelled optimum;
// train::train_pooled solves once every K·P steps; bad sizes are errors.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <set>

#include "idemgen/couplings/ot_pool.hpp"
#include "idemgen/data/toy.hpp"
#include "idemgen/models/flow_matching.hpp"
#include "idemgen/models/naign.hpp"
#include "idemgen/train/trainer.hpp"
#include "support/gradcheck.hpp"

namespace idemgen::test {

namespace {
using net_t = nn::mlp<cpu>;

net_t plain_net() {
  return net_t({.input_dim = 2, .output_dim = 2, .hidden = {16, 16}, .act = {nn::activation::tanh}}, 11);
}
nn::velocity<net_t> velocity_net() {
  return nn::velocity<net_t>(
      net_t({.input_dim = 2, .output_dim = 2, .hidden = {16, 16}, .act = {nn::activation::tanh},
             .cond = {.dim = 8, .kind = nn::embedding_kind::fourier, .fourier_scale = 2.0, .seed = 7}},
            11));
}
matrix grid_batch(index_t n, std::uint64_t seed) {
  matrix x(2, n);
  random_stream rng(seed);
  data::toy_sampler<cpu>(data::toy::grid25).sample(x, rng);
  return x;
}
template <class Net>
std::vector<double> parameters_of(const Net& net) {
  auto p = const_cast<Net&>(net).parameters();
  return {p.data(), p.data() + p.size()};
}
double squared_distance(cpu::const_view a, index_t i, cpu::const_view b, index_t j) {
  double s = 0;
  for (index_t r = 0; r < a.rows(); ++r) s += std::pow(a(r, i) - b(r, j), 2);
  return s;
}

// Trains `in_step` with its own coupling and `pooled` on a K = P = 1 pool over the same batches,
// and checks every term and, at the end, every weight for equality.
template <class Gen, class Solver>
void check_pool_equals_in_step(Gen& in_step, Gen& pooled, Solver) {
  coupling::ot_pool<cpu, Solver> pool(48, {});
  for (int k = 0; k < 5; ++k) {
    const matrix x = grid_batch(48, 100 + static_cast<std::uint64_t>(k));
    const auto a = in_step.train_step(x);
    REQUIRE(pool.empty());
    pool.refill(pooled, x);
    const auto pairs = pool.next();
    const auto b = pooled.train_step_on_pairs(pairs.source, pairs.target);
    for (std::size_t t = 0; t < a.terms.size(); ++t) CHECK(a.terms[t] == b.terms[t]);
    CHECK(pool.last().coupled_cost == in_step.coupling_state().last.coupled_cost);
  }
  CHECK(parameters_of(in_step.net()) == parameters_of(pooled.net()));
}
}  // namespace

TEST_CASE("ot_pool with K = P = 1 is the in-step minibatch OT coupling, step for step in double", "[ot_pool]") {
  SECTION("OT-CFM (exact)") {
    models::ot_flow_matching<net_t> a(velocity_net(), {}, {}, {.seed = 4}), b(velocity_net(), {}, {}, {.seed = 4});
    check_pool_equals_in_step(a, b, coupling::exact{});
  }
  SECTION("OT-CFM (Sinkhorn)") {
    models::ot_flow_matching<net_t, coupling::sinkhorn> a(velocity_net(), {}, {}, {.seed = 4}),
        b(velocity_net(), {}, {}, {.seed = 4});
    check_pool_equals_in_step(a, b, coupling::sinkhorn{});
  }
  SECTION("OT-coupled NAIGN: candidates priced by f before the step") {
    const models::generator_options o{.optimizer = {.lr = 1e-3, .weight_decay = 0.0}, .seed = 2};
    models::ot_naign<net_t> a(plain_net(), {}, {}, o), b(plain_net(), {}, {}, o);
    check_pool_equals_in_step(a, b, coupling::exact{});
  }
}

TEST_CASE("an OT batch of K x N: one optimal assignment served as K batches using every data point once",
          "[ot_pool]") {
  models::ot_flow_matching<net_t> fm(velocity_net(), {}, {}, {.seed = 4});
  const index_t n = 32, k = 4;
  coupling::ot_pool<cpu> pool(n, {.steps_per_solve = static_cast<int>(k)});
  CHECK(pool.ot_batch() == n * k);
  const matrix x = grid_batch(n * k, 3);
  pool.refill(fm, x);
  // The whole OT batch is one assignment: its cost is the solver's optimum over K·N.
  const auto& z = pool.candidates();
  matrix costs(n * k, n * k);
  for (index_t j = 0; j < n * k; ++j)
    for (index_t i = 0; i < n * k; ++i) costs(i, j) = squared_distance(z, i, x, j);
  transport::assignment_solver solver;
  CHECK(pool.last().coupled_cost == Approx(solver.solve(cpu::const_view(costs)).cost).epsilon(1e-12));
  CHECK(pool.last().coupled_cost < 0.5 * pool.last().independent_cost);
  std::multiset<double> served_targets, served_sources;
  for (index_t b = 0; b < k; ++b) {
    REQUIRE_FALSE(pool.empty());
    const auto p = pool.next();
    REQUIRE(p.target.cols() == n);
    for (index_t j = 0; j < n; ++j) {
      // Batch b is data columns bN … bN + N − 1, each with its assigned candidate.
      CHECK(p.target(0, j) == x(0, b * n + j));
      const index_t i = pool.source_of()[static_cast<std::size_t>(b * n + j)];
      CHECK(p.source(0, j) == z(0, i));
      CHECK(p.source(1, j) == z(1, i));
      served_targets.insert(p.target(0, j) * 1e3 + p.target(1, j));
      served_sources.insert(p.source(0, j) * 1e3 + p.source(1, j));
    }
  }
  CHECK(pool.empty());
  CHECK_THROWS_AS(pool.next(), invalid_argument);
  CHECK(std::set<double>(served_sources.begin(), served_sources.end()).size() == static_cast<std::size_t>(n * k));
  std::multiset<double> all_targets;
  for (index_t j = 0; j < n * k; ++j) all_targets.insert(x(0, j) * 1e3 + x(1, j));
  CHECK(served_targets == all_targets);
}

TEST_CASE("P passes serve the same K batches P times before the pool asks for a refill", "[ot_pool]") {
  models::ot_flow_matching<net_t> fm(velocity_net(), {}, {}, {.seed = 4});
  coupling::ot_pool<cpu> pool(16, {.steps_per_solve = 2, .passes = 3});
  CHECK(pool.steps_per_refill() == 6);
  pool.refill(fm, grid_batch(32, 5));
  std::vector<std::vector<double>> sources;
  for (int s = 0; s < 6; ++s) {
    REQUIRE_FALSE(pool.empty());
    const auto source = pool.next().source;
    sources.emplace_back(source.data(), source.data() + source.size());
  }
  CHECK(pool.empty());
  for (int s = 2; s < 6; ++s) CHECK(sources[static_cast<std::size_t>(s)] == sources[static_cast<std::size_t>(s % 2)]);
  CHECK_FALSE(sources[0] == sources[1]);
}

TEST_CASE("per-label coupling: no pair crosses a label, each label's block is optimal, the total >= unlabelled",
          "[ot_pool]") {
  models::ot_flow_matching<net_t> fm(velocity_net(), {}, {}, {.seed = 4});
  const index_t n = 30, k = 2;
  coupling::ot_pool<cpu> pool(n, {.steps_per_solve = static_cast<int>(k), .candidates_per_sample = 1.5});
  const matrix x = grid_batch(n * k, 8);
  std::vector<int> labels(static_cast<std::size_t>(n * k));
  for (index_t j = 0; j < n * k; ++j) labels[static_cast<std::size_t>(j)] = (x(0, j) > 0 ? 1 : 0) + (x(1, j) > 0 ? 2 : 0);
  pool.refill(fm, x, labels);
  const auto& z = pool.candidates();
  // Blocks in increasing label order, ⌈1.5 n_label⌉ fresh sources each; every target's source
  // lies in its label's block, and each block's assignment is that block's optimum.
  index_t first = 0;
  double blocks_optimum = 0;
  std::set<index_t> used;
  for (int label = 0; label < 4; ++label) {
    std::vector<index_t> targets;
    for (index_t j = 0; j < n * k; ++j)
      if (labels[static_cast<std::size_t>(j)] == label) targets.push_back(j);
    const auto count = static_cast<index_t>(targets.size());
    const auto sources = static_cast<index_t>(std::ceil(1.5 * static_cast<double>(count)));
    matrix costs(sources, count);
    for (index_t j = 0; j < count; ++j)
      for (index_t i = 0; i < sources; ++i) costs(i, j) = squared_distance(z, first + i, x, targets[static_cast<std::size_t>(j)]);
    transport::assignment_solver solver;
    blocks_optimum += solver.solve(cpu::const_view(costs)).cost;
    for (index_t t : targets) {
      const index_t i = pool.source_of()[static_cast<std::size_t>(t)];
      CHECK(i >= first);
      CHECK(i < first + sources);
      CHECK(used.insert(i).second);
    }
    first += sources;
  }
  CHECK(z.cols() == first);
  CHECK(pool.last().coupled_cost == Approx(blocks_optimum).epsilon(1e-12));
  // The unlabelled optimum over the same candidates and data is no more than the labelled one.
  matrix all(z.cols(), n * k);
  for (index_t j = 0; j < n * k; ++j)
    for (index_t i = 0; i < z.cols(); ++i) all(i, j) = squared_distance(z, i, x, j);
  transport::assignment_solver solver;
  CHECK(solver.solve(cpu::const_view(all)).cost <= blocks_optimum + 1e-9);
  // Each served batch carries its targets' labels.
  for (index_t b = 0; b < k; ++b) {
    pool.next();
    const auto served = pool.labels();
    REQUIRE(served.size() == static_cast<std::size_t>(n));
    for (index_t j = 0; j < n; ++j) CHECK(served[static_cast<std::size_t>(j)] == labels[static_cast<std::size_t>(b * n + j)]);
  }
}

TEST_CASE("train_pooled solves once every K x P steps and reports the pool's time as the coupling's", "[ot_pool]") {
  models::ot_flow_matching<net_t> fm(velocity_net(), {}, {}, {.seed = 4});
  coupling::ot_pool<cpu> pool(16, {.steps_per_solve = 4, .passes = 2});
  int refills = 0;
  random_stream data_rng(3);
  const auto report = train::train_pooled(
      fm, pool,
      [&](cpu::view x) {
        CHECK(x.cols() == 64);
        ++refills;
        data::toy_sampler<cpu>(data::toy::grid25).sample(x, data_rng);
      },
      {.steps = 40, .log_every = 10, .progress = false});
  CHECK(report.steps == 40);
  CHECK(refills == 5);
  CHECK(report.coupling_seconds == pool.seconds());
  CHECK(report.coupling_seconds > 0);
  CHECK(fm.coupling_seconds() == 0.0);  // the generator's own coupling never ran
  for (double t : report.last_terms) CHECK(std::isfinite(t));
}

TEST_CASE("ot_pool refuses bad sizes and options", "[ot_pool][errors]") {
  models::ot_flow_matching<net_t> fm(velocity_net(), {}, {}, {.seed = 4});
  coupling::ot_pool<cpu> pool(16, {.steps_per_solve = 2});
  CHECK_THROWS_AS(pool.refill(fm, grid_batch(16, 1)), shape_error);
  const std::vector<int> short_labels(31, 0);
  CHECK_THROWS_AS(pool.refill(fm, grid_batch(32, 1), short_labels), shape_error);
  CHECK_THROWS_AS(pool.next(), invalid_argument);  // never filled
  CHECK_THROWS_AS((coupling::ot_pool<cpu>(0, {})), invalid_argument);
  CHECK_THROWS_AS((coupling::ot_pool<cpu>(16, {.steps_per_solve = 0})), invalid_argument);
  CHECK_THROWS_AS((coupling::ot_pool<cpu>(16, {.passes = 0})), invalid_argument);
  CHECK_THROWS_AS((coupling::ot_pool<cpu>(16, {.candidates_per_sample = 0.5})), invalid_argument);
}

}  // namespace idemgen::test
