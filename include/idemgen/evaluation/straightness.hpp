#pragma once
// Straightness of sampling trajectories (LMM Table 1), for a trajectory
// x(t_0), …, x(t_K) of a deterministic sampler with t_0 = 0 < … < t_K = 1:
//   S_p = E ∫₀¹ ‖ẋ(t) − (x(1) − x(0))‖^p dt ≈ (1/n) Σ_j Σ_k Δt_k ‖(x_{k+1} − x_k)_j/Δt_k − (x_K − x_0)_j‖^p
// for p = 1 (LMM's unsquared form) and p = 2 (Liu et al.'s rectified-flow form), each raw and
// normalised by E‖x(1) − x(0)‖^p, so that σ-models (which start at σ_max z) and flow models
// (which start at z) can be compared. A line walked at non-constant speed has ẋ ≠ x(1) − x(0),
// so S measures straightness and constant speed together, as in the papers. Time: flow models use their own t; σ-models use
// t = 1 − σ/σ_max (times_from_sigmas), our choice where the paper is silent.

#include <cmath>
#include <vector>

#include "idemgen/core/concepts.hpp"
#include "idemgen/core/errors.hpp"

namespace idemgen::evaluation {

struct straightness_result {
  double p1 = 0, p2 = 0;                          // raw S_1, S_2
  double p1_normalized = 0, p2_normalized = 0;    // S_p / E‖x(1) − x(0)‖^p
};

/// t_k = 1 − σ_k/σ_0 for a σ grid σ_0 > … > σ_K (σ_K = 0 gives t_K = 1).
inline std::vector<double> times_from_sigmas(const std::vector<double>& sigmas) {
  idemgen::detail::require_option(sigmas.size() >= 2 && sigmas[0] > 0, "evaluation::times_from_sigmas", "sigmas",
                                  "at least 2 values, sigmas[0] > 0", std::to_string(sigmas.size()));
  std::vector<double> t(sigmas.size());
  for (std::size_t k = 0; k < sigmas.size(); ++k) t[k] = 1 - sigmas[k] / sigmas[0];
  return t;
}

template <numeric_backend B>
straightness_result straightness(const std::vector<typename B::matrix>& trajectory, const std::vector<double>& times) {
  idemgen::detail::require_option(trajectory.size() >= 2 && trajectory.size() == times.size(),
                                  "evaluation::straightness", "trajectory/times",
                                  "at least 2 states and one time per state",
                                  fmt::format("{} states, {} times", trajectory.size(), times.size()));
  const double span = times.back() - times.front();
  for (std::size_t k = 0; k + 1 < times.size(); ++k)
    idemgen::detail::require_option(times[k] < times[k + 1], "evaluation::straightness", "times", "strictly increasing",
                                    fmt::format("{} then {}", times[k], times[k + 1]));
  const index_t d = trajectory[0].rows(), n = trajectory[0].cols();
  std::vector<std::vector<double>> h(trajectory.size(), std::vector<double>(static_cast<std::size_t>(d * n)));
  for (std::size_t k = 0; k < trajectory.size(); ++k) {
    idemgen::detail::require_shape(trajectory[k].rows() == d && trajectory[k].cols() == n, "evaluation::straightness",
                                   "trajectory", fmt::format("{}x{} states", d, n),
                                   fmt::format("{}x{} at {}", trajectory[k].rows(), trajectory[k].cols(), k));
    std::vector<typename B::scalar> tmp(h[k].size());
    B::copy_to_host(trajectory[k], tmp.data());
    for (std::size_t e = 0; e < tmp.size(); ++e) h[k][e] = tmp[e];
  }
  straightness_result r;
  double chord1 = 0, chord2 = 0;
  const auto& first = h.front();
  const auto& last = h.back();
  for (index_t j = 0; j < n; ++j) {
    double c2 = 0;
    for (index_t i = 0; i < d; ++i) c2 += std::pow(last[i + j * d] - first[i + j * d], 2);
    chord1 += std::sqrt(c2);
    chord2 += c2;
    for (std::size_t k = 0; k + 1 < h.size(); ++k) {
      const double dt = (times[k + 1] - times[k]) / span;
      double e2 = 0;
      for (index_t i = 0; i < d; ++i) {
        const double rate = (h[k + 1][i + j * d] - h[k][i + j * d]) / dt;  // in u = (t − t_0)/span
        e2 += std::pow(rate - (last[i + j * d] - first[i + j * d]), 2);
      }
      r.p1 += dt * std::sqrt(e2);
      r.p2 += dt * e2;
    }
  }
  r.p1 /= n;
  r.p2 /= n;
  chord1 /= n;
  chord2 /= n;
  r.p1_normalized = chord1 > 0 ? r.p1 / chord1 : 0;
  r.p2_normalized = chord2 > 0 ? r.p2 / chord2 : 0;
  return r;
}

}  // namespace idemgen::evaluation
