#pragma once
// coupling::ot_pool<B, Solver> — one mini-batch OT solve served over several SGD steps: the
// options torchcfm's users asked for (its issues #135, #120).
//   - An OT batch larger than the SGD batch: refill() takes K·N data points, draws fresh sources,
//     solves one assignment over all of them (min Σ_i D(image(z_{π(i)}), x_i), as
//     coupling::minibatch_ot does for N), and next() serves the pairs as K SGD batches of N.
//     A larger OT batch is closer to the full OT coupling (Tong et al. 2024, §3.2); the solve
//     grows as (K·N)² memory and between (K·N)² and (K·N)³ time.
//   - Plan reuse: with `passes` P the K batches are served P times over (the same pairs, in the
//     same order), so one solve serves K·P steps. A noised model draws fresh levels and noise at
//     every step, so a reused pair is a new training point; a one-step model's candidates were
//     priced by f at the solve, so its plan ages as f trains.
//   - Per-label coupling: with labels, the assignment is solved within each label (sources are
//     fresh draws, split into blocks of the labels' sizes), so a pair never crosses a label, and
//     labels() gives the served batch's labels for a conditional model.
// The pool runs outside the step: the caller (train::train_pooled, or its own loop) refills it
// when empty() and hands next() to generator::train_step_on_pairs. Sources are N(0, I) draws from
// the generator's stream, as minibatch_ot draws them; with K = P = 1 and no labels the pool makes
// the same pairs from the same stream as minibatch_ot in the step (tested).

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <span>
#include <type_traits>
#include <vector>

#include <fmt/format.h>

#include "idemgen/core/errors.hpp"
#include "idemgen/couplings/minibatch_ot.hpp"

namespace idemgen::coupling {

struct pool_options {
  int steps_per_solve = 1;             // K: the OT batch is K·N data points
  int passes = 1;                      // P: each of the K batches is served P times
  double candidates_per_sample = 1.0;  // M / N ≥ 1 candidates per data point (per label)
  transport::sinkhorn_options sinkhorn_options = {};  // Solver = sinkhorn only
};

template <class B, class Solver = exact>
class ot_pool {
  static_assert(std::is_same_v<Solver, exact> || std::is_same_v<Solver, sinkhorn>,
                "coupling::ot_pool<B, Solver>: Solver is coupling::exact or coupling::sinkhorn");
  using S = typename B::scalar;
  using const_view = typename B::const_view;

 public:
  /// A pool serving SGD batches of `sgd_batch` pairs.
  ot_pool(index_t sgd_batch, pool_options options) : batch_(sgd_batch), options_(options) {
    idemgen::detail::require_option(sgd_batch > 0, "coupling::ot_pool", "sgd_batch", "> 0", std::to_string(sgd_batch));
    idemgen::detail::require_option(options.steps_per_solve >= 1, "coupling::ot_pool", "steps_per_solve", ">= 1",
                                    std::to_string(options.steps_per_solve));
    idemgen::detail::require_option(options.passes >= 1, "coupling::ot_pool", "passes", ">= 1",
                                    std::to_string(options.passes));
    idemgen::detail::require_option(options.candidates_per_sample >= 1, "coupling::ot_pool", "candidates_per_sample",
                                    ">= 1", fmt::format("{}", options.candidates_per_sample));
  }

  /// K·N: how many data points refill() takes.
  index_t ot_batch() const { return batch_ * options_.steps_per_solve; }
  /// Steps one solve serves (K·P).
  long steps_per_refill() const { return static_cast<long>(options_.steps_per_solve) * options_.passes; }
  bool empty() const { return served_ >= steps_per_refill(); }

