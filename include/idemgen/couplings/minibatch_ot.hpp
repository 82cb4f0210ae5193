#pragma once
// coupling::minibatch_ot<Solver> — a one-to-one assignment between M = ⌈ratio · N⌉ fresh source
// draws z_j ~ N(0, I) and the N data points, minimising the summed metric cost of the pairs,
// Σ_i D(image(z_{π(i)}), x_i) (Pooladian et al. 2023; Tong et al. 2024; LMM eq. 10):
//   - noised models price z against y (image = identity): OT-CFM with squared_l2 (ratio 1);
//   - one-step models price f(z_j) against x_i: OT-coupled NAIGN, where every data point gets its
//     own candidate (IMLE's nearest candidate may serve many), so an uneven split of the
//     generated mass over the modes costs something. ratio > 1 is a rectangular assignment.
// Solvers:
//   exact     transport::assignment_solver — every target once, every source at most once.
//   sinkhorn  transport::sinkhorn_solver (stabilised, ε relative to mean(C)); the pairs are drawn
//             from the plan without replacement (transport::draw_pairs).
// The cost needs the exact metric value (metric::transport_cost). On a device backend the
// cost matrix travels to the host for the solver and the assignment back.

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include <fmt/format.h>

#include "idemgen/core/errors.hpp"
#include "idemgen/couplings/coupling.hpp"
#include "idemgen/distributed/collective.hpp"
#include "idemgen/metrics/metric.hpp"
#include "idemgen/transport/assignment.hpp"
#include "idemgen/transport/sinkhorn.hpp"

namespace idemgen::coupling {

/// Solver tags.
struct exact {
  static constexpr const char* name = "exact";
  using solver_type = transport::assignment_solver;
};
struct sinkhorn {
  static constexpr const char* name = "sinkhorn";
  using solver_type = transport::sinkhorn_solver;
};

/// The cost matrix as a host view: the matrix itself on the CPU, a copy in `buffer` on a device.
template <class B>
matrix_view<const typename B::scalar> costs_on_host(const typename B::matrix& costs,
                                                    std::vector<typename B::scalar>& buffer) {
  using S = typename B::scalar;
  if constexpr (std::is_same_v<typename B::space, host_space>) {
    return matrix_view<const S>(costs.data(), costs.rows(), costs.cols());
  } else {
    buffer.resize(static_cast<std::size_t>(costs.rows() * costs.cols()));
    B::copy_to_host(costs, buffer.data());
    return matrix_view<const S>(buffer.data(), costs.rows(), costs.cols());
  }
}

/// One solve on host costs (sources × targets): source_of[j] is target j's source, every source
/// used at most once. Adds the solver's iterations and, for Sinkhorn, its convergence and
/// marginal error to `r`. What minibatch_ot and ot_pool call.
template <class Solver, class S>
void assign(matrix_view<const S> costs, typename Solver::solver_type& solver,
            const transport::sinkhorn_options& sinkhorn_options, random_stream& rng,
            std::vector<index_t>& source_of, std::vector<double>& weights, std::vector<char>& taken, report& r) {
  if constexpr (std::is_same_v<Solver, exact>) {
    const auto& a = solver.solve(costs);
    source_of.assign(a.source_of.begin(), a.source_of.end());
    r.iterations += static_cast<int>(a.augmentations);
  } else {
    const auto& plan = solver.solve(costs, sinkhorn_options);
    transport::draw_pairs(costs, plan, rng, source_of, weights, taken);
    r.iterations += plan.iterations;
    r.converged = r.converged && plan.converged;
    r.marginal_error = std::max(r.marginal_error, plan.marginal_error);
  }
}

template <class Solver = exact>
struct minibatch_ot {
  static_assert(std::is_same_v<Solver, exact> || std::is_same_v<Solver, sinkhorn>,
                "coupling::minibatch_ot<Solver>: Solver is coupling::exact or coupling::sinkhorn");
  static constexpr const char* name = std::is_same_v<Solver, exact> ? "minibatch_ot" : "minibatch_sinkhorn";
  double candidates_per_sample = 1.0;             // M / N ≥ 1
  transport::sinkhorn_options sinkhorn_options = {};  // sinkhorn only

