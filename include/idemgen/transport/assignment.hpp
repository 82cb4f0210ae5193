#pragma once
// Exact dense linear assignment, rectangular: each of n targets (the columns of an m × n cost
// matrix, m ≥ n) gets its own source (a row), minimising Σ_j C(π(j), j). Every target is used
// exactly once and every source at most once — a permutation when m = n, never a plan sampled
// with replacement.
//
// Algorithm: shortest augmenting paths (Jonker & Volgenant 1987), one Dijkstra search over
// reduced costs per target, in the rectangular form of Crouse (2016, IEEE TAES 52(4), Alg. 1 —
// the algorithm of SciPy's linear_sum_assignment), started on square problems from the prices of
// a short ε-scaling auction (see warm_start). The duals are kept in double whatever the
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
  long auction_bids = 0;         // bids of the warm start (0 without one)
};

/// Reusable workspace: solving again with the same sizes allocates nothing.
class assignment_solver {
 public:
  static constexpr const char* name = "shortest augmenting path (Jonker-Volgenant / Crouse)";
  /// Square problems (n ≥ 64): start the searches from the source prices of a few ε-scaling
  /// auction rounds (Bertsekas 1988) instead of from zero. On point clouds (noise → data in 2-D)
  /// cold searches grow long because every target first wants the same few sources; with the
  /// prices most targets find a free source of zero reduced cost at once. The result is the same
  /// optimum with the same certificate: only the starting duals differ.
  bool warm_start = true;

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
    r_.augmentations = r_.scanned = r_.auction_bids = 0;
    target_of_.assign(static_cast<std::size_t>(m), -1);
    path_.resize(static_cast<std::size_t>(m));
    dist_.resize(static_cast<std::size_t>(m));
    w_.resize(static_cast<std::size_t>(m));
    final_.resize(static_cast<std::size_t>(m));
    visited_list_.reserve(static_cast<std::size_t>(n));  // no growth inside a search
    scanned_sources_.reserve(static_cast<std::size_t>(m));
    if (m == n && warm_start && n >= 64) auction_prices(c, n);
    for (index_t target = 0; target < n; ++target) augment(c, m, target);
    double total = 0;
    for (index_t j = 0; j < n; ++j) total += static_cast<double>(c[r_.source_of[static_cast<std::size_t>(j)] + j * m]);
    r_.cost = total;
    return r_;
  }

 private:
  // ε-scaling forward auction on a square problem, used only for its prices p (source i costs
  // C(i, j) + p_i to every target): rounds at ε = range/4, range/32, … while ε ≥ range·1e-2/n,
  // at most 16 n bids each (settings measured on grid-25 and uniform costs, docs/PERFORMANCE.md).
  // Then v = −p and u_j = min_i C(i, j) + p_i are feasible duals for the searches (every reduced
  // cost ≥ 0); the auction's assignment itself is dropped, since a freshly won pair sits ε above
  // its target's minimum.
  template <class S>
  void auction_prices(const S* c, index_t n) {
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (index_t e = 0; e < n * n; ++e) lo = std::min(lo, static_cast<double>(c[e])), hi = std::max(hi, static_cast<double>(c[e]));
    const double range = hi - lo;
    if (!(range > 0)) return;
    std::vector<double>& price = w_;  // workspace until the searches start
    std::fill(price.begin(), price.end(), 0.0);
    owner_.assign(static_cast<std::size_t>(n), -1);
    // A circular queue of the unassigned targets: n + 1 slots, so that a full queue (all n
    // targets, at the start of a round) and an empty one (head == tail) differ.
    const std::size_t slots = static_cast<std::size_t>(n) + 1;
    queue_.resize(slots);
    const double final_eps = range * 1e-2 / static_cast<double>(n);
    long bids = 0;
    const long bid_cap = 16L * n;  // per round: the prices only need to be good, not final
    for (double eps = range / 4; eps >= final_eps; eps /= 8) {
      std::fill(owner_.begin(), owner_.end(), -1);
      for (index_t j = 0; j < n; ++j) queue_[static_cast<std::size_t>(j)] = j;
      std::size_t head = 0, tail = static_cast<std::size_t>(n);  // circular queue of unassigned targets
      long round_bids = 0;
      while (head != tail && round_bids < bid_cap) {
        const index_t j = queue_[head];
        head = (head + 1) % slots;
        const S* column = c + j * n;
        double best = 0, second = 0;
        const index_t best_i = best_two(column, price.data(), n, best, second);
        price[static_cast<std::size_t>(best_i)] += second - best + eps;
        const index_t previous = owner_[static_cast<std::size_t>(best_i)];
        owner_[static_cast<std::size_t>(best_i)] = j;
        if (previous >= 0) {
          queue_[tail] = previous;
          tail = (tail + 1) % slots;
        }
        ++round_bids;
      }
      bids += round_bids;
    }
    // Prices as duals: v = −p (then shifted so that max v = 0), u_j = min_i C(i, j) − v_i.
    double top = 0;
    for (index_t i = 0; i < n; ++i) top = std::max(top, -price[static_cast<std::size_t>(i)]);
    for (index_t i = 0; i < n; ++i) r_.v[static_cast<std::size_t>(i)] = -price[static_cast<std::size_t>(i)] - top;
    for (index_t j = 0; j < n; ++j) {
      const S* column = c + j * n;
      double lowest = std::numeric_limits<double>::infinity();
      for (index_t i = 0; i < n; ++i)
        lowest = std::min(lowest, static_cast<double>(column[i]) - r_.v[static_cast<std::size_t>(i)]);
      r_.u[static_cast<std::size_t>(j)] = lowest;
    }
    r_.auction_bids = bids;
  }

  // The smallest and second smallest of C(i) + p_i and the index of the smallest (its first
  // occurrence). Eight independent lanes of branch-free min/max (the compiler packs them into
  // vector instructions), merged at the end, then one scan for the index.
  template <class S>
  static index_t best_two(const S* column, const double* price, index_t n, double& best, double& second) {
    constexpr int lanes = 8;
    constexpr double inf = std::numeric_limits<double>::infinity();
    double b[lanes], s2[lanes];
    for (int l = 0; l < lanes; ++l) b[l] = s2[l] = inf;
    index_t i = 0;
    for (; i + lanes <= n; i += lanes)
      for (int l = 0; l < lanes; ++l) {
        const double v = static_cast<double>(column[i + l]) + price[i + l];
        s2[l] = std::min(s2[l], std::max(b[l], v));
        b[l] = std::min(b[l], v);
      }
    for (; i < n; ++i) {
      const double v = static_cast<double>(column[i]) + price[i];
      s2[0] = std::min(s2[0], std::max(b[0], v));
      b[0] = std::min(b[0], v);
    }
    best = b[0], second = s2[0];
    for (int l = 1; l < lanes; ++l) {
      second = std::min({second, s2[l], std::max(best, b[l])});
      best = std::min(best, b[l]);
    }
    for (index_t k = 0; k < n; ++k)
      if (static_cast<double>(column[k]) + price[k] == best) return k;
    return 0;
  }

  // One Dijkstra search from `start` over reduced costs C(i, j) − u_j − v_i, to the nearest free
  // source; then the dual update and the augmentation along the path (Crouse Alg. 1, l. 5–23).
  // Every source is scanned in index order over contiguous arrays (no list of remaining
  // sources): a scanned source has its distance moved to final_ and is masked out with
  // dist = +∞ and w = −∞, so that base + C − w = +∞ never lowers it again.
  template <class S>
  void augment(const S* c, index_t m, index_t start) {
    constexpr double inf = std::numeric_limits<double>::infinity();
    double* dist = dist_.data();
    double* w = w_.data();
    index_t* path = path_.data();
    std::fill(dist_.begin(), dist_.end(), inf);
    std::copy(r_.v.begin(), r_.v.end(), w_.begin());
    double min_value = 0;
    index_t target = start, sink = -1;
    visited_list_.clear();
    scanned_sources_.clear();
    while (sink < 0) {
      visited_list_.push_back(target);
      const S* column = c + target * m;
      const double base = min_value - r_.u[static_cast<std::size_t>(target)];
      for (index_t i = 0; i < m; ++i) {
        const double reduced = base + static_cast<double>(column[i]) - w[i];
        const bool better = reduced < dist[i];
        dist[i] = better ? reduced : dist[i];
        path[i] = better ? target : path[i];
      }
      index_t best = 0;
      double lowest = dist[0];
      for (index_t i = 1; i < m; ++i)
        if (dist[i] < lowest) lowest = dist[i], best = i;
      r_.scanned += m - static_cast<index_t>(scanned_sources_.size());
      min_value = lowest;
      if (!(min_value < inf))
        throw numeric_error("transport::assignment_solver::solve", "costs", "a feasible assignment",
                            "no augmenting path (costs overflow)");
      final_[static_cast<std::size_t>(best)] = lowest;
      dist[best] = inf;
      w[best] = -inf;
      scanned_sources_.push_back(best);
      if (target_of_[static_cast<std::size_t>(best)] < 0)
        sink = best;
      else
        target = target_of_[static_cast<std::size_t>(best)];
    }
    // Dual update (keeps every reduced cost ≥ 0 and those on the tree at 0).
    r_.u[static_cast<std::size_t>(start)] += min_value;
    for (const index_t j : visited_list_)
      if (j != start)
        r_.u[static_cast<std::size_t>(j)] +=
            min_value - final_[static_cast<std::size_t>(r_.source_of[static_cast<std::size_t>(j)])];
    for (const index_t i : scanned_sources_)
      r_.v[static_cast<std::size_t>(i)] -= min_value - final_[static_cast<std::size_t>(i)];
    // Augment: flip the alternating path from the sink back to the start.
    for (index_t i = sink;;) {
      const index_t j = path[i];
      target_of_[static_cast<std::size_t>(i)] = j;
      const index_t previous = r_.source_of[static_cast<std::size_t>(j)];
      r_.source_of[static_cast<std::size_t>(j)] = i;
      if (j == start) break;
      i = previous;
    }
    ++r_.augmentations;
  }

  assignment r_;
  std::vector<index_t> target_of_, path_, visited_list_, scanned_sources_, owner_;
  std::vector<std::size_t> queue_;
  std::vector<double> dist_, w_, final_;
};

}  // namespace idemgen::transport