  /// Solves the assignment of fresh sources to `data` (dim × K·N), within each label when
  /// `labels` (one per column) is given. `gen` gives the pricing space (gen.image: f(z) for a
  /// one-step model, z for a noised one), the metric and the random stream.
  template <class Generator>
  void refill(Generator& gen, const_view data, std::span<const int> labels = {}) {
    static_assert(metric::transport_cost<std::remove_cvref_t<decltype(gen.metric())>, B>,
                  "coupling::ot_pool: the metric must be a transport cost (m.cost<B>(a, b, out) giving D(a_i, b_j) "
                  "exactly; see include/idemgen/metrics/metric.hpp)");
    const auto started = std::chrono::steady_clock::now();
    const index_t n = ot_batch(), d = data.rows();
    idemgen::detail::require_dim("coupling::ot_pool::refill", "data", "columns (K x N)", n, data.cols());
    if (!labels.empty())
      idemgen::detail::require_dim("coupling::ot_pool::refill", "labels", "size", n,
                                   static_cast<index_t>(labels.size()));
    group_targets(labels);
    // Fresh sources, a block of ⌈ratio · n_g⌉ per label group, in one draw.
    index_t m = 0;
    for (auto& g : groups_) {
      g.first_source = m;
      g.sources = static_cast<index_t>(std::ceil(options_.candidates_per_sample * static_cast<double>(g.targets.size())));
      m += g.sources;
    }
    candidates_.resize(d, m);
    images_.resize(d, m);
    B::fill_normal(candidates_, gen.rng());
    const const_view images = gen.image(candidates_, images_);
    // Targets grouped by label, so that each group's columns are contiguous for the metric.
    order_.clear();
    for (const auto& g : groups_) order_.insert(order_.end(), g.targets.begin(), g.targets.end());
    grouped_index_.resize(1, n);
    B::copy_from_host(order_.data(), grouped_index_);
    grouped_.resize(d, n);
    B::gather_columns(data, grouped_index_, grouped_);
    last_ = {};
    host_assigned_.assign(static_cast<std::size_t>(n), -1);
    index_t first_target = 0;
    for (const auto& g : groups_) {
      const auto count = static_cast<index_t>(g.targets.size());
      costs_.resize(g.sources, count);
      gen.metric().template cost<B>(const_view(images).columns(g.first_source, g.sources),
                                    const_view(grouped_).columns(first_target, count), costs_);
      const matrix_view<const S> host = costs_on_host<B>(costs_, host_costs_);
      assign<Solver>(host, solver_, options_.sinkhorn_options, gen.rng(), source_of_, weights_, taken_, last_);
      for (index_t j = 0; j < count; ++j) {
        const index_t i = source_of_[static_cast<std::size_t>(j)];
        last_.independent_cost += static_cast<double>(host(j, j));
        last_.coupled_cost += static_cast<double>(host(i, j));
        host_assigned_[static_cast<std::size_t>(g.targets[static_cast<std::size_t>(j)])] = g.first_source + i;
      }
      first_target += count;
    }
    // The served pairs: target columns in data order, each with its assigned source.
    assigned_.resize(1, n);
    B::copy_from_host(host_assigned_.data(), assigned_);
    sources_.resize(d, n);
    B::gather_columns(candidates_, assigned_, sources_);
    targets_.resize(d, n);
    B::copy(data, targets_);
    labels_.assign(labels.begin(), labels.end());
    served_ = 0;
    seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  }

  /// The next SGD batch of N pairs (batch k = served mod K: columns kN … kN + N − 1 of the
  /// refill's data and their sources). Valid until the next refill.
  pairing<B> next() {
    if (empty())
      throw invalid_argument("coupling::ot_pool::next", "pool", "a refill after every K x P served batches",
                             fmt::format("{} of {} served", served_, steps_per_refill()));
    current_ = static_cast<index_t>(served_ % options_.steps_per_solve);
    ++served_;
    return {const_view(sources_).columns(current_ * batch_, batch_),
            const_view(targets_).columns(current_ * batch_, batch_)};
  }
  /// The labels of the batch next() served last (empty without labels).
  std::span<const int> labels() const {
    if (labels_.empty()) return {};
    return std::span<const int>(labels_).subspan(static_cast<std::size_t>(current_ * batch_),
                                                 static_cast<std::size_t>(batch_));
  }
  /// The last refill's measurements over all K·N pairs (costs summed over the label groups).
  const report& last() const { return last_; }
  /// source_of[j]: the candidate (column of candidates()) paired with data column j.
  const std::vector<index_t>& source_of() const { return host_assigned_; }
  const typename B::matrix& candidates() const { return candidates_; }
  /// Wall-clock seconds spent in refill() so far.
  double seconds() const { return seconds_; }

 private:
  struct group {
    std::vector<index_t> targets;  // data columns with this label, in data order
    index_t first_source = 0, sources = 0;
  };
  void group_targets(std::span<const int> labels) {
    if (labels.empty()) {  // one group, its buffer kept from refill to refill
      groups_.resize(1);
      groups_[0].targets.resize(static_cast<std::size_t>(ot_batch()));
      for (index_t j = 0; j < ot_batch(); ++j) groups_[0].targets[static_cast<std::size_t>(j)] = j;
      return;
    }
    groups_.clear();
    std::map<int, std::vector<index_t>> by_label;  // labels in increasing order: a fixed source split
    for (index_t j = 0; j < ot_batch(); ++j) by_label[labels[static_cast<std::size_t>(j)]].push_back(j);
    for (auto& [label, targets] : by_label) groups_.push_back({std::move(targets), 0, 0});
  }

  index_t batch_;
  pool_options options_;
  std::vector<group> groups_;
  std::vector<index_t> order_, host_assigned_, source_of_;
  typename B::matrix candidates_, images_, grouped_, costs_, sources_, targets_;
  typename B::index_matrix grouped_index_, assigned_;
  std::vector<S> host_costs_;
  std::vector<double> weights_;
  std::vector<char> taken_;
  typename Solver::solver_type solver_;
  std::vector<int> labels_;
  report last_;
  long served_ = 1L << 62;  // empty until the first refill
  index_t current_ = 0;
  double seconds_ = 0;
};

}  // namespace idemgen::coupling
