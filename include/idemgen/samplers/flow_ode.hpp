#pragma once
// Samplers of a flow-matching ODE dx/dt = v(x, t), t from 0 (noise, x = z) to 1 (data)
// (schedule::linear). `velocity(x, t_row, out)` writes v(x, t) for a 1 × batch row t
// (samplers/model_function.hpp wraps a network). Returns the NFE:
//   euler     x ← x + h v(x, t)                         NFE N
//   midpoint  x ← x + h v(x + ½h v(x, t), t + ½h)       NFE 2N

#include <utility>
#include <vector>

#include "idemgen/core/concepts.hpp"
#include "idemgen/core/errors.hpp"
#include "idemgen/samplers/pf_ode.hpp"

namespace idemgen::samplers {

enum class flow_method { euler, midpoint };

/// The buffers of a run, kept by a caller that solves the ODE every training step (coupling::reflow).
template <numeric_backend B>
struct flow_workspace {
  typename B::matrix v, mid, row;
};

/// x holds z on entry and the sample on return; `times` is t_0 < … < t_N (schedule::linear::steps).
/// `w` is resized to x's shape.
template <numeric_backend B, class Velocity>
int flow_ode(Velocity&& velocity, const std::vector<double>& times, flow_method method, typename B::view x,
             flow_workspace<B>& w, std::vector<typename B::matrix>* trajectory = nullptr) {
  using S = typename B::scalar;
  idemgen::detail::require_option(times.size() >= 2, "samplers::flow_ode", "times", "at least 2 values",
                                  std::to_string(times.size()));
  for (std::size_t i = 0; i + 1 < times.size(); ++i)
    idemgen::detail::require_option(times[i] < times[i + 1], "samplers::flow_ode", "times", "strictly increasing",
                                    [&] { return fmt::format("{} then {} at {}", times[i], times[i + 1], i); });
  const index_t d = x.rows(), n = x.cols();
  w.v.resize(d, n);
  w.mid.resize(d, n);
  w.row.resize(1, n);
  auto &v = w.v, &mid = w.mid, &row = w.row;
  detail::record<B>(trajectory, x);
  int nfe = 0;
  for (std::size_t i = 0; i + 1 < times.size(); ++i) {
    const S t = static_cast<S>(times[i]), h = static_cast<S>(times[i + 1] - times[i]);
    B::fill(row, t);
    velocity(typename B::const_view(x), typename B::const_view(row), typename B::view(v));
    ++nfe;
    if (method == flow_method::midpoint) {
      B::copy(x, mid);
      B::axpy(h / 2, v, mid);
      B::fill(row, t + h / 2);
      velocity(typename B::const_view(mid), typename B::const_view(row), typename B::view(v));
      ++nfe;
    }
    B::axpy(h, v, x);
    detail::record<B>(trajectory, x);
  }
  return nfe;
}

/// The same with buffers of its own.
template <numeric_backend B, class Velocity>
int flow_ode(Velocity&& velocity, const std::vector<double>& times, flow_method method, typename B::view x,
             std::vector<typename B::matrix>* trajectory = nullptr) {
  flow_workspace<B> w;
  return flow_ode<B>(std::forward<Velocity>(velocity), times, method, x, w, trajectory);
}

}  // namespace idemgen::samplers
