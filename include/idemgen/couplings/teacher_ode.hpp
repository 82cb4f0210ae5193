#pragma once
// coupling::teacher_ode — LMM's deterministic pairing (LMM §3, App. A.4): fresh z ~ N(0, I) and
// y = ODE_teacher(σ_max z), generated online, one teacher sampler run per step (35 NFE for
// Heun-18). The step's data batch only sets the batch size: the teacher is the data. For pairs
// generated once and reused, write them with teachers/pair_file.hpp and train on
// coupling::stored_pairs. The teacher is shared (a copied coupling calls the same one).

#include <memory>
#include <vector>

#include "idemgen/couplings/coupling.hpp"
#include "idemgen/teachers/teacher.hpp"

namespace idemgen::coupling {

template <class Teacher>
struct teacher_ode {
  static constexpr const char* name = "teacher_ode";
  std::shared_ptr<Teacher> teacher;
  teachers::ode_options ode{};

  template <class B>
  struct state {
    typename B::matrix z, y;
    std::vector<double> grid;
    samplers::ode_workspace<B> sampler;  // kept: a steady-state step allocates nothing
  };

  template <class Ctx>
  pairing<typename Ctx::backend_type> operator()(Ctx& ctx, state<typename Ctx::backend_type>& s) const {
    using B = typename Ctx::backend_type;
    idemgen::detail::require_option(teacher != nullptr, "coupling::teacher_ode", "teacher", "a teacher", "none");
    if (s.grid.empty()) s.grid = ode.grid.grid();
    s.z.resize(ctx.dim(), ctx.batch());
    s.y.resize(ctx.dim(), ctx.batch());
    B::fill_normal(s.z, ctx.rng());
    teachers::ode_endpoints<B>(*teacher, ode, s.grid, s.z, s.y, s.sampler);
    return {s.z, s.y};
  }
};

}  // namespace idemgen::coupling
