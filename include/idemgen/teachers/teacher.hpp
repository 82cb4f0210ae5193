#pragma once
// A teacher is anything that maps (x, σ) to a denoised x̂ — `t(x, sigma_row, out)`, the form
// every sampler takes: a trained EDM denoiser wrapped by samplers::model_function, or the exact
// denoiser of a known mixture (teachers/mixture.hpp), so that teacher methods can be tested and
// trained without training a teacher first. Teacher-ODE pairs (LMM §3, App. A.4): z ~ N(0, I) and
// y = ODE(σ_max z), the teacher's deterministic sampler over a Karras grid — by default EDM's
// Heun with 18 grid points (35 NFE). The pair is the *discretised* map (trap: Heun-18 is off by
// ~4.5 % on a unit Gaussian; 40 points by ~0.8 %).

#include <concepts>

#include "idemgen/core/concepts.hpp"
#include "idemgen/samplers/pf_ode.hpp"
#include "idemgen/schedules/karras_grid.hpp"

namespace idemgen::teachers {

template <class T, class B>
concept teacher = numeric_backend<B> &&
    requires(T& t, typename B::const_view x, typename B::view out) { t(x, x, out); };

/// The teacher's deterministic sampler: grid (σ_max … σ_min, N points, then 0) and method.
struct ode_options {
  schedule::karras_grid grid{};
  samplers::ode_method method = samplers::ode_method::heun;
  /// Network evaluations per pair: 2N − 1 for Heun, N for Euler.
  int nfe() const { return method == samplers::ode_method::heun ? 2 * grid.steps - 1 : grid.steps; }
};

/// y = ODE_teacher(σ_max z) for unit noise z (d × n): the teacher-ODE pairs (z, y), with the
/// sampler's buffers in `w`. Returns the NFE.
template <numeric_backend B, class Teacher>
  requires teacher<Teacher, B>
int ode_endpoints(Teacher& t, const ode_options& opt, const std::vector<double>& grid, typename B::const_view z,
                  typename B::view y, samplers::ode_workspace<B>& w) {
  B::copy(z, y);
  B::scale(y, static_cast<typename B::scalar>(opt.grid.sigma_max));
  return samplers::pf_ode<B>(t, grid, opt.method, y, w);
}
template <numeric_backend B, class Teacher>
  requires teacher<Teacher, B>
int ode_endpoints(Teacher& t, const ode_options& opt, const std::vector<double>& grid, typename B::const_view z,
                  typename B::view y) {
  samplers::ode_workspace<B> w;
  return ode_endpoints<B>(t, opt, grid, z, y, w);
}

}  // namespace idemgen::teachers
