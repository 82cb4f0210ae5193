#pragma once
// Samplers of a flow-matching ODE dx/dt = v(x, t), t from 0 (noise, x = z) to 1 (data)
// (schedule::linear). `velocity(x, t_row, out)` writes v(x, t) for a 1 × batch row t
// (samplers/model_function.hpp wraps a network). Returns the NFE:
//   euler     x ← x + h v(x, t)                         NFE N
//   midpoint  x ← x + h v(x + ½h v(x, t), t + ½h)       NFE 2N

#include <vector>

#include "idemgen/core/concepts.hpp"
#include "idemgen/core/errors.hpp"
#include "idemgen/samplers/pf_ode.hpp"

namespace idemgen::samplers {

enum class flow_method { euler, midpoint };

/// x holds z on entry and the sample on return; `times` is t_0 < … < t_N (schedule::linear::steps).
template <numeric_backend B, class Velocity>
int flow_ode(Velocity&& velocity, const std::vector<double>& times, flow_method method, typename B::view x,
             std::vector<typename B::matrix>* trajectory = nullptr) {
  using S = typename B::scalar;
  idemgen::detail::require_option(times.size() >= 2, "samplers::flow_ode", "times", "at least 2 values",
                                  std::to_string(times.size()));
  for (std::size_t i = 0; i + 1 < times.size(); ++i)
    idemgen::detail::require_option(times[i] < times[i + 1], "samplers::flow_ode", "times", "strictly increasing",
                                    fmt::format("{} then {} at {}", times[i], times[i + 1], i));
  const index_t d = x.rows(), n = x.cols();
  typename B::matrix v(d, n), mid(d, n), row(1, n);
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

}  // namespace idemgen::samplers
