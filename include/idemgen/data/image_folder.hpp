#pragma once
// A folder of the user's own images as an image_set (data/image_set.hpp), decoded by stb_image
// (PNG, JPEG, BMP, TGA, GIF's first frame, PGM/PPM) and brought to one size by stb_image_resize.
//
//   DIR/a.png, DIR/b.jpg, …             unlabelled images, in file-name order
//   DIR/cat/1.png, DIR/dog/7.jpg, …     class folders, as torchvision's ImageFolder: the label of
//                                       an image is its folder's index in name order
//
// Files of other extensions are skipped; a file with an image extension that does not decode is
// an io_error naming it (a training set that silently loses images is worse than a refusal). Each
// image is converted to the requested channels (1: grey, 3: RGB) and then either
//   resize        scaled to exactly height × width (the aspect ratio changes), or
//   center_crop   scaled so that it covers height × width, and the middle cut out (default).
// Images larger than 2^14 a side or 2^26 pixels are refused before they are decoded.

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <limits>
#include <string>
#include <system_error>
#include <vector>

#include <fmt/format.h>

#include "idemgen/core/errors.hpp"
#include "idemgen/data/image_set.hpp"
#include "idemgen/io/read_file.hpp"

#if !defined(IDEMGEN_STB_IMAGE_INCLUDED)
#define IDEMGEN_STB_IMAGE_INCLUDED
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_MAX_DIMENSIONS (1 << 14)
#define STBI_NO_HDR  // .hdr, .psd and .pic are not read (float and layered formats)
#define STBI_NO_PSD
#define STBI_NO_PIC
#define STBIR_DEFAULT_FILTER_DOWNSAMPLE STBIR_FILTER_MITCHELL
#define STB_IMAGE_RESIZE_STATIC
#define STB_IMAGE_RESIZE_IMPLEMENTATION
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wdouble-promotion"
#include <stb/stb_image.h>
#include <stb/stb_image_resize.h>
#pragma GCC diagnostic pop
#endif

namespace idemgen::data {

enum class image_fit { resize, center_crop };

struct image_folder_options {
  index_t channels = 1, height = 28, width = 28;  // channels 1 (grey) or 3 (RGB)
  image_fit fit = image_fit::center_crop;
};

namespace detail {

inline bool has_image_extension(const std::filesystem::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const char* known : {".png", ".jpg", ".jpeg", ".bmp", ".tga", ".gif", ".pgm", ".ppm", ".pnm"})
    if (ext == known) return true;
  return false;
}

/// The entries of `directory` that are regular image files (or, for `folders`, directories), sorted.
inline std::vector<std::filesystem::path> sorted_entries(const std::filesystem::path& directory, bool folders) {
  std::vector<std::filesystem::path> entries;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(directory, ec)) {
    if (folders ? entry.is_directory(ec) : entry.is_regular_file(ec) && has_image_extension(entry.path()))
      entries.push_back(entry.path());
  }
  if (ec) throw io_error("data::read_image_folder", directory.string(), "a readable directory", ec.message());
  std::sort(entries.begin(), entries.end());
  return entries;
}

