#pragma once
// SIGN's flow term (SIGN eq. 8), for a one-step f without a noise input:
//   L_flow = E_{x,n} D(f_θ(x_{t_n}), stopgrad f_θ(x_{t_s}))
//   x_{t_n} = x + t_n ε      the step's noised point (the context's anchor: f(x_{t_n}) is one call,
//                            shared with losses::denoise); t_n uniform over a Karras grid
//   x_{t_s}                  `euler_steps` Euler steps of the teacher's PF-ODE (SIGN eq. 2; for
//                            EDM x′ = x + (t′ − t)(x − D(x; t))/t) down the grid from t_n: t_s is
//                            the grid point `euler_steps` below t_n (default 1 — SIGN's t_{n−1},
//                            our reading of the unstated t_s). The grid ends at 0 like the
//                            sampler's, so from σ_min the step reaches D(x; σ_min) and the target
//                            is f at (nearly) clean data, which reconstruction pins to x: the base
//                            case of SIGN Thm. 2's induction.
// The target is f's own output at x_{t_s} with θ' = θ (no EMA), computed forward only: no
// gradient reaches it. The gradient flows through f(x_{t_n}) alone.
// Teacher: a teachers::teacher (shared, like coupling::teacher_ode's: the exact mixture
// denoiser, a trained EDM denoiser), or teachers::empirical (D := x: consistency training).

#include <memory>
#include <type_traits>

#include "idemgen/core/errors.hpp"
#include "idemgen/losses/loss_set.hpp"
#include "idemgen/models/call_graph.hpp"
#include "idemgen/schedules/karras_grid.hpp"
#include "idemgen/teachers/empirical.hpp"
#include "idemgen/teachers/teacher.hpp"

namespace idemgen::losses {

template <class Teacher, class Schedule = schedule::karras_grid>
struct teacher_flow {
  static constexpr const char* name = "flow";
  static constexpr model_kind model = model_kind::one_step;
  static constexpr bool empirical = std::is_same_v<Teacher, teachers::empirical>;
  double weight = 1.0;           // λ_f
  std::shared_ptr<Teacher> teacher{};  // unused by teachers::empirical
  int euler_steps = 1;           // grid points from t_n down to t_s
  Schedule schedule{};           // t_n's grid, shared with losses::denoise

  template <class Ctx>
  struct state {
    using B = typename Ctx::backend_type;
    typename B::matrix x_ts, denoised, target, level, next;
    typename Ctx::cache target_cache;  // f(x_{t_s}): forward only
  };

  template <class Ctx>
  double operator()(Ctx& ctx, state<Ctx>& st) const {
    static_assert(empirical || teachers::teacher<Teacher, typename Ctx::backend_type>,
                  "losses::teacher_flow<Teacher>: Teacher must map (x, σ row, out) to a denoised x "
                  "(teachers::teacher) or be teachers::empirical");
    idemgen::detail::require_option(euler_steps >= 1, "losses::teacher_flow", "euler_steps", ">= 1",
                                    std::to_string(euler_steps));
    if constexpr (!empirical)
      idemgen::detail::require_option(teacher != nullptr, "losses::teacher_flow", "teacher", "a teacher", "none");
    const auto f_x_tn = ctx.anchor(schedule);
    euler_target(ctx, st);
    return ctx.mean_distance(f_x_tn, st.target, models::route::full);
  }

  /// x_{t_s} from the step's x_{t_n} by the teacher's Euler steps, then target = f(x_{t_s}).
  /// Public only because nvcc forbids device lambdas in private member functions.
  template <class Ctx>
  void euler_target(Ctx& ctx, state<Ctx>& st) const {
    using B = typename Ctx::backend_type;
    using S = typename B::scalar;
    const index_t d = ctx.dim(), n = ctx.batch();
    st.x_ts.resize(d, n);
    st.denoised.resize(d, n);
    st.level.resize(1, n);
    st.next.resize(1, n);
    B::copy(ctx.noised(schedule), st.x_ts);
    B::copy(ctx.level(schedule), st.level);
    const auto grid = ctx.schedule_of(schedule);
    for (int step = 0; step < euler_steps; ++step) {
      if constexpr (empirical)
        B::copy(ctx.target(), st.denoised);  // D := x, the step's clean data
      else
        (*teacher)(typename B::const_view(st.x_ts), typename B::const_view(st.level), typename B::view(st.denoised));
      S* px = st.x_ts.data();
      S* pl = st.level.data();
      S* pn = st.next.data();
      const S* pd = st.denoised.data();
      B::parallel_for(n, [=] IDEMGEN_HOST_DEVICE(index_t j) {
        const S t = pl[j];
        const S t_next = t > S(0) ? grid.template below<S>(t, 1) : S(0);
        const S ratio = t > S(0) ? (t_next - t) / t : S(0);  // SIGN eq. 2 under EDM: dx = (t′ − t)(x − D)/t
        for (index_t i = 0; i < d; ++i) px[i + j * d] += ratio * (px[i + j * d] - pd[i + j * d]);
        pn[j] = t_next;
      });
      B::copy(st.next, st.level);
    }
    st.target.resize(d, n);
    B::copy(ctx.net().forward(st.x_ts, typename B::const_view{}, st.target_cache), st.target);
  }
};

}  // namespace idemgen::losses
