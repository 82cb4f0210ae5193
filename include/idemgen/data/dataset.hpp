#pragma once
// A training set named by a string: one of the toy distributions ("grid25", "moons", …; fresh
// points on every draw), a user's own points ("csv:FILE", one point a row, io::read_points_csv),
// or images ("fashion-mnist", "fashion-mnist-test", "mnist-idx:DIR", "mnist-idx-test:DIR": an
// MNIST-style directory of IDX files, data/image_set.hpp; "folder:DIR" or "folder:HxWxC:DIR": a
// folder of PNG/JPEG files, data/image_folder.hpp, 28x28x1 by default), the last two drawn
// uniformly with replacement. The same value samples training batches and the fresh data
// the evaluation compares against (for a point cloud: its own points again, a training-set fit).

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "idemgen/data/image_folder.hpp"
#include "idemgen/data/image_set.hpp"
#include "idemgen/data/toy.hpp"
#include "idemgen/io/csv.hpp"

namespace idemgen::data {

class dataset {
 public:
  /// "csv:FILE" or a toy name; throws invalid_argument (unknown name) or io_error (a CSV that is
  /// missing, ragged, empty or not finite), and invalid_argument for a cloud of another dimension
  /// than `dim` (0: any) or of fewer than 2 points.
  /// Image sets: "fashion-mnist" (its training split; "fashion-mnist-test" the test split, from
  /// data::fashion_mnist_directory()) or "mnist-idx:DIR" / "mnist-idx-test:DIR"; io_error when
  /// the files are missing or corrupt, invalid_argument for another `dim` than the images'.
  /// "folder:DIR" reads a folder of images at 28x28, grey, centre-cropped; "folder:HxWxC:DIR"
  /// at H x W with C channels (1 or 3).
  static dataset parse(std::string_view spec, index_t dim = 0) {
    dataset d;
    d.name_ = std::string(spec);
    if (auto images = parse_images(spec)) {
      if (dim > 0 && images->shape.size() != dim)
        throw invalid_argument("data::dataset", "images", fmt::format("{} values an image", dim),
                               fmt::format("{} ({}x{}x{}) in {}", images->shape.size(), images->shape.channels,
                                           images->shape.height, images->shape.width, spec));
      d.dim_ = images->shape.size();
      d.images_ = std::make_shared<const image_set>(std::move(*images));
      return d;
    }
    if (spec.substr(0, 4) != "csv:") {
      d.toy_ = parse_toy(spec);
      d.dim_ = 2;
      return d;
    }
    const std::string path(spec.substr(4));
    auto cloud = std::make_shared<io::points>(io::read_points_csv(path));
    if (dim > 0 && cloud->dim != dim)
      throw invalid_argument("data::dataset", "csv", fmt::format("{} columns a row", dim),
                             fmt::format("{} in {}", cloud->dim, path));
    if (cloud->count < 2)
      throw invalid_argument("data::dataset", "csv", "at least 2 points", fmt::format("{} in {}", cloud->count, path));
    d.dim_ = cloud->dim;
    d.cloud_ = std::move(cloud);
    return d;
  }

  /// Whether a spec names images (fashion-mnist, mnist-idx…, folder:…), before anything is read.
  static bool is_image_spec(std::string_view spec) {
    return spec == "fashion-mnist" || spec == "fashion-mnist-test" || spec.substr(0, 10) == "mnist-idx:" ||
           spec.substr(0, 15) == "mnist-idx-test:" || spec.substr(0, 7) == "folder:";
  }

  const std::string& name() const { return name_; }
  index_t dim() const { return dim_; }
  /// The toy distribution, when it is one.
  std::optional<data::toy> toy() const { return toy_; }
  /// The mixture components (grid25, 8gaussians) for mode coverage and exact denoisers.
  std::optional<data::mixture> mixture() const { return toy_ ? mixture_of(*toy_) : std::nullopt; }
  /// The stored points (d × n, column-major), when the set is a point cloud.
  const io::points* points() const { return cloud_.get(); }
  /// The images, when the set is an image set.
  const image_set* images() const { return images_.get(); }
  /// How many stored points or images there are to draw from (0 for a toy distribution).
  index_t stored_count() const { return cloud_ ? cloud_->count : images_ ? images_->count : 0; }

  /// Fills a dim × n host buffer: fresh toy points, or stored points or images drawn uniformly
  /// with replacement (one block of `rng` per draw).
  void sample_host(backend::host_matrix<double>& out, index_t n, random_stream& rng) const {
    if (toy_) return sample_toy_host(*toy_, out, n, rng);
    out.resize(dim_, n);
    const index_t count = stored_count();
    const std::uint64_t first = rng.reserve(static_cast<std::uint64_t>(n));
    for (index_t j = 0; j < n; ++j) {
      const double u = uniform_open01<double>(philox_block_at(rng.key(), first + static_cast<std::uint64_t>(j)).v[0]);
      const index_t row = std::min(count - 1, static_cast<index_t>(u * static_cast<double>(count)));
      if (images_) {
        images_->image_to(row, &out(0, j));
      } else {
        for (index_t i = 0; i < dim_; ++i) out(i, j) = cloud_->values[static_cast<std::size_t>(row * dim_ + i)];
      }
    }
  }

 private:
  std::string name_;
  index_t dim_ = 0;
  std::optional<data::toy> toy_;
  std::shared_ptr<const io::points> cloud_;
  std::shared_ptr<const image_set> images_;

  static std::optional<image_set> parse_images(std::string_view spec) {
    if (spec == "fashion-mnist") return read_idx_directory(fashion_mnist_directory(), idx_split::train);
    if (spec == "fashion-mnist-test") return read_idx_directory(fashion_mnist_directory(), idx_split::test);
    if (spec.substr(0, 15) == "mnist-idx-test:") return read_idx_directory(std::string(spec.substr(15)), idx_split::test);
    if (spec.substr(0, 10) == "mnist-idx:") return read_idx_directory(std::string(spec.substr(10)), idx_split::train);
    if (spec.substr(0, 7) == "folder:") return read_image_folder_spec(std::string(spec.substr(7)));
    return std::nullopt;
  }

  /// "DIR" or "HxWxC:DIR" (a directory whose name itself looks like HxWxC:… takes the long form).
  static image_set read_image_folder_spec(const std::string& rest) {
    image_folder_options opt;
    const std::size_t colon = rest.find(':');
    if (colon != std::string::npos) {
      long h = 0, w = 0, c = 0;
      char tail = 0;
      if (std::sscanf(rest.substr(0, colon).c_str(), "%ldx%ldx%ld%c", &h, &w, &c, &tail) == 3) {
        opt.height = h;
        opt.width = w;
        opt.channels = c;
        return read_image_folder(rest.substr(colon + 1), opt);
      }
    }
    return read_image_folder(rest, opt);
  }
};

/// Fills a dim × n backend matrix from a dataset. Keeps its host buffers between calls.
template <numeric_backend B>
class dataset_sampler {
 public:
  explicit dataset_sampler(dataset d) : data_(std::move(d)) {}
  const dataset& source() const { return data_; }
  void sample(typename B::view out, random_stream& rng) {
    idemgen::detail::require_dim("dataset_sampler::sample", "out", "rows", data_.dim(), out.rows());
    data_.sample_host(host_, out.cols(), rng);
    detail::upload<B>(host_, converted_, out);
  }

 private:
  dataset data_;
  backend::host_matrix<double> host_;
  std::vector<typename B::scalar> converted_;
};

}  // namespace idemgen::data