/// One file decoded, converted and fitted to the options' size; appended to `pixels` as CHW bytes.
inline void append_image(const std::filesystem::path& path, const image_folder_options& opt, std::vector<std::uint8_t>& pixels) {
  constexpr const char* where = "data::read_image_folder";
  const std::string bytes = io::read_regular_file(path.string(), where);
  if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
    throw io_error(where, path.string(), "an image file under 2 GiB", fmt::format("{} bytes", bytes.size()));
  const auto* data = reinterpret_cast<const stbi_uc*>(bytes.data());
  const int length = static_cast<int>(bytes.size());
  int w = 0, h = 0, stored_channels = 0;
  if (!stbi_info_from_memory(data, length, &w, &h, &stored_channels))
    throw io_error(where, path.string(), "an image stb_image decodes", stbi_failure_reason());
  if (static_cast<long long>(w) * h > (1LL << 26))
    throw io_error(where, path.string(), "at most 2^26 pixels", fmt::format("{} x {}", w, h));
  const int c = static_cast<int>(opt.channels);
  stbi_uc* decoded = stbi_load_from_memory(data, length, &w, &h, &stored_channels, c);
  if (decoded == nullptr) throw io_error(where, path.string(), "an image stb_image decodes", stbi_failure_reason());
  const std::vector<std::uint8_t> hwc(decoded, decoded + static_cast<std::size_t>(w) * h * c);
  stbi_image_free(decoded);

  // Scale (for center_crop: so that both sides cover the target), then take the middle window.
  const int target_w = static_cast<int>(opt.width), target_h = static_cast<int>(opt.height);
  int scaled_w = target_w, scaled_h = target_h;
  if (opt.fit == image_fit::center_crop) {
    const double scale = std::max(static_cast<double>(target_w) / w, static_cast<double>(target_h) / h);
    scaled_w = std::max(target_w, static_cast<int>(std::lround(w * scale)));
    scaled_h = std::max(target_h, static_cast<int>(std::lround(h * scale)));
  }
  std::vector<std::uint8_t> scaled(static_cast<std::size_t>(scaled_w) * scaled_h * c);
  if (scaled_w == w && scaled_h == h)
    scaled = hwc;
  else if (!stbir_resize_uint8(hwc.data(), w, h, 0, scaled.data(), scaled_w, scaled_h, 0, c))
    throw io_error(where, path.string(), "an image stb_image_resize can scale", fmt::format("{} x {}", w, h));
  const int x0 = (scaled_w - target_w) / 2, y0 = (scaled_h - target_h) / 2;
  for (int channel = 0; channel < c; ++channel)
    for (int y = 0; y < target_h; ++y)
      for (int x = 0; x < target_w; ++x)
        pixels.push_back(scaled[(static_cast<std::size_t>(y0 + y) * scaled_w + (x0 + x)) * c + channel]);
}

}  // namespace detail

/// The images of `directory` (see the file comment for the two layouts). Throws io_error when
/// the directory is missing, holds no images, or a file does not decode; invalid_argument for
/// options other than 1 or 3 channels and sizes in 1 .. 4096, or more than 256 class folders.
inline image_set read_image_folder(const std::string& directory, const image_folder_options& opt = {}) {
  constexpr const char* where = "data::read_image_folder";
  idemgen::detail::require_option((opt.channels == 1 || opt.channels == 3) && opt.height >= 1 && opt.height <= 4096 &&
                                      opt.width >= 1 && opt.width <= 4096,
                                  where, "options", "1 or 3 channels, height and width in 1 .. 4096",
                                  fmt::format("{} channels, {} x {}", opt.channels, opt.height, opt.width));
  std::error_code ec;
  if (!std::filesystem::is_directory(directory, ec))
    throw io_error(where, directory, "a directory of images",
                   std::filesystem::exists(directory, ec) ? "not a directory" : "no such directory");
  image_set set;
  set.shape = {opt.channels, opt.height, opt.width};
  const auto files = detail::sorted_entries(directory, /*folders=*/false);
  if (!files.empty()) {
    for (const auto& file : files) detail::append_image(file, opt, set.pixels);
    set.count = static_cast<index_t>(files.size());
    return set;
  }
  const auto classes = detail::sorted_entries(directory, /*folders=*/true);
  idemgen::detail::require_option(classes.size() <= 256, where, "class folders", "at most 256",
                                  fmt::format("{} in {}", classes.size(), directory));
  for (std::size_t label = 0; label < classes.size(); ++label)
    for (const auto& file : detail::sorted_entries(classes[label], /*folders=*/false)) {
      detail::append_image(file, opt, set.pixels);
      set.labels.push_back(static_cast<std::uint8_t>(label));
    }
  set.count = static_cast<index_t>(set.labels.size());
  if (set.count == 0)
    throw io_error(where, directory, "image files (.png, .jpg, .bmp, .tga, .gif, .pgm, .ppm) or class folders of them",
                   "none");
  return set;
}

}  // namespace idemgen::data
