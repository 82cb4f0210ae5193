#pragma once
// SIGN Alg. 3, multistep sampling with editing, for a one-step f (no noise input): x′ the input,
// M a mask (1 = f writes, 0 = keep x′), re-noise levels σ_1 > … > σ_{K−1}:
//   x ← f(x′) ⊙ M + x′ ⊙ (1 − M)
//   for i = 1 … K−1:  x_τ ← x + σ_i η (η ~ N(0, I) fresh);  x ← f(x_τ) ⊙ M + x ⊙ (1 − M)
// NFE = K. The printed algorithm lists N levels σ_1 … σ_N but loops i < N, so σ_N is never used
// and NFE = N; here the caller passes exactly the levels that are used (K − 1 of them), so none
// is silently dropped. Unconditional generation: x′ = σ_max ε, no mask, and the re-noise levels
// of a Karras grid (LMM's index sets, as samplers::lines_sampler's multistep).

#include <vector>

#include "idemgen/core/concepts.hpp"
#include "idemgen/core/errors.hpp"
#include "idemgen/nn/network.hpp"

namespace idemgen::samplers {

/// x: x′ on entry, the result on return. mask: empty (M = 1) or x's shape with entries in {0, 1}.
/// With `trajectory`, x after every call is appended. Returns the NFE.
template <nn::network Net>
int multistep_editing(const Net& f, const std::vector<double>& renoise_levels, typename Net::backend_type::view x,
                      random_stream& rng, typename Net::backend_type::const_view mask = {},
                      std::vector<typename Net::backend_type::matrix>* trajectory = nullptr) {
  using B = typename Net::backend_type;
  using S = typename B::scalar;
  const index_t d = x.rows(), n = x.cols();
  const bool masked = mask.data() != nullptr;
  if (masked)
    idemgen::detail::require_shape("samplers::multistep_editing", "mask", d, n, mask.rows(), mask.cols());
  for (std::size_t i = 0; i < renoise_levels.size(); ++i)
    idemgen::detail::require_option(renoise_levels[i] > 0 && (i == 0 || renoise_levels[i] < renoise_levels[i - 1]),
                                    "samplers::multistep_editing", "renoise_levels", "decreasing and > 0",
                                    fmt::format("{}", renoise_levels[i]));
  typename Net::cache c;
  typename B::matrix noised(d, n), eta(d, n);
  // x ← f(input) ⊙ M + x ⊙ (1 − M): x still holds the kept values (x′ at first, then the last x).
  const auto apply = [&](typename B::const_view input) {
    const auto y = f.forward(input, typename B::const_view{}, c);
    if (!masked) {
      B::copy(y, x);
    } else {
      const S* py = y.data();
      const S* pm = mask.data();
      S* px = x.data();
      B::parallel_for(d * n, [=] IDEMGEN_HOST_DEVICE(index_t e) { px[e] = pm[e] * py[e] + (S(1) - pm[e]) * px[e]; });
    }
    if (trajectory) {
      trajectory->emplace_back(d, n);
      B::copy(x, trajectory->back());
    }
  };
  B::copy(x, noised);
  apply(noised);
  for (double level : renoise_levels) {
    B::fill_normal(eta, rng);
    B::copy(x, noised);
    B::axpy(static_cast<S>(level), eta, noised);
    apply(noised);
  }
  return 1 + static_cast<int>(renoise_levels.size());
}

}  // namespace idemgen::samplers
