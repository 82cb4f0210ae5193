#pragma once
// Image degradations that a manifold projector (IGN, NAIGN, SIGN) maps back onto the data:
// the restoration experiments of NAIGN (§4.2, Table 2; supp. §8) and SIGN's masked editing
// (§4.3). Images are columns of a d × n matrix in [−1, 1] (data/image_set.hpp), degraded in
// place; every random choice comes from the given stream, one reserved range per call, so a
// degradation is reproducible from the seed.
//
//   noise:S        x + S·ε, ε ~ N(0, I), not clipped              (NAIGN supp. §8: S = 1.0)
//   blur:S         Gaussian blur, standard deviation S pixels, kernel 2⌈3S⌉ + 1, edges reflected
//                  (as torchvision's gaussian_blur, which NAIGN used)
//   lines[:P]      every row and every column deleted (set to −1) with probability P = 0.2
//                  (NAIGN's "LinesRows", supp. §8)
//   salt-pepper[:P] a fraction P = 0.2 of pixels corrupted, half to +1 and half to −1
//                  (NAIGN supp. §8)
//   mask:P         each pixel deleted (set to −1) with probability P (random inpainting)
//   checkerboard:K the squares of a K-pixel checkerboard deleted alternately (SIGN Fig. 3)
//   down:F         average over F × F blocks, then shown at full size (each block its mean):
//                  super-resolution's input at the model's dimension

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "idemgen/core/config.hpp"
#include "idemgen/core/errors.hpp"
#include "idemgen/core/rng.hpp"
#include "idemgen/data/image_set.hpp"

namespace idemgen::data {

struct degradation {
  enum class kind { noise, blur, lines, salt_pepper, mask, checkerboard, down };
  kind what = kind::noise;
  double amount = 0;  ///< σ, probability, fraction, square size or factor, as the kind says

  /// "noise:0.3", "blur:2", "lines", "lines:0.2", "salt-pepper", "salt-pepper:0.2", "mask:0.5",
  /// "checkerboard:4", "down:2". Throws invalid_argument for an unknown name or an amount outside
  /// its domain (σ > 0; probabilities in [0, 1]; square size and factor whole numbers ≥ 1).
  static degradation parse(std::string_view spec) {
    const std::size_t colon = spec.find(':');
    const std::string_view name = spec.substr(0, colon);
    const bool has_amount = colon != std::string_view::npos;
    const std::string amount_text = has_amount ? std::string(spec.substr(colon + 1)) : "";
    degradation d;
    double fallback = -1;
    if (name == "noise") d.what = kind::noise;
    else if (name == "blur") d.what = kind::blur;
    else if (name == "lines") d.what = kind::lines, fallback = 0.2;
    else if (name == "salt-pepper") d.what = kind::salt_pepper, fallback = 0.2;
    else if (name == "mask") d.what = kind::mask;
    else if (name == "checkerboard") d.what = kind::checkerboard;
    else if (name == "down") d.what = kind::down;
    else
      throw invalid_argument("data::degradation", "degradation",
                             "noise:S, blur:S, lines[:P], salt-pepper[:P], mask:P, checkerboard:K or down:F",
                             std::string(spec));
    if (!has_amount && fallback < 0)
      throw invalid_argument("data::degradation", std::string(name), fmt::format("{}:AMOUNT", name), std::string(spec));
    d.amount = fallback;
    if (has_amount) {
      char* end = nullptr;
      d.amount = std::strtod(amount_text.c_str(), &end);
      if (amount_text.empty() || end != amount_text.c_str() + amount_text.size() || !std::isfinite(d.amount))
        throw invalid_argument("data::degradation", std::string(name), "a finite number after ':'", std::string(spec));
    }
    d.check();
    return d;
  }

