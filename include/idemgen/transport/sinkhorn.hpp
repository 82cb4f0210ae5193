#pragma once
// Entropic optimal transport between uniform marginals, in the log domain (Cuturi 2013; the
// log-domain stabilisation of Schmitzer 2019): for an m × n cost C (sources × targets),
//   P = argmin ⟨P, C⟩ − ε H(P)  s.t.  P 1 = a = 1/m,  Pᵀ 1 = b = 1/n,
//   P_ij = exp((f_i + g_j − C_ij) / ε),
// alternating g_j = ε ln b_j − ε LSE_i((f_i − C_ij)/ε) and f_i = ε ln a_i − ε LSE_j((g_j − C_ij)/ε).
// Working with the potentials f, g (never K = exp(−C/ε)) is what keeps a small ε from
// underflowing (LMM and torchcfm users' trap: a plan of zeros or of mass 1e-4).
//
// ε is stated relative to the cost's scale: ε = epsilon · mean(C) (the mean over all m·n
// entries). With `epsilon_scaling` (default) the solve runs through ε_k = max(ε, mean(C)/2^k),
// each stage warm-started from the last (Schmitzer 2019 §3.2): a small ε's iterations mix
// slowly from cold potentials, and the warm start cuts them by orders of magnitude; only the
// final stage is held to `tolerance` (earlier ones to 100·tolerance). Convergence: after each g update the target marginals are exact, and the source
// marginal error Σ_i |(P1)_i − a_i| (an L1 norm, ≤ 2) is measured for free inside the next f
// update; the loop stops when it falls below `tolerance` or after `max_iterations`. The result
// says whether it converged, after how many iterations, and with what marginal error. Non-finite
// costs, potentials or a plan whose mass is not 1 → numeric_error.

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include <fmt/format.h>

#include "idemgen/core/errors.hpp"
#include "idemgen/core/matrix_view.hpp"
#include "idemgen/core/rng.hpp"

namespace idemgen::transport {

struct sinkhorn_options {
  double epsilon = 0.05;        // ε / mean(C)
  double tolerance = 1e-6;      // on Σ_i |(P1)_i − 1/m|
  int max_iterations = 10000;   // over all stages
  bool epsilon_scaling = true;
};

struct sinkhorn_result {
  std::vector<double> f, g;     // potentials of sources (m) and targets (n)
  double epsilon = 0;           // the absolute ε of the potentials (the requested one when converged)
  double marginal_error = 0;    // Σ_i |(P1)_i − 1/m| at the end
  double transport_cost = 0;    // ⟨P, C⟩
  int iterations = 0;
  bool converged = false;
  /// P(i, j) from the potentials (valid for the cost it was solved on).
  template <class S>
  double plan(matrix_view<const S> costs, index_t i, index_t j) const {
    return std::exp((f[static_cast<std::size_t>(i)] + g[static_cast<std::size_t>(j)] -
                     static_cast<double>(costs(i, j))) / epsilon);
  }
};

class sinkhorn_solver {
 public:
  static constexpr const char* name = "log-domain Sinkhorn";

