#pragma once
// Exact dense linear assignment, rectangular: each of n targets (the columns of an m × n cost
// matrix, m ≥ n) gets its own source (a row), minimising Σ_j C(π(j), j). Every target is used
// exactly once and every source at most once — a permutation when m = n, never a plan sampled
// with replacement.
//
// Algorithm: shortest augmenting paths (Jonker & Volgenant 1987), one Dijkstra search over
// reduced costs per target, in the rectangular form of Crouse (2016, IEEE TAES 52(4), Alg. 1 —
// the algorithm of SciPy's linear_sum_assignment). The duals are kept in double whatever the
// cost's type, and are returned: with u (targets) and v (sources),
//   C(i, j) − u_j − v_i ≥ 0 for every (i, j), = 0 on the assignment, v_i ≤ 0, = 0 on unused
// sources — a certificate of optimality that tests check (reduced costs ≥ 0 within tolerance).
// Costs: column j (target j's costs over every source) is contiguous, the layout of
// metric::cost(sources, targets). NaN or ±Inf → numeric_error; m < n → invalid_argument.

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include <fmt/format.h>

#include "idemgen/core/errors.hpp"
#include "idemgen/core/matrix_view.hpp"

namespace idemgen::transport {

/// The solution: source_of[j] is the source (row) assigned to target (column) j.
struct assignment {
  std::vector<index_t> source_of;
  double cost = 0;               // Σ_j C(source_of[j], j), summed in double
  std::vector<double> u, v;      // duals of targets (n) and sources (m): the certificate
  long augmentations = 0;        // Dijkstra searches run (n)
  long scanned = 0;              // reduced costs evaluated over all searches
};

/// Reusable workspace: solving again with the same sizes allocates nothing.
class assignment_solver {
 public:
  static constexpr const char* name = "shortest augmenting path (Jonker-Volgenant / Crouse)";

  template <class S>
  const assignment& solve(matrix_view<const S> costs) {
    const index_t m = costs.rows(), n = costs.cols();
    if (m < n)
      throw invalid_argument("transport::assignment_solver::solve", "costs",
                             "at least as many sources (rows) as targets (columns)",
                             fmt::format("{} x {}", m, n));
    const S* c = costs.data();
    for (index_t e = 0; e < m * n; ++e)
      if (!std::isfinite(static_cast<double>(c[e])))
        throw numeric_error("transport::assignment_solver::solve", "costs", "finite values",
                            fmt::format("{} at ({}, {})", static_cast<double>(c[e]), e % m, e / m));
    r_.source_of.assign(static_cast<std::size_t>(n), -1);
    r_.u.assign(static_cast<std::size_t>(n), 0.0);
    r_.v.assign(static_cast<std::size_t>(m), 0.0);
    r_.augmentations = r_.scanned = 0;
    target_of_.assign(static_cast<std::size_t>(m), -1);
    path_.resize(static_cast<std::size_t>(m));
    shortest_.resize(static_cast<std::size_t>(m));
    remaining_.resize(static_cast<std::size_t>(m));
    for (index_t target = 0; target < n; ++target) augment(c, m, target);
    double total = 0;
    for (index_t j = 0; j < n; ++j) total += static_cast<double>(c[r_.source_of[static_cast<std::size_t>(j)] + j * m]);
    r_.cost = total;
    return r_;
  }

 private:
  // One Dijkstra search from `start` over reduced costs C(i, j) − u_j − v_i, to the nearest free
  // source; then the dual update and the augmentation along the path (Crouse Alg. 1, l. 5–23).
  template <class S>
  void augment(const S* c, index_t m, index_t start) {
    constexpr double inf = std::numeric_limits<double>::infinity();
    std::fill(shortest_.begin(), shortest_.end(), inf);
    for (index_t i = 0; i < m; ++i) remaining_[static_cast<std::size_t>(i)] = m - 1 - i;
    index_t left = m;
    double min_value = 0;
    index_t target = start, sink = -1;
    visited_list_.clear();
    scanned_sources_.clear();
    while (sink < 0) {
      visited_list_.push_back(target);
      const S* column = c + target * m;
      const double base = min_value - r_.u[static_cast<std::size_t>(target)];
      index_t best_slot = -1;
      double lowest = inf;
      for (index_t slot = 0; slot < left; ++slot) {
        const index_t i = remaining_[static_cast<std::size_t>(slot)];
        const double reduced = base + static_cast<double>(column[i]) - r_.v[static_cast<std::size_t>(i)];
        double& sp = shortest_[static_cast<std::size_t>(i)];
        if (reduced < sp) {
          path_[static_cast<std::size_t>(i)] = target;
          sp = reduced;
        }
        // Ties go to a free source: it ends the search one step earlier.
        if (sp < lowest || (sp == lowest && target_of_[static_cast<std::size_t>(i)] < 0)) {
          lowest = sp;
          best_slot = slot;
        }
      }
      r_.scanned += left;
      min_value = lowest;
      if (!(min_value < inf))
        throw numeric_error("transport::assignment_solver::solve", "costs", "a feasible assignment",
                            "no augmenting path (costs overflow)");
      const index_t i = remaining_[static_cast<std::size_t>(best_slot)];
      scanned_sources_.push_back(i);
      remaining_[static_cast<std::size_t>(best_slot)] = remaining_[static_cast<std::size_t>(--left)];
      if (target_of_[static_cast<std::size_t>(i)] < 0)
        sink = i;
      else
        target = target_of_[static_cast<std::size_t>(i)];
    }
    // Dual update (keeps every reduced cost ≥ 0 and those on the tree at 0).
    r_.u[static_cast<std::size_t>(start)] += min_value;
    for (const index_t j : visited_list_)
      if (j != start)
        r_.u[static_cast<std::size_t>(j)] +=
            min_value - shortest_[static_cast<std::size_t>(r_.source_of[static_cast<std::size_t>(j)])];
    for (const index_t i : scanned_sources_)
      r_.v[static_cast<std::size_t>(i)] -= min_value - shortest_[static_cast<std::size_t>(i)];
    // Augment: flip the alternating path from the sink back to the start.
    for (index_t i = sink;;) {
      const index_t j = path_[static_cast<std::size_t>(i)];
      target_of_[static_cast<std::size_t>(i)] = j;
      const index_t previous = r_.source_of[static_cast<std::size_t>(j)];
      r_.source_of[static_cast<std::size_t>(j)] = i;
      if (j == start) break;
      i = previous;
    }
    ++r_.augmentations;
  }

  assignment r_;
  std::vector<index_t> target_of_, path_, remaining_, visited_list_, scanned_sources_;
  std::vector<double> shortest_;
};

}  // namespace idemgen::transport
