#pragma once
// A set of same-sized images with optional class labels, read from IDX files (MNIST, Fashion-
// MNIST). Pixels stay bytes (60 000 Fashion-MNIST images are 47 MB so, 376 MB as doubles) and
// become the model's values only when a batch is drawn: a pixel byte b is 2b/255 − 1, in
// [−1, 1] — the range of the tanh output of IGN's DCGAN-style generator, and the range NAIGN's
// degradations are stated in (supp. §8: deleted rows set to −1, salt +1, pepper −1).
//
// An image is one column of a d × n matrix, d = channels · height · width, pixels in row-major
// order within each channel (the CHW layout of IDX files and of the convolutional nets).

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "idemgen/core/config.hpp"
#include "idemgen/core/errors.hpp"
#include "idemgen/data/idx.hpp"

namespace idemgen::data {

/// The shape of one image; its `size()` is the dimension of the samples.
struct image_shape {
  index_t channels = 1, height = 0, width = 0;
  index_t size() const { return channels * height * width; }
  bool operator==(const image_shape&) const = default;
};

/// Pixel byte → model value in [−1, 1], and back (rounded, clipped; NaN becomes 0, black).
inline double pixel_to_unit(std::uint8_t byte) { return 2.0 * byte / 255.0 - 1.0; }
inline std::uint8_t unit_to_pixel(double value) {
  const double byte = (value + 1.0) * 127.5 + 0.5;
  return static_cast<std::uint8_t>(!(byte > 0) ? 0 : byte >= 255 ? 255 : byte);
}

struct image_set {
  image_shape shape;
  index_t count = 0;
  std::vector<std::uint8_t> pixels;  ///< count · shape.size() bytes, image k at k · shape.size()
  std::vector<std::uint8_t> labels;  ///< count labels, or empty

  /// Image k as model values in [−1, 1], written to out[0 .. shape.size()).
  template <class Scalar>
  void image_to(index_t k, Scalar* out) const {
    const std::uint8_t* image = pixels.data() + static_cast<std::size_t>(k * shape.size());
    for (index_t i = 0; i < shape.size(); ++i) out[i] = static_cast<Scalar>(pixel_to_unit(image[i]));
  }
};

/// Images from an IDX file of rank 3 (count × height × width, one channel) or rank 4 (count ×
/// channels × height × width), and their labels from a rank-1 IDX file when `labels_path` is not
/// empty. Throws io_error for a file of another rank or a label count that differs from the
/// image count (and whatever data::read_idx throws).
inline image_set read_idx_images(const std::string& images_path, const std::string& labels_path = "") {
  idx_bytes images = read_idx(images_path);
  if (images.dims.size() != 3 && images.dims.size() != 4)
    throw io_error("data::read_idx_images", images_path, "an image file (rank 3 or 4)",
                   fmt::format("rank {}", images.dims.size()));
  image_set set;
  set.count = images.dims[0];
  set.shape = images.dims.size() == 3 ? image_shape{1, images.dims[1], images.dims[2]}
                                      : image_shape{images.dims[1], images.dims[2], images.dims[3]};
  set.pixels = std::move(images.values);
  if (!labels_path.empty()) {
    idx_bytes labels = read_idx(labels_path);
    if (labels.dims.size() != 1)
      throw io_error("data::read_idx_images", labels_path, "a label file (rank 1)",
                     fmt::format("rank {}", labels.dims.size()));
    if (labels.count() != set.count)
      throw io_error("data::read_idx_images", labels_path, fmt::format("{} labels, one an image", set.count),
                     fmt::format("{}", labels.count()));
    set.labels = std::move(labels.values);
  }
  return set;
}

/// Which half of an MNIST-style directory: the training set or the test set ("t10k").
enum class idx_split { train, test };

/// The images and labels of one split of an MNIST-style directory: the files
/// `train-images-idx3-ubyte` and `train-labels-idx1-ubyte` (`t10k-…` for the test split), each
/// plain or with `.gz`. Throws io_error when the directory or a file is missing.
inline image_set read_idx_directory(const std::string& directory, idx_split split) {
  const std::string prefix = split == idx_split::train ? "train" : "t10k";
  std::error_code ec;
  if (!std::filesystem::is_directory(directory, ec))
    throw io_error("data::read_idx_directory", directory, "a directory of IDX files",
                   std::filesystem::exists(directory, ec) ? "not a directory" : "no such directory");
  const auto find = [&](const std::string& stem) {
    for (const std::string& name : {stem, stem + ".gz"}) {
      const std::string path = (std::filesystem::path(directory) / name).string();
      if (std::filesystem::exists(path, ec)) return path;
    }
    throw io_error("data::read_idx_directory", directory, fmt::format("a file {} or {}.gz", stem, stem), "none");
  };
  const std::string images = find(prefix + "-images-idx3-ubyte");  // images first: the message names what is missing first
  return read_idx_images(images, find(prefix + "-labels-idx1-ubyte"));
}

/// Where Fashion-MNIST is: $IDEMGEN_FASHION_MNIST_DIR when set, else Debian's
/// `dataset-fashion-mnist` package (/usr/share/datasets/fashion-mnist; the set-up script
/// installs it). Nothing is downloaded.
inline std::string fashion_mnist_directory() {
  const char* from_environment = std::getenv("IDEMGEN_FASHION_MNIST_DIR");
  return from_environment && *from_environment ? from_environment : "/usr/share/datasets/fashion-mnist";
}

}  // namespace idemgen::data
