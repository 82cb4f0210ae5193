#pragma once
// IMLE, NAIGN eq. 8 (with Alg. 1 l.13's mean, trap T5):
//   L_IMLE = (1/N) Σ_i min_{j ≤ M} D(x_i, f_θ(z_j)),  z_1..z_M ~ N(0, I) fresh each step.
// Direction (T6): for each *data point* the nearest *generated* sample, which is what pulls a
// sample into every mode. The search runs f over all M candidates without keeping activations
// (in chunks of the batch size, so memory stays O(N)); then the N selected z_{j*(i)} are run
// again with a cache and only they get a gradient — the same θ gives the same values, so the
// gradient equals that of the min. Several i may select the same j.

#include <algorithm>

#include "idemgen/core/errors.hpp"

namespace idemgen::losses {

struct imle {
  static constexpr const char* name = "imle";
  double weight = 1.0;
  double candidates_per_sample = 10.0;  // M = ⌈ratio · N⌉ (NAIGN §4: M = 10 N for 2-D and MNIST)

  template <class Ctx>
  double operator()(Ctx& ctx) const {
    using B = typename Ctx::backend_type;
    using view = typename B::view;
    using const_view = typename B::const_view;
    idemgen::detail::require_option(candidates_per_sample >= 1, "losses::imle",
                                    "candidates_per_sample", ">= 1",
                                    fmt::format("{}", candidates_per_sample));
    auto& s = ctx.template state<state_type<B, typename Ctx::cache>>();
    const index_t n = ctx.batch(), d = ctx.dim();
    const index_t m = static_cast<index_t>(std::ceil(candidates_per_sample * static_cast<double>(n)));
    s.z.resize(d, m);
    s.fz.resize(d, m);
    B::fill_normal(s.z, ctx.rng());
    // Inference pass in chunks of up to 4 N columns: wide enough for efficient GEMMs (512³ sgemm
    // ran at ~105 GFLOP/s for 512 columns and ~145 for 2 560 here), small enough that memory stays
    // O(N) rather than O(M).
    const index_t chunk = std::min(m, 4 * n);
    for (index_t first = 0; first < m; first += chunk) {
      const index_t count = std::min(chunk, m - first);
      const_view out = ctx.net().forward(const_view(s.z).columns(first, count), const_view{}, s.search);
      B::copy(out, view(s.fz).columns(first, count));
    }
    s.distances.resize(m, n);
    ctx.metric().template pairwise<B>(s.fz, ctx.x(), s.distances);
    s.nearest.resize(1, n);
    B::column_argmin(s.distances, s.nearest);
    s.selected.resize(d, n);
    B::gather_columns(s.z, s.nearest, s.selected);
    const_view f_sel = ctx.net().forward(s.selected, const_view{}, s.train);
    auto g = ctx.scratch(0);
    const double value = ctx.mean_distance(f_sel, ctx.x(), g, weight);
    ctx.net().backward(s.train, g, ctx.grads());
    return value;
  }

  /// Buffers kept across steps (no allocation in steady state).
  template <class B, class Cache>
  struct state_type {
    typename B::matrix z, fz, distances, selected;
    typename B::index_matrix nearest;
    Cache search, train;
  };
};

}  // namespace idemgen::losses
