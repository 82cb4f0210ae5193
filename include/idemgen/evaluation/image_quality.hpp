#pragma once
// Restoration scores of images against their clean originals, on host values (columns of
// d × n matrices in [−1, 1], data/image_set.hpp), each the mean over the n images of a score
// computed per image:
//
//   mae   mean |restored − clean| per pixel: NAIGN's restoration error (Table 2)
//   psnr  10 log10(range² / MSE) in dB, range = 2 (the span of [−1, 1]); +∞ for an exact copy
//   ssim  Wang, Bovik, Sheikh & Simoncelli (2004), eq. 13: an 11 × 11 Gaussian window of
//         σ = 1.5, K1 = 0.01, K2 = 0.03, L = 2, over the window positions that fit inside the
//         image ("valid"), averaged over them and over the channels (their MSSIM)

#include <cmath>
#include <limits>
#include <vector>

#include "idemgen/core/config.hpp"
#include "idemgen/core/errors.hpp"
#include "idemgen/data/image_set.hpp"

namespace idemgen::evaluation {

namespace detail {
inline void require_images(const char* where, const data::image_shape& shape, index_t n) {
  idemgen::detail::require_option(shape.size() > 0 && n > 0, where, "images", "at least one image of positive size",
                                  [&] { return fmt::format("{} images of {} values", n, shape.size()); });
}
}  // namespace detail

inline double mae(const double* restored, const double* clean, const data::image_shape& shape, index_t n) {
  detail::require_images("evaluation::mae", shape, n);
  double total = 0;
  for (index_t i = 0; i < shape.size() * n; ++i) total += std::abs(restored[i] - clean[i]);
  return total / static_cast<double>(shape.size() * n);
}

/// Mean over the images of each image's PSNR (dB); +∞ when some image is restored exactly.
inline double psnr(const double* restored, const double* clean, const data::image_shape& shape, index_t n) {
  detail::require_images("evaluation::psnr", shape, n);
  constexpr double range = 2.0;
  double total = 0;
  for (index_t j = 0; j < n; ++j) {
    double squared = 0;
    for (index_t i = 0; i < shape.size(); ++i) {
      const double e = restored[j * shape.size() + i] - clean[j * shape.size() + i];
      squared += e * e;
    }
    const double mse = squared / static_cast<double>(shape.size());
    total += mse > 0 ? 10 * std::log10(range * range / mse) : std::numeric_limits<double>::infinity();
  }
  return total / static_cast<double>(n);
}

/// SSIM's window side: images smaller than this have no SSIM.
inline constexpr index_t ssim_window = 11;

/// Mean over the images of each image's MSSIM; invalid_argument for images smaller than the
/// 11 × 11 window.
inline double ssim(const double* restored, const double* clean, const data::image_shape& shape, index_t n) {
  detail::require_images("evaluation::ssim", shape, n);
  constexpr index_t window = ssim_window, radius = window / 2;
  constexpr double sigma = 1.5, range = 2.0;
  constexpr double c1 = (0.01 * range) * (0.01 * range), c2 = (0.03 * range) * (0.03 * range);
  const index_t h = shape.height, w = shape.width;
  idemgen::detail::require_option(h >= window && w >= window, "evaluation::ssim", "images", "at least 11 x 11 pixels",
                                  [&] { return fmt::format("{} x {}", h, w); });
  std::vector<double> weight(window * window);
  double weight_sum = 0;
  for (index_t y = 0; y < window; ++y)
    for (index_t x = 0; x < window; ++x)
      weight_sum += weight[static_cast<std::size_t>(y * window + x)] =
          std::exp(-0.5 * static_cast<double>((y - radius) * (y - radius) + (x - radius) * (x - radius)) / (sigma * sigma));
  for (double& v : weight) v /= weight_sum;

  double total = 0;
  for (index_t j = 0; j < n; ++j) {
    double image_total = 0;
    for (index_t c = 0; c < shape.channels; ++c) {
      const double* a = restored + j * shape.size() + c * h * w;
      const double* b = clean + j * shape.size() + c * h * w;
      double plane_total = 0;
      for (index_t y0 = 0; y0 + window <= h; ++y0)
        for (index_t x0 = 0; x0 + window <= w; ++x0) {
          double mean_a = 0, mean_b = 0, aa = 0, bb = 0, ab = 0;
          for (index_t y = 0; y < window; ++y)
            for (index_t x = 0; x < window; ++x) {
              const double g = weight[static_cast<std::size_t>(y * window + x)];
              const double va = a[(y0 + y) * w + x0 + x], vb = b[(y0 + y) * w + x0 + x];
              mean_a += g * va;
              mean_b += g * vb;
              aa += g * va * va;
              bb += g * vb * vb;
              ab += g * va * vb;
            }
          const double var_a = aa - mean_a * mean_a, var_b = bb - mean_b * mean_b, cov = ab - mean_a * mean_b;
          plane_total += ((2 * mean_a * mean_b + c1) * (2 * cov + c2)) /
                         ((mean_a * mean_a + mean_b * mean_b + c1) * (var_a + var_b + c2));
        }
      image_total += plane_total / static_cast<double>((h - window + 1) * (w - window + 1));
    }
    total += image_total / static_cast<double>(shape.channels);
  }
  return total / static_cast<double>(n);
}

}  // namespace idemgen::evaluation
