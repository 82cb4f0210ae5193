#pragma once
// Images (columns of a d × n matrix in [−1, 1], data/image_set.hpp) as a PNG grid: `columns`
// tiles a row, each pixel drawn `scale` × `scale`, 2-pixel white gaps; one channel is grey, three
// are RGB. Values outside [−1, 1] are clipped. Written atomically (io/raster.hpp).

#include <string>

#include <fmt/format.h>

#include "idemgen/core/errors.hpp"
#include "idemgen/data/image_set.hpp"
#include "idemgen/io/raster.hpp"

namespace idemgen::io {

inline void write_image_grid_png(const std::string& path, const double* images, const data::image_shape& shape,
                                 index_t n, index_t columns, int scale = 2) {
  constexpr const char* where = "io::write_image_grid_png";
  idemgen::detail::require_option(shape.channels == 1 || shape.channels == 3, where, "channels", "1 or 3",
                                  [&] { return fmt::format("{}", shape.channels); });
  idemgen::detail::require_option(n > 0 && columns > 0 && scale > 0, where, "n, columns, scale", "all > 0",
                                  [&] { return fmt::format("{}, {}, {}", n, columns, scale); });
  constexpr int gap = 2;
  const index_t rows = (n + columns - 1) / columns;
  const auto tile_w = static_cast<int>(shape.width) * scale, tile_h = static_cast<int>(shape.height) * scale;
  rgb_image grid(static_cast<int>(columns) * (tile_w + gap) + gap, static_cast<int>(rows) * (tile_h + gap) + gap);
  const index_t plane = shape.height * shape.width;
  for (index_t k = 0; k < n; ++k) {
    const double* image = images + k * shape.size();
    const int left = gap + static_cast<int>(k % columns) * (tile_w + gap);
    const int top = gap + static_cast<int>(k / columns) * (tile_h + gap);
    for (index_t y = 0; y < shape.height; ++y)
      for (index_t x = 0; x < shape.width; ++x) {
        rgb colour{};
        for (int c = 0; c < 3; ++c)
          colour[static_cast<std::size_t>(c)] =
              data::unit_to_pixel(image[(shape.channels == 3 ? c : 0) * plane + y * shape.width + x]);
        grid.fill(left + static_cast<int>(x) * scale, top + static_cast<int>(y) * scale,
                  left + static_cast<int>(x + 1) * scale, top + static_cast<int>(y + 1) * scale, colour);
      }
  }
  grid.write_png(path);
}

}  // namespace idemgen::io
