// Images: the IDX reader (plain and gzip, and every way a file can be wrong), image sets as
// data sets, the degradations NAIGN restores from, the restoration scores, and PNG grids.

#include <zlib.h>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <string>
#include <vector>

#include "idemgen/data/dataset.hpp"
#include "idemgen/data/image_folder.hpp"  // stb_image, to read the grids back
#include "idemgen/data/degradations.hpp"
#include "idemgen/data/idx.hpp"
#include "idemgen/backend/cpu.hpp"
#include "idemgen/evaluation/frechet_distance.hpp"
#include "idemgen/evaluation/image_quality.hpp"
#include "idemgen/evaluation/nearest_neighbours.hpp"
#include "idemgen/io/image_grid.hpp"

using namespace idemgen;
namespace fs = std::filesystem;

namespace {

fs::path scratch_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("idemgen_test_images_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

/// An IDX file's bytes: magic 00 00 type rank, big-endian dims, then `values`.
std::string idx_bytes_of(const std::vector<std::uint32_t>& dims, const std::vector<std::uint8_t>& values,
                         std::uint8_t type = 0x08) {
  std::string bytes = {0, 0, static_cast<char>(type), static_cast<char>(dims.size())};
  for (std::uint32_t d : dims)
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(static_cast<char>((d >> shift) & 0xff));
  bytes.append(values.begin(), values.end());
  return bytes;
}

void write_plain(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

void write_gzip(const fs::path& path, const std::string& bytes) {
  gzFile out = gzopen(path.c_str(), "wb");
  REQUIRE(out != nullptr);
  REQUIRE(gzwrite(out, bytes.data(), static_cast<unsigned>(bytes.size())) == static_cast<int>(bytes.size()));
  REQUIRE(gzclose(out) == Z_OK);
}

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::vector<std::uint8_t> ramp(std::size_t n) {
  std::vector<std::uint8_t> v(n);
  for (std::size_t k = 0; k < n; ++k) v[k] = static_cast<std::uint8_t>((k * 37 + 11) % 256);
  return v;
}

/// Writes an MNIST-style directory: `count` images of h × w, labels k % 10, both splits.
void write_idx_directory(const fs::path& dir, std::uint32_t count, std::uint32_t h, std::uint32_t w) {
  std::vector<std::uint8_t> labels(count);
  for (std::uint32_t k = 0; k < count; ++k) labels[k] = static_cast<std::uint8_t>(k % 10);
  for (const std::string prefix : {"train", "t10k"}) {
    write_gzip(dir / (prefix + "-images-idx3-ubyte.gz"), idx_bytes_of({count, h, w}, ramp(count * h * w)));
    write_plain(dir / (prefix + "-labels-idx1-ubyte"), idx_bytes_of({count}, labels));
  }
}

template <class Call>
std::string io_error_of(Call&& call) {
  try {
    call();
  } catch (const io_error& e) {
    return e.what();
  }
  FAIL("no io_error");
  return "";
}

}  // namespace

TEST_CASE("read_idx reads plain and gzip-compressed IDX files to the same dims and bytes") {
  const fs::path dir = scratch_dir("round_trip");
  const std::vector<std::uint8_t> values = ramp(2 * 3 * 4);
  const std::string bytes = idx_bytes_of({2, 3, 4}, values);
  write_plain(dir / "plain", bytes);
  write_gzip(dir / "packed.gz", bytes);
  write_gzip(dir / "packed_without_suffix", bytes);  // told apart by gzip's magic, not the name
  for (const char* name : {"plain", "packed.gz", "packed_without_suffix"}) {
    const data::idx_bytes array = data::read_idx((dir / name).string());
    CHECK(array.dims == std::vector<index_t>{2, 3, 4});
    CHECK(array.count() == 2);
    CHECK(array.item_size() == 12);
    CHECK(array.values == values);
  }
}

TEST_CASE("read_idx refuses wrong magic, element types, ranks, sizes and truncated, trailing or corrupt streams") {
  const fs::path dir = scratch_dir("errors");
  const std::vector<std::uint8_t> values = ramp(6000);
  const std::string good = idx_bytes_of({6, 1000}, values);
  const auto error_for_plain = [&](const std::string& bytes) {
    write_plain(dir / "file", bytes);
    return io_error_of([&] { data::read_idx((dir / "file").string()); });
  };
  CHECK_THAT(error_for_plain(good.substr(0, good.size() - 1)), Catch::Contains("truncated"));
  CHECK_THAT(error_for_plain(good + "x"), Catch::Contains("trailing bytes"));
  CHECK_THAT(error_for_plain(std::string("\x01\x00", 2) + good.substr(2)), Catch::Contains("magic"));
  CHECK_THAT(error_for_plain(idx_bytes_of({6, 1000}, values, 0x0D)), Catch::Contains("float32"));
  CHECK_THAT(error_for_plain(idx_bytes_of({6, 0}, {})), Catch::Contains("dimension 1 at least 1"));
  CHECK_THAT(error_for_plain(std::string("\x00\x00\x08\x00", 4)), Catch::Contains("rank at least 1"));
  CHECK_THAT(error_for_plain("\x00\x00"), Catch::Contains("at least 4 bytes"));
  CHECK_THAT(error_for_plain(std::string("\x00\x00\x08\x03\x00\x00", 6)), Catch::Contains("3 dimensions"));
  // 2^32−1 × 2^32−1 bytes: refused from the header, before any allocation.
  CHECK_THAT(error_for_plain(idx_bytes_of({0xffffffffu, 0xffffffffu}, {})), Catch::Contains("at most"));

  const auto error_for_gzip = [&](const std::string& compressed) {
    write_plain(dir / "file.gz", compressed);
    return io_error_of([&] { data::read_idx((dir / "file.gz").string()); });
  };
  write_gzip(dir / "good.gz", good);
  const std::string packed = read_bytes(dir / "good.gz");
  REQUIRE(data::read_idx((dir / "good.gz").string()).values == values);
  CHECK_FALSE(error_for_gzip(packed.substr(0, packed.size() - 9)).empty());  // truncated
  std::string flipped = packed;  // a payload byte changed: bad deflate data or a CRC mismatch
  flipped[packed.size() / 2] = static_cast<char>(flipped[packed.size() / 2] ^ 0x5a);
  CHECK_FALSE(error_for_gzip(flipped).empty());
  write_gzip(dir / "long.gz", good + "extra");  // more data than the dims declare
  CHECK_THAT(io_error_of([&] { data::read_idx((dir / "long.gz").string()); }), Catch::Contains("uncompressed bytes"));

  CHECK_THAT(io_error_of([&] { data::read_idx(dir.string()); }), Catch::Contains("a directory"));
  CHECK_THAT(io_error_of([&] { data::read_idx((dir / "missing").string()); }), Catch::Contains("no such file"));
}

TEST_CASE("read_idx_images pairs images with labels and refuses other ranks and counts") {
  const fs::path dir = scratch_dir("images");
  write_plain(dir / "images", idx_bytes_of({5, 3, 2}, ramp(30)));
  write_plain(dir / "labels", idx_bytes_of({5}, {0, 1, 2, 3, 4}));
  write_plain(dir / "four_labels", idx_bytes_of({4}, {0, 1, 2, 3}));
  write_plain(dir / "rank2", idx_bytes_of({5, 6}, ramp(30)));
  const data::image_set set = data::read_idx_images((dir / "images").string(), (dir / "labels").string());
  CHECK(set.count == 5);
  CHECK(set.shape == data::image_shape{1, 3, 2});
  CHECK(set.labels == std::vector<std::uint8_t>{0, 1, 2, 3, 4});
  std::vector<double> image(6);
  set.image_to(1, image.data());
  for (index_t i = 0; i < 6; ++i) CHECK(image[static_cast<std::size_t>(i)] == Approx(2.0 * ramp(30)[static_cast<std::size_t>(6 + i)] / 255.0 - 1.0));
  CHECK_THAT(io_error_of([&] { data::read_idx_images((dir / "images").string(), (dir / "four_labels").string()); }),
             Catch::Contains("5 labels"));
  CHECK_THAT(io_error_of([&] { data::read_idx_images((dir / "rank2").string()); }), Catch::Contains("rank 3 or 4"));
  CHECK_THAT(io_error_of([&] { data::read_idx_directory((dir / "images").string(), data::idx_split::train); }),
             Catch::Contains("not a directory"));
  CHECK_THAT(io_error_of([&] { data::read_idx_directory(dir.string(), data::idx_split::train); }),
             Catch::Contains("train-images-idx3-ubyte"));
}

TEST_CASE("pixel bytes map onto [-1, 1] and back without loss") {
  for (int b = 0; b < 256; ++b) CHECK(data::unit_to_pixel(data::pixel_to_unit(static_cast<std::uint8_t>(b))) == b);
  CHECK(data::pixel_to_unit(0) == -1.0);
  CHECK(data::pixel_to_unit(255) == 1.0);
  CHECK(data::unit_to_pixel(7.0) == 255);
  CHECK(data::unit_to_pixel(-7.0) == 0);
  CHECK(data::unit_to_pixel(std::nan("")) == 0);
}

TEST_CASE("an MNIST-style directory is a data set: its images drawn uniformly, as values in [-1, 1]") {
  const fs::path dir = scratch_dir("dataset");
  write_idx_directory(dir, 40, 4, 3);
  const data::dataset set = data::dataset::parse("mnist-idx:" + dir.string());
  REQUIRE(set.images() != nullptr);
  CHECK(set.dim() == 12);
  CHECK(set.stored_count() == 40);
  CHECK(data::dataset::parse("mnist-idx-test:" + dir.string()).stored_count() == 40);
  CHECK_THROWS_AS(data::dataset::parse("mnist-idx:" + dir.string(), 784), invalid_argument);
  CHECK_THROWS_AS(data::dataset::parse("mnist-idx:" + (dir / "nowhere").string()), io_error);

  random_stream rng(7);
  backend::host_matrix<double> batch;
  set.sample_host(batch, 4000, rng);
  std::vector<int> drawn(40, 0);
  std::vector<double> image(12);
  for (index_t j = 0; j < 4000; ++j) {
    int found = -1;  // each column is one of the stored images, exactly
    for (index_t k = 0; k < 40 && found < 0; ++k) {
      set.images()->image_to(k, image.data());
      bool same = true;
      for (index_t i = 0; i < 12; ++i) same = same && image[static_cast<std::size_t>(i)] == batch(i, j);
      if (same) found = static_cast<int>(k);
    }
    REQUIRE(found >= 0);
    ++drawn[static_cast<std::size_t>(found)];
  }
  // 100 draws expected of each: a binomial sd of ~10; all within 50–150.
  for (int c : drawn) CHECK((c > 50 && c < 150));
}

TEST_CASE("Fashion-MNIST from Debian's package: 60 000 training and 10 000 test images of 28 x 28, 10 balanced classes") {
  if (!fs::is_directory(data::fashion_mnist_directory())) {
    WARN("skipped: no " << data::fashion_mnist_directory() << " (Debian: dataset-fashion-mnist)");
    return;
  }
  const data::image_set train = data::read_idx_directory(data::fashion_mnist_directory(), data::idx_split::train);
  const data::image_set test = data::read_idx_directory(data::fashion_mnist_directory(), data::idx_split::test);
  CHECK(train.count == 60000);
  CHECK(test.count == 10000);
  CHECK(train.shape == data::image_shape{1, 28, 28});
  std::vector<int> per_class(10, 0);
  for (std::uint8_t label : train.labels) ++per_class.at(label);
  CHECK(per_class == std::vector<int>(10, 6000));
  const double mean_byte = std::accumulate(train.pixels.begin(), train.pixels.end(), 0.0) / static_cast<double>(train.pixels.size());
  CHECK((mean_byte > 60 && mean_byte < 90));  // Fashion-MNIST's mean pixel is 0.286 · 255 ≈ 73
}

// ---- degradations --------------------------------------------------------------------------

TEST_CASE("degradation specs parse with NAIGN's defaults and refuse unknown names and amounts") {
  CHECK(data::degradation::parse("lines").amount == 0.2);
  CHECK(data::degradation::parse("salt-pepper").amount == 0.2);
  CHECK(data::degradation::parse("noise:0.3").amount == 0.3);
  CHECK(data::degradation::parse("blur:2").what == data::degradation::kind::blur);
  for (const char* bad : {"smudge", "noise", "noise:", "noise:abc", "noise:-1", "blur:0", "mask:1.5", "down:1.5",
                          "checkerboard:0", "noise:nan"})
    CHECK_THROWS_AS(data::degradation::parse(bad), invalid_argument);
}

namespace {
std::vector<double> constant_images(const data::image_shape& shape, index_t n, double value) {
  return std::vector<double>(static_cast<std::size_t>(shape.size() * n), value);
}
}  // namespace

TEST_CASE("noise:S adds independent N(0, S^2) noise, the same for the same seed") {
  const data::image_shape shape{1, 28, 28};
  auto images = constant_images(shape, 100, 0.25), again = images;
  random_stream rng(3), rng_again(3);
  data::degrade(data::degradation::parse("noise:0.5"), shape, images.data(), 100, rng);
  data::degrade(data::degradation::parse("noise:0.5"), shape, again.data(), 100, rng_again);
  CHECK(images == again);
  double sum = 0, squares = 0;
  for (double v : images) sum += v - 0.25, squares += (v - 0.25) * (v - 0.25);
  const double n = static_cast<double>(images.size());
  CHECK(std::abs(sum / n) < 0.01);                      // 78 400 draws: sd of the mean 0.0018
  CHECK(std::sqrt(squares / n) == Approx(0.5).epsilon(0.01));
}

TEST_CASE("blur keeps a constant image, and spreads an impulse as a normalised Gaussian of variance S^2") {
  const data::image_shape shape{1, 41, 41};
  auto flat = constant_images(shape, 1, 0.3);
  random_stream rng(1);
  data::degrade(data::degradation::parse("blur:2"), shape, flat.data(), 1, rng);
  for (double v : flat) CHECK(v == Approx(0.3).margin(1e-12));
  auto impulse = constant_images(shape, 1, 0.0);
  impulse[20 * 41 + 20] = 1.0;
  data::degrade(data::degradation::parse("blur:2"), shape, impulse.data(), 1, rng);
  double mass = 0, second_moment = 0;
  for (index_t y = 0; y < 41; ++y)
    for (index_t x = 0; x < 41; ++x) {
      const double v = impulse[static_cast<std::size_t>(y * 41 + x)];
      mass += v;
      second_moment += v * static_cast<double>((x - 20) * (x - 20));
      CHECK(v == Approx(impulse[static_cast<std::size_t>(x * 41 + y)]).margin(1e-15));  // symmetric
    }
  CHECK(mass == Approx(1.0).margin(1e-12));
  // The kernel is exp(−k²/2σ²) over |k| ≤ ⌈3σ⌉ = 6, normalised: its variance, 1.2 % under σ².
  double weight = 0, weighted_k2 = 0;
  for (int k = -6; k <= 6; ++k) {
    weight += std::exp(-k * k / 8.0);
    weighted_k2 += k * k * std::exp(-k * k / 8.0);
  }
  CHECK(second_moment == Approx(weighted_k2 / weight).epsilon(1e-12));
  CHECK(second_moment == Approx(4.0).epsilon(0.015));
}

TEST_CASE("lines deletes whole rows and columns to -1 with probability P each") {
  const data::image_shape shape{1, 32, 32};
  const index_t n = 200;
  auto images = constant_images(shape, n, 0.5);
  random_stream rng(11);
  data::degrade(data::degradation::parse("lines:0.2"), shape, images.data(), n, rng);
  index_t rows_deleted = 0;
  for (index_t j = 0; j < n; ++j) {
    const double* image = images.data() + j * shape.size();
    std::vector<bool> row(32), column(32);
    for (index_t y = 0; y < 32; ++y) {
      bool all = true;
      for (index_t x = 0; x < 32; ++x) all = all && image[y * 32 + x] == -1.0;
      row[static_cast<std::size_t>(y)] = all;
      rows_deleted += all;
    }
    for (index_t x = 0; x < 32; ++x) {
      bool all = true;
      for (index_t y = 0; y < 32; ++y) all = all && image[y * 32 + x] == -1.0;
      column[static_cast<std::size_t>(x)] = all;
    }
    // every pixel is untouched or -1, and -1 exactly where its row or its column is deleted
    for (index_t y = 0; y < 32; ++y)
      for (index_t x = 0; x < 32; ++x) {
        const double v = image[y * 32 + x];
        REQUIRE((v == 0.5 || v == -1.0));
        REQUIRE((v == -1.0) == (row[static_cast<std::size_t>(y)] || column[static_cast<std::size_t>(x)]));
      }
  }
  // a row also reads as deleted when all 32 columns are: negligible at P = 0.2
  CHECK(static_cast<double>(rows_deleted) / (32.0 * n) == Approx(0.2).margin(0.02));
}

TEST_CASE("salt-pepper corrupts a fraction P of pixels, half to +1 and half to -1, and mask deletes a fraction P") {
  const data::image_shape shape{1, 28, 28};
  const index_t n = 100;
  auto images = constant_images(shape, n, 0.0), masked = images;
  random_stream rng(5);
  data::degrade(data::degradation::parse("salt-pepper:0.2"), shape, images.data(), n, rng);
  data::degrade(data::degradation::parse("mask:0.5"), shape, masked.data(), n, rng);
  const double total = static_cast<double>(images.size());
  const auto share = [&](const std::vector<double>& v, double value) {
    return static_cast<double>(std::count(v.begin(), v.end(), value)) / total;
  };
  CHECK(share(images, 1.0) == Approx(0.1).margin(0.005));
  CHECK(share(images, -1.0) == Approx(0.1).margin(0.005));
  CHECK(share(images, 0.0) == Approx(0.8).margin(0.005));
  CHECK(share(masked, -1.0) == Approx(0.5).margin(0.01));
  CHECK(share(masked, 0.0) + share(masked, -1.0) == 1.0);
}

TEST_CASE("checkerboard deletes alternate K x K squares, and down replaces each F x F block by its mean") {
  const data::image_shape shape{1, 8, 8};
  std::vector<double> image(64);
  for (std::size_t k = 0; k < 64; ++k) image[k] = static_cast<double>(k % 7) / 7.0;
  auto board = image, down = image;
  random_stream rng(1);
  data::degrade(data::degradation::parse("checkerboard:2"), shape, board.data(), 1, rng);
  data::degrade(data::degradation::parse("down:4"), shape, down.data(), 1, rng);
  for (index_t y = 0; y < 8; ++y)
    for (index_t x = 0; x < 8; ++x) {
      const auto k = static_cast<std::size_t>(y * 8 + x);
      CHECK(board[k] == ((y / 2 + x / 2) % 2 ? -1.0 : image[k]));
      double block = 0;
      for (index_t v = y / 4 * 4; v < y / 4 * 4 + 4; ++v)
        for (index_t u = x / 4 * 4; u < x / 4 * 4 + 4; ++u) block += image[static_cast<std::size_t>(v * 8 + u)];
      CHECK(down[k] == Approx(block / 16).margin(1e-15));
    }
}

// ---- restoration scores --------------------------------------------------------------------

TEST_CASE("MAE, PSNR and SSIM: exact for a copy, a constant offset and constant images") {
  const data::image_shape shape{1, 16, 16};
  std::vector<double> clean(static_cast<std::size_t>(shape.size() * 2));
  for (std::size_t k = 0; k < clean.size(); ++k) clean[k] = std::sin(0.37 * static_cast<double>(k)) * 0.8;
  auto offset = clean;
  for (double& v : offset) v += 0.1;
  CHECK(evaluation::mae(offset.data(), clean.data(), shape, 2) == Approx(0.1));
  CHECK(evaluation::psnr(offset.data(), clean.data(), shape, 2) == Approx(10 * std::log10(4.0 / 0.01)));
  CHECK(std::isinf(evaluation::psnr(clean.data(), clean.data(), shape, 2)));
  CHECK(evaluation::ssim(clean.data(), clean.data(), shape, 2) == Approx(1.0));
  // Constant images a and b: the structure terms are C2/C2 = 1, leaving the luminance term.
  const auto a = constant_images(shape, 1, 0.2), b = constant_images(shape, 1, -0.4);
  const double c1 = 0.02 * 0.02;
  CHECK(evaluation::ssim(a.data(), b.data(), shape, 1) == Approx((2 * 0.2 * -0.4 + c1) / (0.04 + 0.16 + c1)));
  const data::image_shape tiny{1, 10, 10};
  CHECK_THROWS_AS(evaluation::ssim(a.data(), b.data(), tiny, 1), invalid_argument);
  CHECK_THROWS_AS(evaluation::mae(a.data(), b.data(), shape, 0), invalid_argument);
}

TEST_CASE("SSIM and PSNR fall as noise grows, and SSIM is symmetric") {
  const data::image_shape shape{1, 28, 28};
  std::vector<double> clean(static_cast<std::size_t>(shape.size() * 4));
  for (std::size_t k = 0; k < clean.size(); ++k) clean[k] = std::cos(0.11 * static_cast<double>(k % 28)) * 0.9;
  double last_ssim = 1.0, last_psnr = std::numeric_limits<double>::infinity();
  for (double sigma : {0.05, 0.2, 0.8}) {
    auto noisy = clean;
    random_stream rng(2);
    data::degrade(data::degradation::parse(fmt::format("noise:{}", sigma)), shape, noisy.data(), 4, rng);
    const double s = evaluation::ssim(noisy.data(), clean.data(), shape, 4);
    CHECK(s == Approx(evaluation::ssim(clean.data(), noisy.data(), shape, 4)).margin(1e-12));
    CHECK(s < last_ssim);
    const double p = evaluation::psnr(noisy.data(), clean.data(), shape, 4);
    CHECK(p < last_psnr);
    CHECK(p == Approx(10 * std::log10(4.0 / (sigma * sigma))).epsilon(0.05));  // MSE ≈ σ²
    last_ssim = s;
    last_psnr = p;
  }
}

TEST_CASE("an image grid PNG has one tile a sample, each pixel scaled, grey as the values say") {
  const fs::path dir = scratch_dir("grid");
  const data::image_shape shape{1, 4, 3};
  std::vector<double> images(static_cast<std::size_t>(shape.size() * 5), -1.0);
  images[0] = 1.0;                  // image 0, pixel (0, 0): white
  images[2 * shape.size() + 5] = 0.0;  // image 2, pixel (1, 2): mid grey
  const std::string path = (dir / "grid.png").string();
  io::write_image_grid_png(path, images.data(), shape, 5, 3, 2);
  int width = 0, height = 0, channels = 0;
  unsigned char* png = stbi_load(path.c_str(), &width, &height, &channels, 3);
  REQUIRE(png != nullptr);
  CHECK(width == 3 * (3 * 2 + 2) + 2);   // 3 tiles a row of 6 pixels, 2-pixel gaps
  CHECK(height == 2 * (4 * 2 + 2) + 2);  // 2 rows of tiles
  const auto at = [&](int x, int y) { return png[3 * (y * width + x)]; };
  CHECK(at(2, 2) == 255);              // image 0's first pixel
  CHECK(at(4, 2) == 0);                // its second
  const int left = 2 + 2 * (3 * 2 + 2);
  CHECK(at(left + 2 * 2 + 1, 2 + 1 * 2 + 1) == 128);  // image 2's pixel (row 1, column 2)
  CHECK(at(0, 0) == 255);              // a gap
  stbi_image_free(png);
  CHECK_THROWS_AS(io::write_image_grid_png(path, images.data(), data::image_shape{2, 4, 3}, 1, 1), invalid_argument);
  CHECK_THROWS_AS(io::write_image_grid_png(dir.string(), images.data(), shape, 5, 3), io_error);
}

// ---- scores on features ----------------------------------------------------------------------

namespace {
using host_cpu = backend::cpu<double>;

std::vector<double> normal_features(index_t d, index_t n, std::uint64_t seed) {
  host_cpu::matrix m(d, n);
  random_stream rng(seed);
  host_cpu::fill_normal(m, rng, 0.0, 1.0);
  std::vector<double> v(static_cast<std::size_t>(d * n));
  host_cpu::copy_to_host(m, v.data());
  for (index_t j = 0; j < n; ++j) v[static_cast<std::size_t>(j * d)] *= 3.0;  // an anisotropic covariance
  return v;
}
}  // namespace

TEST_CASE("Frechet distance: 0 for one set, and |mu_a + 1|^2 + Tr(Sigma_a) between a and 2a + 1") {
  const index_t d = 4, n = 500;
  const auto a = normal_features(d, n, 1);
  auto b = a;
  for (double& v : b) v = 2 * v + 1;
  const auto fit_a = evaluation::gaussian_fit::of(a.data(), d, n);
  // Σ_b = 4 Σ_a and μ_b = 2 μ_a + 1: Tr(Σ_a + 4Σ_a − 2 (4 Σ_a²)^{1/2}) = Tr(Σ_a).
  const double expected = (fit_a.mean + Eigen::VectorXd::Ones(d)).squaredNorm() + fit_a.covariance.trace();
  CHECK(evaluation::frechet_distance(a.data(), b.data(), d, n, n) == Approx(expected).epsilon(1e-10));
  CHECK(evaluation::frechet_distance(b.data(), a.data(), d, n, n) == Approx(expected).epsilon(1e-10));
  CHECK(std::abs(evaluation::frechet_distance(a.data(), a.data(), d, n, n)) < 1e-10);
  // two draws of one distribution: small against the distance to a shifted copy
  const auto fresh = normal_features(d, n, 2);
  CHECK(evaluation::frechet_distance(a.data(), fresh.data(), d, n, n) < 0.2);
  auto broken = a;
  broken[3] = std::nan("");
  CHECK_THROWS_AS(evaluation::gaussian_fit::of(broken.data(), d, n), numeric_error);
  CHECK_THROWS_AS(evaluation::gaussian_fit::of(a.data(), d, 1), invalid_argument);
}

TEST_CASE("coverage and density count generated samples inside the real samples' k-NN balls (Naeem et al. eq. 3-4)") {
  // Real points 0, 1, …, 9 on a line: with k = 1 every ball has radius 1. Generated 0.5 lies in
  // the balls of 0 and 1; 100 in none: density 2 / (1 · 2) = 1, coverage 2 / 10.
  host_cpu::matrix real(1, 10), generated(1, 2);
  for (index_t i = 0; i < 10; ++i) real(0, i) = static_cast<double>(i);
  generated(0, 0) = 0.5;
  generated(0, 1) = 100.0;
  auto scores = evaluation::coverage_and_density<host_cpu>(real, generated, 1);
  CHECK(scores.density == Approx(1.0));
  CHECK(scores.coverage == Approx(0.2));
  scores = evaluation::coverage_and_density<host_cpu>(real, real, 1);
  CHECK(scores.coverage == 1.0);
  // each real point lies in its own ball and in both neighbours' (ends: one neighbour)
  CHECK(scores.density == Approx((8 * 3.0 + 2 * 2.0) / 10.0));
  CHECK_THROWS_AS(evaluation::coverage_and_density<host_cpu>(real, generated, 10), invalid_argument);
  host_cpu::matrix wrong(2, 2);
  CHECK_THROWS_AS(evaluation::coverage_and_density<host_cpu>(real, wrong, 1), shape_error);
}

TEST_CASE("nearest distances find each generated sample's closest training sample, in blocks") {
  const index_t d = 3, n = 2500;  // more than one block of 1024 columns
  const auto train_values = normal_features(d, n, 4);
  host_cpu::matrix training(d, n), generated(d, 3);
  host_cpu::copy_from_host(train_values.data(), training);
  for (index_t i = 0; i < d; ++i) {
    generated(i, 0) = training(i, 7);
    generated(i, 1) = training(i, 2000) + (i == 1 ? 1e-3 : 0.0);
    generated(i, 2) = 50.0;
  }
  const auto nearest = evaluation::nearest_distances<host_cpu>(training, generated);
  CHECK(nearest[0] < 1e-7);
  CHECK(nearest[1] == Approx(1e-3).epsilon(1e-3));
  double far = std::numeric_limits<double>::infinity();
  for (index_t j = 0; j < n; ++j) {
    double s = 0;
    for (index_t i = 0; i < d; ++i) s += (training(i, j) - 50.0) * (training(i, j) - 50.0);
    far = std::min(far, std::sqrt(s));
  }
  CHECK(nearest[2] == Approx(far));
}
