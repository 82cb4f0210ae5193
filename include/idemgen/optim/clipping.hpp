#pragma once
// Global-norm gradient clipping over the flat gradient buffer (torch.nn.utils.clip_grad_norm_):
// when ‖g‖ > max_norm, g ← g · max_norm / (‖g‖ + 1e-6). A non-finite norm is returned unchanged
// and the gradient left alone, so the caller's divergence guard sees it.

#include <cmath>

#include "idemgen/core/concepts.hpp"
#include "idemgen/core/errors.hpp"

namespace idemgen::optim {

/// Returns the norm before clipping.
template <numeric_backend B>
double clip_grad_norm(typename B::view grads, double max_norm) {
  idemgen::detail::require_option(max_norm > 0, "clip_grad_norm", "max_norm", "> 0",
                         fmt::format("{}", max_norm));
  const double norm = std::sqrt(B::squared_norm(grads));
  if (std::isfinite(norm) && norm > max_norm)
    B::scale(grads, static_cast<typename B::scalar>(max_norm / (norm + 1e-6)));
  return norm;
}

}  // namespace idemgen::optim
