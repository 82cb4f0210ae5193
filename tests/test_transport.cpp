// The OT solvers: the exact assignment is optimal (brute force for n ≤ 8, a dual certificate and
// strong duality up to n = 1024 on the costs couplings see), Sinkhorn meets its marginals, tends
// to the exact cost as ε → 0 and survives an ε that would underflow outside the log domain, and
// both reject non-finite or infeasible input with the documented error.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <numeric>

#include "idemgen/data/toy.hpp"
#include "idemgen/metrics/metric.hpp"
#include "idemgen/transport/assignment.hpp"
#include "idemgen/transport/sinkhorn.hpp"
#include "support/gradcheck.hpp"

namespace idemgen::test {

namespace {
using fcpu = backend::cpu<float>;

// m × n squared-Euclidean costs between m unit-normal sources and n grid-25 points (noise →
// data, the cost OT-CFM and OT-NAIGN see), or uniform random costs.
template <class B>
typename B::matrix noise_to_data_costs(index_t m, index_t n, std::uint64_t seed) {
  typename B::matrix z(2, m), x(2, n), c(m, n);
  random_stream rng(seed);
  B::fill_normal(z, rng);
  data::toy_sampler<B>(data::toy::grid25).sample(x, rng);
  metric::squared_l2{}.cost<B>(z, x, c);
  return c;
}
matrix uniform_costs(index_t m, index_t n, std::uint64_t seed) {
  matrix c(m, n);
  random_stream rng(seed);
  cpu::fill_uniform(c, rng, 0.0, 1.0);
  return c;
}

template <class S>
double brute_force(matrix_view<const S> c) {
  const index_t m = c.rows(), n = c.cols();
  std::vector<index_t> perm(static_cast<std::size_t>(m));
  std::iota(perm.begin(), perm.end(), 0);
  double best = INFINITY;
  do {  // every injective map of targets to sources appears among the permutations' prefixes
    double total = 0;
    for (index_t j = 0; j < n; ++j) total += static_cast<double>(c(perm[static_cast<std::size_t>(j)], j));
    best = std::min(best, total);
  } while (std::next_permutation(perm.begin(), perm.end()));
  return best;
}

// The certificate: reduced costs ≥ 0, tight on the assignment, v ≤ 0 and 0 on unused sources,
// every target once and every source at most once, and Σu + Σv equal to the cost.
template <class S>
void check_certificate(matrix_view<const S> c, const transport::assignment& a, double tol) {
  const index_t m = c.rows(), n = c.cols();
  std::vector<int> used(static_cast<std::size_t>(m), 0);
  for (index_t j = 0; j < n; ++j) ++used[static_cast<std::size_t>(a.source_of[static_cast<std::size_t>(j)])];
  double min_reduced = INFINITY, max_tight = 0, dual = 0;
  for (index_t j = 0; j < n; ++j) {
    dual += a.u[static_cast<std::size_t>(j)];
    for (index_t i = 0; i < m; ++i) {
      const double r = static_cast<double>(c(i, j)) - a.u[static_cast<std::size_t>(j)] - a.v[static_cast<std::size_t>(i)];
      min_reduced = std::min(min_reduced, r);
      if (a.source_of[static_cast<std::size_t>(j)] == i) max_tight = std::max(max_tight, std::abs(r));
    }
  }
  for (index_t i = 0; i < m; ++i) {
    CHECK(used[static_cast<std::size_t>(i)] <= 1);
    CHECK(a.v[static_cast<std::size_t>(i)] <= tol);
    if (used[static_cast<std::size_t>(i)] == 0) CHECK(a.v[static_cast<std::size_t>(i)] == 0.0);
    dual += a.v[static_cast<std::size_t>(i)];
  }
  CHECK(min_reduced >= -tol);
  CHECK(max_tight <= tol);
  CHECK(dual == Approx(a.cost).epsilon(1e-9));
}
}  // namespace

TEST_CASE("assignment: optimal against brute force for n <= 8, square and rectangular", "[transport]") {
  transport::assignment_solver solver;
  for (index_t n = 1; n <= 7; ++n)
    for (index_t extra : {0, 1}) {
      const matrix c = uniform_costs(n + extra, n, static_cast<std::uint64_t>(10 * n + extra));
      const auto& a = solver.solve(cpu::const_view(c));
      CHECK(a.cost == Approx(brute_force(cpu::const_view(c))).epsilon(1e-12));
      check_certificate(cpu::const_view(c), a, 1e-12);
    }
  // Integer costs with many ties (a degenerate case for the tie rule).
  matrix ties(8, 8);
  for (index_t e = 0; e < 64; ++e) ties.data()[e] = static_cast<double>((e * 7) % 3);
  CHECK(solver.solve(cpu::const_view(ties)).cost == Approx(brute_force(cpu::const_view(ties))));
}

TEST_CASE("assignment: a dual certificate on noise-to-data and uniform costs up to n = 1024, float and double",
          "[transport]") {
  transport::assignment_solver solver;
  for (index_t n : {256, 1024}) {
    const auto cd = noise_to_data_costs<cpu>(n, n, 1);
    check_certificate(cpu::const_view(cd), solver.solve(cpu::const_view(cd)), 1e-9);
    const auto cf = noise_to_data_costs<fcpu>(n, n, 1);
    const auto& af = solver.solve(fcpu::const_view(cf));
    check_certificate(fcpu::const_view(cf), af, 1e-9 * static_cast<double>(n));
    const matrix cu = uniform_costs(n, n, 2);
    check_certificate(cpu::const_view(cu), solver.solve(cpu::const_view(cu)), 1e-9);
  }
  // Rectangular: 3 sources per target.
  const auto cr = noise_to_data_costs<cpu>(768, 256, 3);
  check_certificate(cpu::const_view(cr), solver.solve(cpu::const_view(cr)), 1e-9);
}

TEST_CASE("assignment: the auction warm start changes the path, not the optimum", "[transport]") {
  transport::assignment_solver warm, cold;
  cold.warm_start = false;
  for (std::uint64_t seed : {1, 2, 3}) {
    const auto c = noise_to_data_costs<cpu>(512, 512, seed);
    const auto& a = warm.solve(cpu::const_view(c));
    const auto& b = cold.solve(cpu::const_view(c));
    CHECK(a.auction_bids > 0);
    CHECK(b.auction_bids == 0);
    CHECK(a.scanned < b.scanned / 4);  // what the warm start is for
    CHECK(a.cost == Approx(b.cost).epsilon(1e-12));
    check_certificate(cpu::const_view(c), a, 1e-9);
  }
}

TEST_CASE("assignment: non-finite costs and fewer sources than targets are rejected", "[transport][errors]") {
  transport::assignment_solver solver;
  matrix c = uniform_costs(4, 4, 1);
  c(2, 1) = std::nan("");
  CHECK_THROWS_AS(solver.solve(cpu::const_view(c)), numeric_error);
  c(2, 1) = INFINITY;
  CHECK_THROWS_AS(solver.solve(cpu::const_view(c)), numeric_error);
  const matrix wide = uniform_costs(3, 4, 1);
  CHECK_THROWS_AS(solver.solve(cpu::const_view(wide)), invalid_argument);
}

TEST_CASE("sinkhorn: marginals within tolerance, cost tends to the exact optimum as epsilon falls", "[transport]") {
  const index_t n = 128;
  const auto c = noise_to_data_costs<cpu>(n, n, 4);
  transport::assignment_solver exact;
  const double optimum = exact.solve(cpu::const_view(c)).cost / static_cast<double>(n);  // per unit mass
  transport::sinkhorn_solver sinkhorn;
  double previous_gap = INFINITY;
  double independent = 0;
  for (index_t j = 0; j < n; ++j) independent += c(j, j) / static_cast<double>(n);
  for (double eps : {0.1, 0.03, 0.01}) {
    const auto& r = sinkhorn.solve(cpu::const_view(c), {.epsilon = eps, .tolerance = 1e-8, .max_iterations = 200000});
    std::printf("sinkhorn epsilon %g: %d iterations, cost %.6g (exact %.6g, independent %.6g)\n", eps, r.iterations,
                r.transport_cost, optimum, independent);
    INFO("epsilon " << eps);
    CHECK(r.converged);
    CHECK(r.marginal_error < 1e-6);
    // Row sums of the plan: 1/m each (checked from the potentials, not from the solver's report).
    double worst = 0;
    for (index_t i = 0; i < n; ++i) {
      double row = 0;
      for (index_t j = 0; j < n; ++j) row += r.plan(cpu::const_view(c), i, j);
      worst = std::max(worst, std::abs(row - 1.0 / n));
    }
    CHECK(worst < 1e-8);
    // The iterations are matrix–vector products: the m·n exponentials are redone only per ε stage
    // and on an absorption.
    CHECK(r.kernel_builds < r.iterations / 4);
    const double gap = r.transport_cost - optimum;
    CHECK(gap >= -1e-9);  // no plan beats the optimum
    CHECK(gap < previous_gap);
    previous_gap = gap;
  }
  CHECK(previous_gap < 0.1 * (independent - optimum));  // ε = 0.01: within 10 % of the way from independent
}

TEST_CASE("sinkhorn: an epsilon that underflows exp(-C/eps) still gives a plan of mass 1, and bad input throws",
          "[transport][errors]") {
  // ε = 0.001 · mean(C): exp(−C/ε) is below the smallest normal double (e^−708) for a third of the entries.
  matrix c = noise_to_data_costs<cpu>(64, 64, 5);
  double mean = 0, underflowing = 0;
  for (index_t e = 0; e < c.size(); ++e) mean += c.data()[e] / static_cast<double>(c.size());
  for (index_t e = 0; e < c.size(); ++e) underflowing += c.data()[e] / (0.001 * mean) > 708 ? 1 : 0;
  CHECK(underflowing > 0.25 * static_cast<double>(c.size()));
  transport::sinkhorn_solver sinkhorn;
  const auto& r = sinkhorn.solve(cpu::const_view(c), {.epsilon = 0.001, .tolerance = 1e-4, .max_iterations = 100000});
  CHECK(r.converged);
  CHECK(std::isfinite(r.transport_cost));
  CHECK(r.marginal_error < 1e-3);
  c(3, 3) = std::nan("");
  CHECK_THROWS_AS(sinkhorn.solve(cpu::const_view(c)), numeric_error);
  CHECK_THROWS_AS(sinkhorn.solve(cpu::const_view(uniform_costs(4, 4, 1)), {.epsilon = 0}), invalid_argument);
  // Too few iterations: reported, not hidden.
  const auto& short_run = sinkhorn.solve(cpu::const_view(uniform_costs(32, 32, 2)),
                                         {.epsilon = 1e-3, .tolerance = 1e-12, .max_iterations = 2});
  CHECK_FALSE(short_run.converged);
  CHECK(short_run.iterations == 2);
}

TEST_CASE("sinkhorn: a source whose whole kernel row underflows is updated in the log domain, exactly",
          "[transport]") {
  // Source 0 is moved far from every target: at a cold start with ε = 0.01 · mean(C) every
  // exp((β_j − C_0j)/ε) is 0, so the scaling update would divide by zero; the solver takes that
  // half-step in the log domain, and the plan still sends source 0 its 1/m.
  const index_t n = 64;
  matrix c = noise_to_data_costs<cpu>(n, n, 6);
  double mean = 0;
  for (index_t e = 0; e < c.size(); ++e) mean += c.data()[e] / static_cast<double>(c.size());
  for (index_t j = 0; j < n; ++j) c(0, j) += 50 * mean;
  transport::sinkhorn_solver sinkhorn;
  const auto& r = sinkhorn.solve(cpu::const_view(c),
                                 {.epsilon = 0.01, .tolerance = 1e-8, .max_iterations = 100000, .epsilon_scaling = false});
  CHECK(r.converged);
  CHECK(r.kernel_builds >= 2);  // the first kernel, and the rebuild after the log-domain half-step
  for (index_t i : {index_t(0), index_t(1), n - 1}) {
    double row = 0;
    for (index_t j = 0; j < n; ++j) row += r.plan(cpu::const_view(c), i, j);
    INFO("source " << i);
    CHECK(row == Approx(1.0 / n).epsilon(1e-6));
  }
  for (index_t j : {index_t(0), n - 1}) {
    double column = 0;
    for (index_t i = 0; i < n; ++i) column += r.plan(cpu::const_view(c), i, j);
    CHECK(column == Approx(1.0 / n).epsilon(1e-6));
  }
}

}  // namespace idemgen::test
