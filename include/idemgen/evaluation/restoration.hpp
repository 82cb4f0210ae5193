#pragma once
// NAIGN Table 2: a manifold projector f restoring degraded images in one step, f(x'), scored by
// MAE (the paper's number), PSNR and SSIM (evaluation/image_quality.hpp) against the clean
// images, beside the same scores of the degraded images themselves: a restoration helps only
// where the second column beats the first. Images smaller than SSIM's 11 × 11 window have no
// SSIM: its two fields are NaN (null in JSON) rather than an error after a whole training run.

#include <algorithm>
#include <limits>
#include <vector>

#include "idemgen/data/degradations.hpp"
#include "idemgen/evaluation/image_quality.hpp"
#include "idemgen/samplers/recursive.hpp"

namespace idemgen::evaluation {

/// f applied to n host images (shape.size() values each, in [−1, 1]), 500 at a time.
template <class Net>
std::vector<double> project_images(const Net& net, const data::image_shape& shape, const double* images, index_t n) {
  using B = typename Net::backend_type;
  using scalar = typename B::scalar;
  const index_t d = shape.size(), chunk = 500;
  idemgen::detail::require_dim("evaluation::project_images", "images", "rows", net.input_dim(), d);
  std::vector<double> out(static_cast<std::size_t>(d * n));
  std::vector<scalar> host;
  typename B::matrix x, y;
  for (index_t first = 0; first < n; first += chunk) {
    const index_t m = std::min(chunk, n - first);
    host.assign(images + first * d, images + (first + m) * d);
    x.resize(d, m);
    y.resize(d, m);
    B::copy_from_host(host.data(), x);
    samplers::one_step(net, x, y);
    B::copy_to_host(y, host.data());
    std::copy(host.begin(), host.end(), out.begin() + first * d);
  }
  return out;
}

struct restoration_scores {
  index_t images = 0;
  double mae_degraded = 0, mae_restored = 0, psnr_degraded = 0, psnr_restored = 0, ssim_degraded = 0, ssim_restored = 0;
};

struct restoration {
  std::vector<double> degraded, restored;  // n images each, as the clean ones
  restoration_scores scores;
};

/// Degrades n clean host images with `how` (drawing from `rng`), restores them with f, scores both.
template <class Net>
restoration restore_degraded(const Net& net, const data::image_shape& shape, const std::vector<double>& clean, index_t n,
                             const data::degradation& how, random_stream rng) {
  idemgen::detail::require_dim("evaluation::restore_degraded", "clean", "values", shape.size() * n,
                               static_cast<index_t>(clean.size()));
  restoration r;
  r.degraded = clean;
  data::degrade(how, shape, r.degraded.data(), n, rng);
  r.restored = project_images(net, shape, r.degraded.data(), n);
  const double* c = clean.data();
  const bool has_ssim = shape.height >= ssim_window && shape.width >= ssim_window;
  const double no_ssim = std::numeric_limits<double>::quiet_NaN();
  r.scores = {.images = n,
              .mae_degraded = mae(r.degraded.data(), c, shape, n),
              .mae_restored = mae(r.restored.data(), c, shape, n),
              .psnr_degraded = psnr(r.degraded.data(), c, shape, n),
              .psnr_restored = psnr(r.restored.data(), c, shape, n),
              .ssim_degraded = has_ssim ? ssim(r.degraded.data(), c, shape, n) : no_ssim,
              .ssim_restored = has_ssim ? ssim(r.restored.data(), c, shape, n) : no_ssim};
  return r;
}

}  // namespace idemgen::evaluation
