#pragma once
// coupling::nearest_generated — IMLE's search (NAIGN eq. 8, Alg. 1 l. 12): M = ⌈ratio · N⌉
// fresh candidates z_j ~ N(0, I); each data point x_i takes the candidate whose image is nearest
// under the metric, j*(i) = argmin_j D(x_i, f(z_j)), and the pair is (z_{j*(i)}, x_i).
// Direction (NAIGN trap): for each *data point* the nearest *generated* sample — what pulls a
// sample into every mode. Several data points may take the same candidate (many-to-one); the
// candidates no data point takes are left unconstrained, which is what makes one-step NAIGN a
// seed lottery on grid-25 (minibatch_ot prices that split). The images are an inference pass in
// chunks (ctx.image), so memory stays O(N); the loss (losses::pair_regression) runs f again on
// the N selected sources with a cache — same θ, same values, so its gradient is that of the min.

#include <cmath>
#include <vector>

#include <fmt/format.h>

#include "idemgen/core/errors.hpp"
#include "idemgen/couplings/coupling.hpp"
#include "idemgen/distributed/collective.hpp"

namespace idemgen::coupling {

struct nearest_generated {
  static constexpr const char* name = "nearest_generated";
  double candidates_per_sample = 10.0;  // M / N (NAIGN §4: M = 10 N for 2-D and MNIST)

  template <class B>
  struct state {
    typename B::matrix candidates, images, distances, selected;
    typename B::index_matrix nearest;
    typename B::matrix all_candidates, all_images;  // data-parallel, global search only
    std::vector<typename B::scalar> host_local, host_all;
  };

  /// In a data-parallel run with a collective (distributed::data_parallel's global couplings),
  /// each data point searches every rank's candidates — the search one process makes over the
  /// global batch — instead of its own rank's.
  template <class Ctx>
  pairing<typename Ctx::backend_type> operator()(Ctx& ctx, state<typename Ctx::backend_type>& s) const {
    using B = typename Ctx::backend_type;
    const index_t n = ctx.batch(), d = ctx.dim();
    typename B::const_view images = draw_candidates(ctx, candidates_per_sample, s.candidates, s.images,
                                                    "coupling::nearest_generated");
    typename B::const_view candidates = s.candidates;
    if (auto* c = ctx.collective(); c != nullptr && c->size() > 1) {
      distributed::all_gather_columns<B>(*c, images, s.all_images, s.host_local, s.host_all);
      distributed::all_gather_columns<B>(*c, candidates, s.all_candidates, s.host_local, s.host_all);
      images = s.all_images;
      candidates = s.all_candidates;
    }
    const index_t m = images.cols();
    s.distances.resize(m, n);
    ctx.metric().template pairwise<B>(images, ctx.batch_data(), s.distances);
    s.nearest.resize(1, n);
    B::column_argmin(s.distances, s.nearest);
    s.selected.resize(d, n);
    B::gather_columns(candidates, s.nearest, s.selected);
    return {s.selected, ctx.batch_data()};
  }
};

}  // namespace idemgen::coupling