  template <class S>
  const sinkhorn_result& solve(matrix_view<const S> costs, const sinkhorn_options& o = {}) {
    const index_t m = costs.rows(), n = costs.cols();
    const char* where = "transport::sinkhorn_solver::solve";
    if (m < 1 || n < 1) throw invalid_argument(where, "costs", "a non-empty matrix", fmt::format("{} x {}", m, n));
    if (!(o.epsilon > 0) || !(o.tolerance > 0) || o.max_iterations < 1)
      throw invalid_argument(where, "options", "epsilon > 0, tolerance > 0, max_iterations >= 1",
                             fmt::format("{}, {}, {}", o.epsilon, o.tolerance, o.max_iterations));
    // Target-major copy (column j contiguous) is `costs`; a source-major copy makes the f update
    // contiguous too.
    const S* c = costs.data();
    transposed_.resize(static_cast<std::size_t>(m * n));
    double mean = 0;
    for (index_t j = 0; j < n; ++j)
      for (index_t i = 0; i < m; ++i) {
        const double v = static_cast<double>(c[i + j * m]);
        if (!std::isfinite(v))
          throw numeric_error(where, "costs", "finite values", fmt::format("{} at ({}, {})", v, i, j));
        transposed_[static_cast<std::size_t>(j + i * n)] = v;
        mean += v;
      }
    mean /= static_cast<double>(m * n);
    const double scale = mean > 0 ? mean : 1.0;
    const double eps = o.epsilon * scale;
    r_.epsilon = eps;
    r_.f.assign(static_cast<std::size_t>(m), 0.0);
    r_.g.assign(static_cast<std::size_t>(n), 0.0);
    const double log_a = -std::log(static_cast<double>(m)), log_b = -std::log(static_cast<double>(n));
    const double a = 1.0 / static_cast<double>(m);
    r_.converged = false;
    int it = 0;
    double error = 2;
    double stage_eps = o.epsilon_scaling ? std::max(eps, scale) : eps;
    while (it < o.max_iterations) {
      ++it;
      const bool final_stage = stage_eps <= eps;
      const double stage_tolerance = final_stage ? o.tolerance : 100 * o.tolerance;
      const double e = stage_eps;
      // g_j = ε ln b − ε LSE_i((f_i − C_ij)/ε)
      for (index_t j = 0; j < n; ++j)
        r_.g[static_cast<std::size_t>(j)] = e * (log_b - log_sum_exp(c + j * m, r_.f.data(), m, e));
      // f_i = ε ln a − ε LSE_j((g_j − C_ij)/ε); before it, (P1)_i = exp(f_i/ε + LSE) gives the error.
      error = 0;
      for (index_t i = 0; i < m; ++i) {
        const double lse = log_sum_exp(transposed_.data() + i * n, r_.g.data(), n, e);
        double& fi = r_.f[static_cast<std::size_t>(i)];
        error += std::abs(std::exp(fi / e + lse) - a);
        fi = e * (log_a - lse);
      }
      if (!std::isfinite(error))
        throw numeric_error(where, "potentials", "finite values",
                            fmt::format("a non-finite marginal error after {} iterations (epsilon {})", it, e));
      if (error < stage_tolerance) {
        if (final_stage) {
          r_.converged = true;
          break;
        }
        stage_eps = std::max(eps, stage_eps / 2);
      }
    }
    r_.iterations = it;
    r_.epsilon = stage_eps;  // the ε the potentials belong to (> ε when the cap came first)
    // After the last f update the source marginals are exact; report the target side's error.
    double target_error = 0, mass = 0, transport_cost = 0;
    for (index_t j = 0; j < n; ++j) {
      double column = 0;
      for (index_t i = 0; i < m; ++i) {
        const double cij = static_cast<double>(c[i + j * m]);
        const double p = std::exp((r_.f[static_cast<std::size_t>(i)] + r_.g[static_cast<std::size_t>(j)] - cij) / stage_eps);
        column += p;
        transport_cost += p * cij;
      }
      target_error += std::abs(column - 1.0 / static_cast<double>(n));
      mass += column;
    }
    r_.marginal_error = target_error;
    r_.transport_cost = transport_cost;
    if (!(std::abs(mass - 1.0) < 1e-3))
      throw numeric_error(where, "plan", "total mass 1",
                          fmt::format("{} (epsilon {} too small for the cost's precision?)", mass, stage_eps));
    return r_;
  }

 private:
  // LSE_k((p_k − C_k)/ε) over a contiguous run of costs, with the max subtracted first.
  template <class C>
  static double log_sum_exp(const C* cost, const double* potential, index_t count, double eps) {
    double top = -std::numeric_limits<double>::infinity();
    for (index_t k = 0; k < count; ++k) top = std::max(top, (potential[k] - static_cast<double>(cost[k])) / eps);
    double s = 0;
    for (index_t k = 0; k < count; ++k) s += std::exp((potential[k] - static_cast<double>(cost[k])) / eps - top);
    return top + std::log(s);
  }

  sinkhorn_result r_;
  std::vector<double> transposed_;
};

/// Pairs from an entropic plan, drawn without replacement (m ≥ n): targets in index order;
/// target j takes source i with probability ∝ P(i, j) among the sources not yet taken, from one
/// host uniform draw of `rng` each (weights formed relative to the largest, so they never all
/// underflow; on rounding at the end of the range, the remaining source of largest weight).
/// source_of[j] receives the source; weights and taken are workspace.
template <class S>
void draw_pairs(matrix_view<const S> costs, const sinkhorn_result& plan, random_stream& rng,
                std::vector<index_t>& source_of, std::vector<double>& weights, std::vector<char>& taken) {
  const index_t m = costs.rows(), n = costs.cols();
  if (m < n)
    throw invalid_argument("transport::draw_pairs", "costs", "at least as many sources as targets",
                           fmt::format("{} x {}", m, n));
  taken.assign(static_cast<std::size_t>(m), 0);
  weights.resize(static_cast<std::size_t>(m));
  source_of.resize(static_cast<std::size_t>(n));
  for (index_t j = 0; j < n; ++j) {
    double top = -std::numeric_limits<double>::infinity();
    index_t top_i = -1;
    for (index_t i = 0; i < m; ++i) {
      if (taken[static_cast<std::size_t>(i)]) continue;
      const double log_weight = (plan.f[static_cast<std::size_t>(i)] - static_cast<double>(costs(i, j))) / plan.epsilon;
      weights[static_cast<std::size_t>(i)] = log_weight;
      if (log_weight > top) top = log_weight, top_i = i;
    }
    double total = 0;
    for (index_t i = 0; i < m; ++i)
      if (!taken[static_cast<std::size_t>(i)])
        total += (weights[static_cast<std::size_t>(i)] = std::exp(weights[static_cast<std::size_t>(i)] - top));
    const double u = rng.uniform() * total;
    index_t pick = top_i;
    double acc = 0;
    for (index_t i = 0; i < m; ++i) {
      if (taken[static_cast<std::size_t>(i)]) continue;
      acc += weights[static_cast<std::size_t>(i)];
      if (acc >= u) {
        pick = i;
        break;
      }
    }
    taken[static_cast<std::size_t>(pick)] = 1;
    source_of[static_cast<std::size_t>(j)] = pick;
  }
}

}  // namespace idemgen::transport
