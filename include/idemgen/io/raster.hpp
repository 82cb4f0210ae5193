#pragma once
// An RGB image to draw plots into: points, rectangles, axis-aligned lines and text (the
// stb_easy_font bitmap font, its quads scaled by an integer factor), written as PNG
// (stb_image_write) atomically.

#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <vector>

#include "idemgen/io/atomic_file.hpp"

#if !defined(IDEMGEN_STB_IMAGE_WRITE_INCLUDED)
#define IDEMGEN_STB_IMAGE_WRITE_INCLUDED
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>
#endif
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"  // stb_easy_font's static helpers we do not call
#pragma GCC diagnostic ignored "-Wconversion"
#include <stb/stb_easy_font.h>
#pragma GCC diagnostic pop

namespace idemgen::io {

using rgb = std::array<unsigned char, 3>;

class rgb_image {
 public:
  rgb_image(int width, int height, rgb background = {255, 255, 255})
      : width_(width), height_(height), pixels_(static_cast<std::size_t>(width) * height * 3) {
    for (std::size_t k = 0; k < pixels_.size(); k += 3) std::copy(background.begin(), background.end(), pixels_.begin() + k);
  }
  int width() const { return width_; }
  int height() const { return height_; }

  void set(int x, int y, const rgb& c) {
    if (x < 0 || y < 0 || x >= width_ || y >= height_) return;
    std::copy(c.begin(), c.end(), pixels_.begin() + 3 * (static_cast<std::size_t>(y) * width_ + x));
  }
  /// The rectangle [x0, x1) × [y0, y1), clipped to the image.
  void fill(int x0, int y0, int x1, int y1, const rgb& c) {
    for (int y = std::max(y0, 0); y < std::min(y1, height_); ++y)
      for (int x = std::max(x0, 0); x < std::min(x1, width_); ++x) set(x, y, c);
  }
  void disc(int cx, int cy, int radius, const rgb& c) {
    for (int dy = -radius; dy <= radius; ++dy)
      for (int dx = -radius; dx <= radius; ++dx)
        if (dx * dx + dy * dy <= radius * radius) set(cx + dx, cy + dy, c);
  }

  /// Text with its top-left corner at (x, y), each font pixel drawn as scale × scale.
  void text(int x, int y, const std::string& s, const rgb& c, int scale = 2) {
    std::string copy = s;  // stb_easy_font takes char*
    std::vector<char> quads(copy.size() * 300 + 64);
    const int n = stb_easy_font_print(0, 0, copy.data(), nullptr, quads.data(), static_cast<int>(quads.size()));
    for (int q = 0; q < n; ++q) {  // 4 vertices of 16 bytes (x, y, z float; colour) per quad
      float v0[2], v2[2];
      std::memcpy(v0, quads.data() + q * 64, sizeof v0);
      std::memcpy(v2, quads.data() + q * 64 + 32, sizeof v2);
      fill(x + static_cast<int>(v0[0]) * scale, y + static_cast<int>(v0[1]) * scale, x + static_cast<int>(v2[0]) * scale,
           y + static_cast<int>(v2[1]) * scale, c);
    }
  }
  static int text_width(const std::string& s, int scale = 2) {
    std::string copy = s;
    return stb_easy_font_width(copy.data()) * scale;
  }
  static int text_height(int scale = 2) { return 7 * scale; }

  void write_png(const std::string& path) const {
    write_atomically(path, [&](std::ostream& out) {
      stbi_write_png_to_func(
          [](void* ctx, void* data, int len) { static_cast<std::ostream*>(ctx)->write(static_cast<const char*>(data), len); },
          &out, width_, height_, 3, pixels_.data(), width_ * 3);
    });
  }

 private:
  int width_, height_;
  std::vector<unsigned char> pixels_;
};

}  // namespace idemgen::io
