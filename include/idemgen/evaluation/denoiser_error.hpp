#pragma once
// How far a learned denoiser is from a reference (the exact denoiser of a known mixture,
// evaluation/mixture_denoiser.hpp) at one noise level σ, on given states x (d × n):
//   E_x ‖D_θ(x; σ) − D*(x; σ)‖²   (per-sample squared norm, averaged over the columns)
// The drift check measures it twice: on x ~ p_σ (y + σ z, where DSM trains) and on the
// model's own sampler iterates at σ (where sampling actually evaluates D_θ: the "drift" CDM
// addresses). A model that errs more on its own iterates than on p_σ has drifted.

#include <vector>

#include "idemgen/core/concepts.hpp"
#include "idemgen/core/errors.hpp"

namespace idemgen::evaluation {

/// `model(x, sigma_row, out)` and `reference(x, sigma_row, out)` as for the samplers.
template <numeric_backend B, class Model, class Reference>
double denoiser_error(Model&& model, Reference&& reference, typename B::const_view x, double sigma) {
  using S = typename B::scalar;
  idemgen::detail::require_option(sigma > 0, "evaluation::denoiser_error", "sigma", "> 0", std::to_string(sigma));
  const index_t d = x.rows(), n = x.cols();
  typename B::matrix a(d, n), b(d, n), row(1, n);
  B::fill(row, static_cast<S>(sigma));
  model(x, typename B::const_view(row), typename B::view(a));
  reference(x, typename B::const_view(row), typename B::view(b));
  B::axpy(S(-1), b, a);
  return B::squared_norm(a) / static_cast<double>(n);
}

}  // namespace idemgen::evaluation
