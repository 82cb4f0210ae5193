#pragma once
// A scatter plot of 2-D samples over 2-D data as a PNG (stb_image_write + a tiny rasteriser):
// data in light grey, samples in colour, both on the same axes (the data's bounding box plus a
// margin, or the box given). Layers are drawn in order, later ones on top.

#include <algorithm>
#include <array>
#include <cmath>
#include <string>
#include <vector>

#include "idemgen/io/atomic_file.hpp"

#if !defined(IDEMGEN_STB_IMAGE_WRITE_INCLUDED)
#define IDEMGEN_STB_IMAGE_WRITE_INCLUDED
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>
#endif

namespace idemgen::io {

struct scatter_layer {
  const double* points = nullptr;  // 2 × n, column-major
  index_t n = 0;
  std::array<unsigned char, 3> colour = {0, 0, 0};
  int radius = 1;
};

struct plot_box {
  double x0 = 0, x1 = 0, y0 = 0, y1 = 0;
};

/// The bounding box of a layer with a relative margin.
inline plot_box bounding_box(const scatter_layer& l, double margin = 0.08) {
  plot_box b{1e300, -1e300, 1e300, -1e300};
  for (index_t j = 0; j < l.n; ++j) {
    b.x0 = std::min(b.x0, l.points[2 * j]), b.x1 = std::max(b.x1, l.points[2 * j]);
    b.y0 = std::min(b.y0, l.points[2 * j + 1]), b.y1 = std::max(b.y1, l.points[2 * j + 1]);
  }
  const double mx = (b.x1 - b.x0) * margin + 1e-9, my = (b.y1 - b.y0) * margin + 1e-9;
  return {b.x0 - mx, b.x1 + mx, b.y0 - my, b.y1 + my};
}

inline void write_scatter_png(const std::string& path, const std::vector<scatter_layer>& layers,
                              plot_box box, int size = 512) {
  std::vector<unsigned char> img(static_cast<std::size_t>(size) * size * 3, 255);
  for (const auto& l : layers)
    for (index_t j = 0; j < l.n; ++j) {
      const double x = l.points[2 * j], y = l.points[2 * j + 1];
      if (!std::isfinite(x) || !std::isfinite(y)) continue;
      const int px = static_cast<int>((x - box.x0) / (box.x1 - box.x0) * (size - 1));
      const int py = static_cast<int>((box.y1 - y) / (box.y1 - box.y0) * (size - 1));
      for (int dy = -l.radius; dy <= l.radius; ++dy)
        for (int dx = -l.radius; dx <= l.radius; ++dx) {
          const int u = px + dx, v = py + dy;
          if (u < 0 || v < 0 || u >= size || v >= size || dx * dx + dy * dy > l.radius * l.radius) continue;
          std::copy(l.colour.begin(), l.colour.end(), img.begin() + 3 * (static_cast<std::size_t>(v) * size + u));
        }
    }
  write_atomically(path, [&](std::ostream& out) {
    stbi_write_png_to_func(
        [](void* ctx, void* data, int len) {
          static_cast<std::ostream*>(ctx)->write(static_cast<const char*>(data), len);
        },
        &out, size, size, 3, img.data(), size * 3);
  });
}

}  // namespace idemgen::io