  template <class B>
  struct state {
    using S = typename B::scalar;
    typename B::matrix candidates, images, costs, selected;
    typename B::index_matrix assigned;
    std::vector<S> host_costs;             // device backends only
    std::vector<index_t> host_assigned;
    std::vector<char> taken;
    std::vector<double> weights;           // sinkhorn's draw
    typename Solver::solver_type solver;
    coupling::report last;
    typename B::matrix all_candidates, all_images, all_data;  // data-parallel, global solve only
    std::vector<S> host_local, host_all;
  };

  template <class Ctx>
  pairing<typename Ctx::backend_type> operator()(Ctx& ctx, state<typename Ctx::backend_type>& s) const {
    using B = typename Ctx::backend_type;
    using S = typename B::scalar;
    static_assert(metric::transport_cost<std::remove_cvref_t<decltype(ctx.metric())>, B>,
                  "coupling::minibatch_ot: the metric must be a transport cost (m.cost<B>(a, b, out) "
                  "giving D(a_i, b_j) exactly; see include/idemgen/metrics/metric.hpp)");
    const index_t n = ctx.batch(), d = ctx.dim();
    typename B::const_view images =
        draw_candidates(ctx, candidates_per_sample, s.candidates, s.images, "coupling::minibatch_ot");
    typename B::const_view candidates = s.candidates, targets = ctx.batch_data();
    // Data-parallel with a collective: every rank solves the one assignment over the global
    // batch (the same problem, so the same answer) and takes its own targets' pairs.
    index_t first_target = 0;
    auto* const c = ctx.collective();
    const bool global = c != nullptr && c->size() > 1;
    if (global) {
      distributed::all_gather_columns<B>(*c, images, s.all_images, s.host_local, s.host_all);
      distributed::all_gather_columns<B>(*c, candidates, s.all_candidates, s.host_local, s.host_all);
      distributed::all_gather_columns<B>(*c, targets, s.all_data, s.host_local, s.host_all);
      images = s.all_images;
      candidates = s.all_candidates;
      targets = s.all_data;
      first_target = n * c->rank();
    }
    const index_t m = images.cols(), all = targets.cols();
    s.costs.resize(m, all);
    ctx.metric().template cost<B>(images, targets, s.costs);
    const matrix_view<const S> host = costs_on_host<B>(s.costs, s.host_costs);
    s.last = {};
    for (index_t j = 0; j < all; ++j) s.last.independent_cost += static_cast<double>(host(j, j));
    if (!global) {
      assign<Solver>(host, s.solver, sinkhorn_options, ctx.rng(), s.host_assigned, s.weights, s.taken, s.last);
    } else {
      // Sinkhorn's draw from the plan must be the same on every rank: an unsharded copy of the
      // stream draws it, and the stream moves on past what the copy used.
      random_stream& rng = ctx.rng();
      random_stream replicated(rng.seed(), rng.next_block());
      assign<Solver>(host, s.solver, sinkhorn_options, replicated, s.host_assigned, s.weights, s.taken, s.last);
      const int rank = rng.shard_rank(), ranks = rng.shard_count();
      rng = random_stream(rng.seed(), replicated.next_block());
      rng.set_shard(rank, ranks);
    }
    for (index_t j = 0; j < all; ++j)
      s.last.coupled_cost += static_cast<double>(host(s.host_assigned[static_cast<std::size_t>(j)], j));
    s.assigned.resize(1, n);
    B::copy_from_host(s.host_assigned.data() + first_target, s.assigned);
    s.selected.resize(d, n);
    B::gather_columns(candidates, s.assigned, s.selected);
    return {s.selected, ctx.batch_data()};
  }
};

}  // namespace idemgen::coupling
