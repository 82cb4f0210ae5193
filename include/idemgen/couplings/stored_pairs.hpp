#pragma once
// coupling::stored_pairs — pairs made once and reused (LMM's offline teacher pairs, LMM §3;
// SIGN's regression pairs): each step takes N pairs drawn uniformly, with replacement, from a
// stored set (teachers/pair_file.hpp), by the step's random stream. The step's data batch only
// sets N. The set is shared, not copied, between copies of the coupling.

#include <memory>

#include "idemgen/couplings/coupling.hpp"
#include "idemgen/teachers/pair_file.hpp"

namespace idemgen::coupling {

template <numeric_backend PairBackend>
struct stored_pairs {
  static constexpr const char* name = "stored_pairs";
  std::shared_ptr<const teachers::pair_set<PairBackend>> pairs;

  template <class B>
  struct state {
    typename B::matrix uniform, z, y;
    typename B::index_matrix chosen;
  };

  template <class Ctx>
  pairing<typename Ctx::backend_type> operator()(Ctx& ctx, state<typename Ctx::backend_type>& s) const {
    using B = typename Ctx::backend_type;
    static_assert(std::is_same_v<B, PairBackend>, "coupling::stored_pairs: the pair set lives on the model's backend");
    idemgen::detail::require_option(pairs != nullptr && pairs->size() > 0, "coupling::stored_pairs", "pairs",
                                    "a non-empty pair set", "none");
    idemgen::detail::require_dim("coupling::stored_pairs", "pairs", "dim", ctx.dim(), pairs->dim());
    const index_t n = ctx.batch(), m = pairs->size();
    s.uniform.resize(1, n);
    s.chosen.resize(1, n);
    B::fill_uniform(s.uniform, ctx.rng(), typename B::scalar(0), typename B::scalar(1));
    index_t* idx = s.chosen.data();
    const typename B::scalar* u = s.uniform.data();
    B::parallel_for(n, [=] IDEMGEN_HOST_DEVICE(index_t j) {
      const index_t k = static_cast<index_t>(u[j] * static_cast<typename B::scalar>(m));
      idx[j] = k < m ? k : m - 1;
    });
    s.z.resize(ctx.dim(), n);
    s.y.resize(ctx.dim(), n);
    B::gather_columns(pairs->z, s.chosen, s.z);
    B::gather_columns(pairs->y, s.chosen, s.y);
    return {s.z, s.y};
  }
};

}  // namespace idemgen::coupling
