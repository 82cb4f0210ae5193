#pragma once
// Entropic optimal transport between uniform marginals (Cuturi 2013), stabilised by absorbing
// the scalings into log-domain potentials (Schmitzer 2019, Alg. 2): for an m × n cost C
// (sources × targets),
//   P = argmin ⟨P, C⟩ − ε H(P)  s.t.  P 1 = a = 1/m,  Pᵀ 1 = b = 1/n,
//   P_ij = exp((f_i + g_j − C_ij) / ε),   f = α + ε ln u,  g = β + ε ln v,
// and each iteration is the scaling form of Sinkhorn's alternating updates,
//   v = b ⊘ K̃ᵀu,  u = a ⊘ K̃v,   with the stabilised kernel K̃_ij = exp((α_i + β_j − C_ij)/ε),
// two matrix–vector products instead of two sweeps of m·n exponentials. When a scaling leaves
// [e^−τ, e^τ] (τ = 50) it is absorbed into its potential (α += ε ln u, u = 1) and K̃ is rebuilt
// (one vectorised pass of exponentials), so K̃'s entries near the plan's support stay O(1/mn)
// and never underflow — what keeps a small ε safe (LMM and torchcfm users' trap: a plan of zeros
// or of mass 1e-4). Where K̃ᵀu or K̃v has a zero (a source or target whose every kernel entry
// underflowed, say at a cold start with a tiny ε) that half-step is done exactly in the log
// domain instead (g_j = ε ln b − ε LSE_i((f_i − C_ij)/ε)). The iterates are those of log-domain
// Sinkhorn, up to rounding.
//
// ε is stated relative to the cost's scale: ε = epsilon · mean(C) (the mean over all m·n
// entries). With `epsilon_scaling` (default) the solve runs through ε_k = max(ε, mean(C)/2^k),
// each stage warm-started from the last (Schmitzer 2019 §3.2): a small ε's iterations mix
// slowly from cold potentials, and the warm start cuts them by orders of magnitude; only the
// final stage is held to `tolerance` (earlier ones to 100·tolerance). Convergence: after each
// v update the target marginals are exact, and the source marginal error Σ_i |(P1)_i − a_i|
// (an L1 norm, ≤ 2) is read off u ⊙ K̃v inside the next u update; the loop stops when it falls
// below `tolerance` or after `max_iterations`. The result says whether it converged, after how
// many iterations, and with what marginal error. Non-finite costs, potentials or a plan whose
// mass is not 1 → numeric_error.

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "idemgen/core/eigen_core.hpp"
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
  int kernel_builds = 0;        // passes of m·n exponentials (absorptions, stages, log-domain half-steps)
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
  static constexpr const char* name = "stabilised Sinkhorn";

  template <class S>
  const sinkhorn_result& solve(matrix_view<const S> costs, const sinkhorn_options& o = {}) {
    const index_t m = costs.rows(), n = costs.cols();
    const char* where = "transport::sinkhorn_solver::solve";
    if (m < 1 || n < 1) throw invalid_argument(where, "costs", "a non-empty matrix", fmt::format("{} x {}", m, n));
    if (!(o.epsilon > 0) || !(o.tolerance > 0) || o.max_iterations < 1)
      throw invalid_argument(where, "options", "epsilon > 0, tolerance > 0, max_iterations >= 1",
                             fmt::format("{}, {}, {}", o.epsilon, o.tolerance, o.max_iterations));
    cost_ = Eigen::Map<const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>>(costs.data(), m, n).template cast<double>();
    if (!cost_.allFinite()) {
      index_t bad = 0;
      while (std::isfinite(cost_.data()[bad])) ++bad;
      throw numeric_error(where, "costs", "finite values",
                          fmt::format("{} at ({}, {})", cost_.data()[bad], bad % m, bad / m));
    }
    const double mean = cost_.mean();
    const double scale = mean > 0 ? mean : 1.0;
    const double eps = o.epsilon * scale;
    alpha_.setZero(m);
    beta_.setZero(n);
    u_.setOnes(m);
    v_.setOnes(n);
    const double a = 1.0 / static_cast<double>(m), b = 1.0 / static_cast<double>(n);
    r_.converged = false;
    r_.kernel_builds = 0;
    int it = 0;
    double error = 2;
    double e = o.epsilon_scaling ? std::max(eps, scale) : eps;
    build_kernel(e);
    while (it < o.max_iterations) {
      ++it;
      const bool final_stage = e <= eps;
      const double stage_tolerance = final_stage ? o.tolerance : 100 * o.tolerance;
      // v = b ⊘ K̃ᵀu (g_j = ε ln b − ε LSE_i((f_i − C_ij)/ε)); the target marginals are now exact.
      column_sums_.noalias() = kernel_.transpose() * u_;
      if (safe_divisors(column_sums_, b)) {
        v_ = b / column_sums_.array();
      } else {
        log_domain_half_step(/*targets=*/true, e, a, b);
      }
      // u = a ⊘ K̃v; before it, (P1)_i = u_i (K̃v)_i gives the source marginal error.
      row_sums_.noalias() = kernel_ * v_;
      if (safe_divisors(row_sums_, a)) {
        error = (u_.array() * row_sums_.array() - a).abs().sum();
        u_ = a / row_sums_.array();
      } else {
        error = log_domain_half_step(/*targets=*/false, e, a, b);
      }
      if (!std::isfinite(error))
        throw numeric_error(where, "potentials", "finite values",
                            fmt::format("a non-finite marginal error after {} iterations (epsilon {})", it, e));
      const bool stage_done = error < stage_tolerance;
      if (stage_done && final_stage) {
        r_.converged = true;
        break;
      }
      if (stage_done) {
        absorb(e);
        e = std::max(eps, e / 2);
        build_kernel(e);
      } else if (scalings_out_of_range()) {
        absorb(e);
        build_kernel(e);
      }
    }
    r_.iterations = it;
    r_.epsilon = e;  // the ε the potentials belong to (> ε when the cap came first)
    // After the last u update the source marginals are exact; report the target side's error.
    r_.f.resize(static_cast<std::size_t>(m));
    r_.g.resize(static_cast<std::size_t>(n));
    for (index_t i = 0; i < m; ++i) r_.f[static_cast<std::size_t>(i)] = alpha_(i) + e * std::log(u_(i));
    for (index_t j = 0; j < n; ++j) r_.g[static_cast<std::size_t>(j)] = beta_(j) + e * std::log(v_(j));
    // P = diag(u) K̃ diag(v)
    column_sums_.noalias() = kernel_.transpose() * u_;
    column_sums_.array() *= v_.array();
    r_.marginal_error = (column_sums_.array() - b).abs().sum();
    const double mass = column_sums_.sum();
    r_.transport_cost = 0;
    for (index_t j = 0; j < n; ++j)
      r_.transport_cost += v_(j) * (u_.array() * kernel_.col(j).array() * cost_.col(j).array()).sum();
    if (!std::isfinite(r_.transport_cost) || !(std::abs(mass - 1.0) < 1e-3))
      throw numeric_error(where, "plan", "total mass 1",
                          fmt::format("{} (epsilon {} too small for the cost's precision?)", mass, e));
    return r_;
  }

 private:
  static constexpr double absorb_bound = 50;  // τ: absorb a scaling outside [e^−τ, e^τ]

  // K̃ = exp((α_i + β_j − C_ij)/ε), one vectorised pass.
  void build_kernel(double e) {
    kernel_ = ((((-cost_).colwise() + alpha_).rowwise() + beta_.transpose()).array() / e).exp().matrix();
    ++r_.kernel_builds;
  }
  void absorb(double e) {
    alpha_.array() += e * u_.array().log();
    beta_.array() += e * v_.array().log();
    u_.setOnes();
    v_.setOnes();
  }
  // `sums` can divide `marginal` to finite, positive scalings: every entry finite and above
  // marginal · 1e-300 (false on a NaN too). Otherwise some row or column of K̃ underflowed.
  static bool safe_divisors(const Eigen::VectorXd& sums, double marginal) {
    return sums.minCoeff() > marginal * 1e-300 && sums.allFinite();
  }
  bool scalings_out_of_range() const {
    const double lo = std::exp(-absorb_bound), hi = std::exp(absorb_bound);
    return u_.minCoeff() < lo || u_.maxCoeff() > hi || v_.minCoeff() < lo || v_.maxCoeff() > hi;
  }
  // The half-step in the log domain, for when some kernel row or column underflowed: the
  // potentials absorb the scalings, the side's potential is updated exactly by a log-sum-exp with
  // the max subtracted first, and K̃ is rebuilt. For the sources, returns the marginal error
  // measured before the update.
  double log_domain_half_step(bool targets, double e, double a, double b) {
    absorb(e);
    // exponents(i, j) = (α_i + β_j − C_ij)/ε with the side being updated left out
    Eigen::MatrixXd& exponents = kernel_;
    double error = 0;
    if (targets) {
      exponents = ((-cost_).colwise() + alpha_) / e;
      for (index_t j = 0; j < exponents.cols(); ++j) {
        const double top = exponents.col(j).maxCoeff();
        const double lse = top + std::log((exponents.col(j).array() - top).exp().sum());
        beta_(j) = e * (std::log(b) - lse);
      }
    } else {
      exponents = ((-cost_).rowwise() + beta_.transpose()) / e;
      for (index_t i = 0; i < exponents.rows(); ++i) {
        const double top = exponents.row(i).maxCoeff();
        const double lse = top + std::log((exponents.row(i).array() - top).exp().sum());
        error += std::abs(std::exp(alpha_(i) / e + lse) - a);
        alpha_(i) = e * (std::log(a) - lse);
      }
    }
    build_kernel(e);
    return error;
  }

  sinkhorn_result r_;
  Eigen::MatrixXd cost_, kernel_;
  Eigen::VectorXd alpha_, beta_, u_, v_, column_sums_, row_sums_;
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
