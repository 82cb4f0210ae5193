#pragma once
// CDM's consistency (martingale) term (Daras et al. 2023 §4–5, Thm. 4.2), with
// the unbiased two-chain estimator of the authors' code. From the step's noised data point
// x = y + σ z (the same x as DSM) and the anchor h0 = D_θ(x; σ):
//   σ' = max(σ − ε, σ_floor), ε ~ U[0, ε_max]
//   x⁽¹⁾, x⁽²⁾: two independent chains of the model's own reverse SDE from (x, σ) to σ' over a
//              Karras sub-grid of `grid_points` points (samplers/reverse_sde.hpp), run without
//              gradient — the score-function term of the exact gradient is dropped (App. B.1)
//   L̂ = (1/n) Σ_j ⟨h1_j − h0_j, h2_j − h0_j⟩,  h_r = D_θ(x⁽ʳ⁾; σ')
// Its expectation is ‖E[D(x_σ')] − D(x; σ)‖² (twice CDM's L2). Unweighted by λ(σ), and a single
// batch can make it negative (trap 4). Gradients flow through all three final calls — h1, h2
// (one call over both chains, 2n columns) and the anchor h0 (trap 3). Samples with
// σ − σ_floor < 1e-6 are left out (trap 5: the code would step upwards).
// `weight` is λ_c: unstated in the paper; 10 is the authors' train.py default (the paper does not state it).

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "idemgen/losses/loss_set.hpp"
#include "idemgen/metrics/metric.hpp"
#include "idemgen/models/call_graph.hpp"
#include "idemgen/samplers/reverse_sde.hpp"
#include "idemgen/schedules/of_model.hpp"

namespace idemgen::losses {

template <class Schedule = schedule::of_model>
struct consistency {
  static constexpr const char* name = "consistency";
  static constexpr model_kind model = model_kind::noised;
  double weight = 10.0;        // λ_c
  double epsilon_max = 0.05;   // ε ~ U[0, ε_max], absolute σ units
  int grid_points = 6;         // "6 sampling steps" = 6 points, 5 SDE steps
  double rho = 7.0;            // sub-grid spacing, as the Karras grid
  double sigma_floor = 0.002;  // σ' >= σ_min
  Schedule schedule{};         // the levels and noised point it shares with DSM

  template <class Ctx>
  struct state {
    using B = typename Ctx::backend_type;
    typename B::matrix chains, from, to, uniform;
    typename B::matrix mask;               // 1 × n: 1 where the term applies
    typename Ctx::cache chain_cache;       // the chains' calls: forward only
    samplers::reverse_sde_workspace<B> sde;
  };

  template <class Ctx>
  double operator()(Ctx& ctx, state<Ctx>& st) const {
    using B = typename Ctx::backend_type;
    using S = typename B::scalar;
    static_assert(std::is_same_v<typename Ctx::metric_type, metric::squared_l2>,
                  "losses::consistency: CDM's two-chain estimator is an inner product, the unbiased "
                  "estimate of the squared l2 distance ‖E[D(x_σ')] − D(x; σ)‖²; the model's metric must "
                  "be metric::squared_l2 (see include/idemgen/losses/consistency.hpp)");
    idemgen::detail::require_option(grid_points >= 2 && epsilon_max >= 0 && sigma_floor > 0 && rho > 0,
                                    "losses::consistency", "grid_points/epsilon_max/sigma_floor/rho",
                                    ">= 2 / >= 0 / > 0 / > 0",
                                    fmt::format("{}/{}/{}/{}", grid_points, epsilon_max, sigma_floor, rho));
    const index_t d = ctx.dim(), n = ctx.batch();
    const auto anchor = ctx.anchor(schedule);
    const auto h0 = anchor.value;
    const auto x = ctx.noised(schedule);
    // σ' per sample, for both chains: columns [0, n) and [n, 2n).
    st.uniform.resize(1, n);
    B::fill_uniform(st.uniform, ctx.rng(), S(0), static_cast<S>(epsilon_max));
    st.from.resize(1, 2 * n);
    st.to.resize(1, 2 * n);
    st.mask.resize(1, n);
    st.chains.resize(d, 2 * n);
    {
      const S* ps = ctx.level(schedule).data();
      const S* pe = st.uniform.data();
      S* pf = st.from.data();
      S* pt = st.to.data();
      S* pm = st.mask.data();
      const S floor = static_cast<S>(sigma_floor);
      B::parallel_for(n, [=] IDEMGEN_HOST_DEVICE(index_t j) {
        const bool active = ps[j] - floor >= S(1e-6);
        const S to = active ? std::max(ps[j] - pe[j], floor) : ps[j];
        pf[j] = pf[j + n] = ps[j];
        pt[j] = pt[j + n] = to;
        pm[j] = active ? S(1) : S(0);
      });
      const S* px = x.data();
      S* pc = st.chains.data();
      B::parallel_for_2d(d, 2 * n, [=] IDEMGEN_HOST_DEVICE(index_t i, index_t j) { pc[i + j * d] = px[i + (j % n) * d]; });
    }
    // The chains: forward only, their own cache (no gradient, CDM App. B.1).
    const auto& net = ctx.net();
    samplers::reverse_sde_subgrid<B>(
        [&](typename B::const_view in, typename B::const_view lev, typename B::view out) {
          B::copy(net.forward(in, lev, st.chain_cache), out);
        },
        st.from, st.to, grid_points, rho, st.chains, ctx.rng(), st.sde);
    // h = D(x⁽ʳ⁾; σ') for both chains in one call of the step's graph (the chains are constants).
    const auto h = ctx.call_on(st.chains, st.to);
    const S* ph = h.value.data();
    const S* p0 = h0.data();
    const S* pm = st.mask.data();
    S* pg = ctx.gradient(h, models::route::full).data();
    S* pa = ctx.gradient(anchor, models::route::full).data();
    const S g = static_cast<S>(ctx.term_weight() / static_cast<double>(n));
    st.uniform.resize(1, n);  // reused: per-sample inner products
    S* pv = st.uniform.data();
    B::parallel_for(n, [=] IDEMGEN_HOST_DEVICE(index_t j) {
      S dot = 0;
      for (index_t i = 0; i < d; ++i) {
        const S a = ph[i + j * d] - p0[i + j * d], b = ph[i + (j + n) * d] - p0[i + j * d];
        const S m = pm[j] * g;
        dot += a * b;
        pg[i + j * d] += m * b;        // ∂/∂h1 = (h2 − h0)
        pg[i + (j + n) * d] += m * a;  // ∂/∂h2 = (h1 − h0)
        pa[i + j * d] -= m * (a + b); // ∂/∂h0 = −(h1 − h0) − (h2 − h0)
      }
      pv[j] = pm[j] * dot;
    });
    return B::sum(st.uniform) / static_cast<double>(n);
  }
};

}  // namespace idemgen::losses
