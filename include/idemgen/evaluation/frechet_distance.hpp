#pragma once
// The Fréchet distance between Gaussians fitted to two sets of features (FID's formula; NAIGN's
// "FLD" computes it on a LeNet's latent features, Table 1):
//
//   FD = ‖μ_a − μ_b‖² + Tr(Σ_a + Σ_b − 2 (Σ_a Σ_b)^{1/2})
//
// Σ are sample covariances (divisor n − 1, as numpy.cov). The trace of the matrix square root is
// computed as Σ √λ over the eigenvalues λ of Σ_a^{1/2} Σ_b Σ_a^{1/2}, a symmetric positive
// semi-definite matrix with the same spectrum as Σ_a Σ_b, so no complex parts arise (scipy's
// sqrtm on Σ_a Σ_b can return them from round-off); eigenvalues below 0 from round-off count as 0.
//
// Features are columns of d × n host matrices (Eigen, idemgen/eigen.hpp, or any column-major
// buffer). Fit the reference set once (gaussian_fit) and compare every checkpoint against it.

#include "idemgen/core/eigen_core.hpp"  // first: it silences GCC 12's false AVX-512 warnings
#include <Eigen/Dense>

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "idemgen/core/config.hpp"
#include "idemgen/core/errors.hpp"

namespace idemgen::evaluation {

struct gaussian_fit {
  Eigen::VectorXd mean;
  Eigen::MatrixXd covariance;

  /// Mean and sample covariance of the n columns of a d × n column-major buffer (n ≥ 2).
  static gaussian_fit of(const double* features, index_t d, index_t n) {
    idemgen::detail::require_option(d >= 1 && n >= 2, "evaluation::gaussian_fit", "features",
                                    "d >= 1 rows and n >= 2 columns", [&] { return fmt::format("{} x {}", d, n); });
    const Eigen::Map<const Eigen::MatrixXd> x(features, d, n);
    if (!x.allFinite()) throw numeric_error("evaluation::gaussian_fit", "features", "finite values", "NaN or Inf");
    gaussian_fit fit;
    fit.mean = x.rowwise().mean();
    const Eigen::MatrixXd centred = x.colwise() - fit.mean;
    fit.covariance = centred * centred.transpose() / static_cast<double>(n - 1);
    return fit;
  }
};

namespace detail {
/// The symmetric square root of a symmetric positive semi-definite matrix.
inline Eigen::MatrixXd psd_sqrt(const Eigen::MatrixXd& m) {
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(m);
  const Eigen::VectorXd roots = solver.eigenvalues().cwiseMax(0.0).cwiseSqrt();
  return solver.eigenvectors() * roots.asDiagonal() * solver.eigenvectors().transpose();
}
}  // namespace detail

inline double frechet_distance(const gaussian_fit& a, const gaussian_fit& b) {
  idemgen::detail::require_dim("evaluation::frechet_distance", "b", "features", a.mean.size(), b.mean.size());
  const Eigen::MatrixXd root_a = detail::psd_sqrt(a.covariance);
  const Eigen::MatrixXd inner = root_a * b.covariance * root_a;
  const Eigen::VectorXd spectrum =
      Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(0.5 * (inner + inner.transpose()), Eigen::EigenvaluesOnly).eigenvalues();
  double trace_root = 0, mean_distance = 0;
  for (Eigen::Index i = 0; i < spectrum.size(); ++i) trace_root += std::sqrt(std::max(0.0, spectrum[i]));
  for (Eigen::Index i = 0; i < a.mean.size(); ++i) mean_distance += (a.mean[i] - b.mean[i]) * (a.mean[i] - b.mean[i]);
  return mean_distance + a.covariance.trace() + b.covariance.trace() - 2 * trace_root;
}

inline double frechet_distance(const double* a, const double* b, index_t d, index_t n_a, index_t n_b) {
  return frechet_distance(gaussian_fit::of(a, d, n_a), gaussian_fit::of(b, d, n_b));
}

}  // namespace idemgen::evaluation
