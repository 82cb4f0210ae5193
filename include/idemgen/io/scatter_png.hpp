#pragma once
// A scatter plot of 2-D points as a PNG: layers drawn in order (later ones on top) on axes with
// ticks and a light grid, a title that says what is shown, and a legend of the layers that have
// a label. The box is the data's bounding box plus a margin, or the one given.

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "idemgen/core/config.hpp"
#include "idemgen/io/raster.hpp"

namespace idemgen::io {

struct scatter_layer {
  const double* points = nullptr;  // 2 × n, column-major
  index_t n = 0;
  rgb colour = {0, 0, 0};
  int radius = 1;
  std::string label;  // in the legend when not empty
};

struct plot_box {
  double x0 = 0, x1 = 0, y0 = 0, y1 = 0;
};

/// The bounding box of a layer's finite points with a relative margin.
inline plot_box bounding_box(const scatter_layer& l, double margin = 0.08) {
  plot_box b{1e300, -1e300, 1e300, -1e300};
  for (index_t j = 0; j < l.n; ++j) {
    if (!std::isfinite(l.points[2 * j]) || !std::isfinite(l.points[2 * j + 1])) continue;
    b.x0 = std::min(b.x0, l.points[2 * j]), b.x1 = std::max(b.x1, l.points[2 * j]);
    b.y0 = std::min(b.y0, l.points[2 * j + 1]), b.y1 = std::max(b.y1, l.points[2 * j + 1]);
  }
  if (b.x0 > b.x1) return {-1, 1, -1, 1};  // no finite point
  const double mx = (b.x1 - b.x0) * margin + 1e-9, my = (b.y1 - b.y0) * margin + 1e-9;
  return {b.x0 - mx, b.x1 + mx, b.y0 - my, b.y1 + my};
}

/// Round tick values in [lo, hi]: steps of 1, 2 or 5 × 10^k, about `target` of them; and the
/// decimals their labels need.
inline std::vector<double> nice_ticks(double lo, double hi, int target, int& decimals) {
  const double raw = (hi - lo) / target, magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double step = magnitude * (raw / magnitude < 1.5 ? 1 : raw / magnitude < 3.5 ? 2 : raw / magnitude < 7.5 ? 5 : 10);
  decimals = std::max(0, -static_cast<int>(std::floor(std::log10(step) + 1e-9)));
  std::vector<double> ticks;
  for (double t = std::ceil(lo / step) * step; t <= hi + 1e-9 * step; t += step) ticks.push_back(std::abs(t) < 1e-12 * step ? 0 : t);
  return ticks;
}

inline void write_scatter_png(const std::string& path, const std::vector<scatter_layer>& layers, plot_box box,
                              const std::string& title = "", int size = 512) {
  const int left = 64, right = 16, top = title.empty() ? 16 : 40, bottom = 36;
  rgb_image img(left + size + right, top + size + bottom);
  const rgb ink = {40, 40, 40}, grid = {236, 236, 236}, frame = {120, 120, 120};
  const auto px = [&](double x) { return left + static_cast<int>(std::lround((x - box.x0) / (box.x1 - box.x0) * (size - 1))); };
  const auto py = [&](double y) { return top + static_cast<int>(std::lround((box.y1 - y) / (box.y1 - box.y0) * (size - 1))); };
  int xd = 0, yd = 0;
  const auto xt = nice_ticks(box.x0, box.x1, 6, xd), yt = nice_ticks(box.y0, box.y1, 6, yd);
  for (double t : xt) img.fill(px(t), top, px(t) + 1, top + size, grid);
  for (double t : yt) img.fill(left, py(t), left + size, py(t) + 1, grid);
  for (const auto& l : layers)
    for (index_t j = 0; j < l.n; ++j) {
      const double x = l.points[2 * j], y = l.points[2 * j + 1];
      if (!std::isfinite(x) || !std::isfinite(y) || x < box.x0 || x > box.x1 || y < box.y0 || y > box.y1) continue;
      img.disc(px(x), py(y), l.radius, l.colour);
    }
  // Frame, ticks and their labels.
  img.fill(left - 1, top - 1, left + size + 1, top, frame);
  img.fill(left - 1, top + size, left + size + 1, top + size + 1, frame);
  img.fill(left - 1, top - 1, left, top + size + 1, frame);
  img.fill(left + size, top - 1, left + size + 1, top + size + 1, frame);
  for (double t : xt) {
    const std::string label = fmt::format("{:.{}f}", t, xd);
    img.fill(px(t), top + size, px(t) + 1, top + size + 6, frame);
    img.text(px(t) - rgb_image::text_width(label) / 2, top + size + 10, label, ink);
  }
  for (double t : yt) {
    const std::string label = fmt::format("{:.{}f}", t, yd);
    img.fill(left - 6, py(t), left, py(t) + 1, frame);
    img.text(left - 10 - rgb_image::text_width(label), py(t) - rgb_image::text_height() / 2, label, ink);
  }
  if (!title.empty()) img.text(left + (size - rgb_image::text_width(title)) / 2, 12, title, ink);
  // Legend, top right inside the frame, on white.
  std::vector<const scatter_layer*> named;
  for (const auto& l : layers)
    if (!l.label.empty()) named.push_back(&l);
  if (!named.empty()) {
    int widest = 0;
    for (const auto* l : named) widest = std::max(widest, rgb_image::text_width(l->label));
    const int row = 20, w = widest + 34, h = row * static_cast<int>(named.size()) + 8;
    const int x0 = left + size - w - 8, y0 = top + 8;
    img.fill(x0, y0, x0 + w, y0 + h, frame);
    img.fill(x0 + 1, y0 + 1, x0 + w - 1, y0 + h - 1, {255, 255, 255});
    for (std::size_t k = 0; k < named.size(); ++k) {
      const int y = y0 + 4 + row * static_cast<int>(k) + row / 2;
      img.disc(x0 + 12, y, 4, named[k]->colour);
      img.text(x0 + 24, y - rgb_image::text_height() / 2, named[k]->label, ink);
    }
  }
  img.write_png(path);
}

}  // namespace idemgen::io