  void check() const {
    switch (what) {
      case kind::noise:
      case kind::blur:
        idemgen::detail::require_option(amount > 0, "data::degradation", "sigma", "> 0", [&] { return fmt::format("{}", amount); });
        break;
      case kind::lines:
      case kind::salt_pepper:
      case kind::mask:
        idemgen::detail::require_option(amount >= 0 && amount <= 1, "data::degradation", "probability", "in [0, 1]",
                               [&] { return fmt::format("{}", amount); });
        break;
      case kind::checkerboard:
      case kind::down:
        idemgen::detail::require_option(amount >= 1 && amount == std::floor(amount) && amount <= 1 << 16, "data::degradation",
                               "size", "a whole number >= 1", [&] { return fmt::format("{}", amount); });
        break;
    }
  }
};

namespace detail {

/// Uniform draws in (0, 1) for element e of a fill that starts at block `first`.
inline double degradation_uniform(const random_stream& rng, std::uint64_t first, std::uint64_t e) {
  return uniform_open01<double>(philox_block_at(rng.key(), first + e / 4).v[e % 4]);
}

/// A 1-D Gaussian kernel of standard deviation σ and radius ⌈3σ⌉, summing to 1.
inline std::vector<double> gaussian_kernel(double sigma) {
  const auto radius = static_cast<index_t>(std::ceil(3 * sigma));
  std::vector<double> kernel(static_cast<std::size_t>(2 * radius + 1));
  double total = 0;
  for (index_t k = -radius; k <= radius; ++k)
    total += kernel[static_cast<std::size_t>(k + radius)] = std::exp(-0.5 * static_cast<double>(k * k) / (sigma * sigma));
  for (double& w : kernel) w /= total;
  return kernel;
}

/// Index k of a line of n pixels with the edge reflected (… 2 1 | 0 1 2 … n−1 | n−2 …).
inline index_t reflect(index_t k, index_t n) {
  if (n == 1) return 0;
  const index_t period = 2 * (n - 1);
  k %= period;
  if (k < 0) k += period;
  return k < n ? k : period - k;
}

/// Separable blur of one channel (h × w, row-major) in place; `scratch` holds h · w values.
inline void blur_plane(double* plane, index_t h, index_t w, const std::vector<double>& kernel, std::vector<double>& scratch) {
  const auto radius = static_cast<index_t>(kernel.size() / 2);
  scratch.assign(static_cast<std::size_t>(h * w), 0.0);
  for (index_t y = 0; y < h; ++y)  // along rows into scratch
    for (index_t x = 0; x < w; ++x) {
      double sum = 0;
      for (index_t k = -radius; k <= radius; ++k)
        sum += kernel[static_cast<std::size_t>(k + radius)] * plane[y * w + reflect(x + k, w)];
      scratch[static_cast<std::size_t>(y * w + x)] = sum;
    }
  for (index_t y = 0; y < h; ++y)  // along columns back into the plane
    for (index_t x = 0; x < w; ++x) {
      double sum = 0;
      for (index_t k = -radius; k <= radius; ++k)
        sum += kernel[static_cast<std::size_t>(k + radius)] * scratch[static_cast<std::size_t>(reflect(y + k, h) * w + x)];
      plane[y * w + x] = sum;
    }
}

}  // namespace detail

/// Degrades the n images (columns of `images`, each shape.size() values) in place.
inline void degrade(const degradation& d, const image_shape& shape, double* images, index_t n, random_stream& rng) {
  d.check();
  const index_t size = shape.size(), h = shape.height, w = shape.width;
  const auto per_image = [&](auto&& body) {
    for (index_t j = 0; j < n; ++j) body(images + j * size, j);
  };
  switch (d.what) {
    case degradation::kind::noise: {
      const std::uint64_t first = rng.reserve(static_cast<std::uint64_t>(n * size));
      per_image([&](double* image, index_t j) {
        for (index_t i = 0; i < size; ++i) {
          const auto e = static_cast<std::uint64_t>(j * size + i);
          image[i] += d.amount * normal_from_block<double>(philox_block_at(rng.key(), first + e / 4), static_cast<int>(e % 4));
        }
      });
      break;
    }
    case degradation::kind::blur: {
      const std::vector<double> kernel = detail::gaussian_kernel(d.amount);
      std::vector<double> scratch;
      per_image([&](double* image, index_t) {
        for (index_t c = 0; c < shape.channels; ++c) detail::blur_plane(image + c * h * w, h, w, kernel, scratch);
      });
      break;
    }
    case degradation::kind::lines: {  // NAIGN supp. §8: rows and columns, shared by the channels
      const auto lines = static_cast<std::uint64_t>(h + w);
      const std::uint64_t first = rng.reserve(static_cast<std::uint64_t>(n) * lines);
      std::vector<char> deleted(lines);  // rows 0..h−1, then columns
      per_image([&](double* image, index_t j) {
        for (std::uint64_t k = 0; k < lines; ++k)
          deleted[k] = detail::degradation_uniform(rng, first, static_cast<std::uint64_t>(j) * lines + k) < d.amount;
        for (index_t y = 0; y < h; ++y)
          for (index_t x = 0; x < w; ++x)
            if (deleted[static_cast<std::size_t>(y)] || deleted[static_cast<std::size_t>(h + x)])
              for (index_t c = 0; c < shape.channels; ++c) image[c * h * w + y * w + x] = -1.0;
      });
      break;
    }
    case degradation::kind::salt_pepper:
    case degradation::kind::mask: {  // one draw a pixel: corrupted below P; salt in its lower half
      const auto pixels = static_cast<std::uint64_t>(h * w);
      const std::uint64_t first = rng.reserve(static_cast<std::uint64_t>(n) * pixels);
      const bool salt_pepper = d.what == degradation::kind::salt_pepper;
      per_image([&](double* image, index_t j) {
        for (index_t p = 0; p < h * w; ++p) {
          const double u = detail::degradation_uniform(rng, first, static_cast<std::uint64_t>(j) * pixels + static_cast<std::uint64_t>(p));
          if (u >= d.amount) continue;
          const double value = salt_pepper && u < 0.5 * d.amount ? 1.0 : -1.0;
          for (index_t c = 0; c < shape.channels; ++c) image[c * h * w + p] = value;
        }
      });
      break;
    }
    case degradation::kind::checkerboard: {
      const auto square = static_cast<index_t>(d.amount);
      per_image([&](double* image, index_t) {
        for (index_t c = 0; c < shape.channels; ++c)
          for (index_t y = 0; y < h; ++y)
            for (index_t x = 0; x < w; ++x)
              if ((y / square + x / square) % 2 == 1) image[c * h * w + y * w + x] = -1.0;
      });
      break;
    }
    case degradation::kind::down: {  // blocks at the edges may be smaller: their own mean
      const auto factor = static_cast<index_t>(d.amount);
      per_image([&](double* image, index_t) {
        for (index_t c = 0; c < shape.channels; ++c) {
          double* plane = image + c * h * w;
          for (index_t y0 = 0; y0 < h; y0 += factor)
            for (index_t x0 = 0; x0 < w; x0 += factor) {
              const index_t y1 = std::min(h, y0 + factor), x1 = std::min(w, x0 + factor);
              double sum = 0;
              for (index_t y = y0; y < y1; ++y)
                for (index_t x = x0; x < x1; ++x) sum += plane[y * w + x];
              const double mean = sum / static_cast<double>((y1 - y0) * (x1 - x0));
              for (index_t y = y0; y < y1; ++y)
                for (index_t x = x0; x < x1; ++x) plane[y * w + x] = mean;
            }
        }
      });
      break;
    }
  }
}

}  // namespace idemgen::data
