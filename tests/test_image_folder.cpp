// A folder of the user's own images (data/image_folder.hpp): both layouts, channel order,
// the two ways of fitting a size, and every way a folder or a file can be wrong.

#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "idemgen/data/dataset.hpp"
#include "idemgen/data/image_folder.hpp"
#include "idemgen/io/raster.hpp"  // stb_image_write

using namespace idemgen;
namespace fs = std::filesystem;

namespace {

fs::path scratch_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("idemgen_test_image_folder_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

/// Writes w × h pixels of c interleaved channels as PNG (or BMP for a .bmp name).
void write_image(const fs::path& path, int w, int h, int c, const std::vector<std::uint8_t>& hwc) {
  REQUIRE(hwc.size() == static_cast<std::size_t>(w * h * c));
  fs::create_directories(path.parent_path());
  const int ok = path.extension() == ".bmp" ? stbi_write_bmp(path.c_str(), w, h, c, hwc.data())
                                            : stbi_write_png(path.c_str(), w, h, c, hwc.data(), w * c);
  REQUIRE(ok != 0);
}

std::vector<std::uint8_t> ramp(int n, int offset) {
  std::vector<std::uint8_t> v(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) v[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(offset + 10 * i);
  return v;
}

}  // namespace

TEST_CASE("a flat folder reads its images in name order, unlabelled, pixels exact at their own size") {
  const fs::path dir = scratch_dir("flat");
  write_image(dir / "b.png", 4, 4, 1, ramp(16, 5));
  write_image(dir / "a.png", 4, 4, 1, ramp(16, 0));
  write_image(dir / "c.bmp", 4, 4, 1, ramp(16, 7));
  std::ofstream(dir / "notes.txt") << "not an image";  // skipped: not an image extension
  const data::image_set set = data::read_image_folder(dir.string(), {.channels = 1, .height = 4, .width = 4});
  CHECK(set.count == 3);
  CHECK(set.shape == data::image_shape{1, 4, 4});
  CHECK(set.labels.empty());
  CHECK(std::vector<std::uint8_t>(set.pixels.begin(), set.pixels.begin() + 16) == ramp(16, 0));
  CHECK(std::vector<std::uint8_t>(set.pixels.begin() + 16, set.pixels.begin() + 32) == ramp(16, 5));
  CHECK(std::vector<std::uint8_t>(set.pixels.begin() + 32, set.pixels.end()) == ramp(16, 7));
}

TEST_CASE("class folders label each image by its folder's place in name order") {
  const fs::path dir = scratch_dir("classes");
  write_image(dir / "dog" / "1.png", 2, 2, 1, ramp(4, 0));
  write_image(dir / "cat" / "9.png", 2, 2, 1, ramp(4, 1));
  write_image(dir / "dog" / "0.png", 2, 2, 1, ramp(4, 2));
  const data::image_set set = data::read_image_folder(dir.string(), {.channels = 1, .height = 2, .width = 2});
  REQUIRE(set.count == 3);
  CHECK(set.labels == std::vector<std::uint8_t>{0, 1, 1});  // cat, then dog/0, dog/1
  CHECK(set.pixels[0] == 1);
  CHECK(set.pixels[4] == 2);
  CHECK(set.pixels[8] == 0);
}

TEST_CASE("RGB images become CHW planes, and grey ones are converted from RGB") {
  const fs::path dir = scratch_dir("rgb");
  write_image(dir / "x.png", 2, 1, 3, {255, 0, 0, 0, 255, 0});  // a red pixel, then a green one
  const data::image_set rgb = data::read_image_folder(dir.string(), {.channels = 3, .height = 1, .width = 2});
  CHECK(rgb.pixels == std::vector<std::uint8_t>{255, 0, 0, 255, 0, 0});  // R plane, G plane, B plane
  const data::image_set grey = data::read_image_folder(dir.string(), {.channels = 1, .height = 1, .width = 2});
  REQUIRE(grey.pixels.size() == 2);
  CHECK(grey.pixels[1] > grey.pixels[0]);  // green is brighter than red in luma
}

TEST_CASE("center_crop keeps the middle of a wide image, resize squeezes all of it in") {
  const fs::path dir = scratch_dir("fit");
  // 8 x 4: the outer two columns on each side black, the middle four white.
  std::vector<std::uint8_t> wide(32, 0);
  for (int y = 0; y < 4; ++y)
    for (int x = 2; x < 6; ++x) wide[static_cast<std::size_t>(y * 8 + x)] = 255;
  write_image(dir / "wide.png", 8, 4, 1, wide);
  const data::image_set cropped = data::read_image_folder(dir.string(), {.channels = 1, .height = 4, .width = 4});
  CHECK(cropped.pixels == std::vector<std::uint8_t>(16, 255));
  const data::image_set squeezed =
      data::read_image_folder(dir.string(), {.channels = 1, .height = 4, .width = 4, .fit = data::image_fit::resize});
  CHECK(squeezed.pixels[0] < 128);  // the black border is still there at the left
  CHECK(squeezed.pixels[3] < 128);  // and at the right
  CHECK(squeezed.pixels[1] > 128);
  // Up-scaling: a 2 x 2 image read at 6 x 6 is a 6 x 6 image.
  const fs::path small = scratch_dir("fit_small");
  write_image(small / "s.png", 2, 2, 1, {0, 255, 255, 0});
  CHECK(data::read_image_folder(small.string(), {.channels = 1, .height = 6, .width = 6}).pixels.size() == 36);
}

TEST_CASE("read_image_folder refuses missing, empty and non-directories, undecodable files and bad options") {
  const fs::path dir = scratch_dir("errors");
  CHECK_THROWS_AS(data::read_image_folder((dir / "missing").string()), io_error);
  CHECK_THROWS_AS(data::read_image_folder(dir.string()), io_error);  // no images at all
  std::ofstream(dir / "file.txt") << "x";
  CHECK_THROWS_AS(data::read_image_folder((dir / "file.txt").string()), io_error);
  CHECK_THROWS_AS(data::read_image_folder(dir.string()), io_error);  // only a non-image file

  write_image(dir / "good.png", 4, 4, 1, ramp(16, 0));
  std::ofstream(dir / "broken.png", std::ios::binary) << "\x89PNG\r\n\x1a\n garbage";
  try {
    data::read_image_folder(dir.string(), {.height = 4, .width = 4});
    FAIL("a corrupt PNG was read");
  } catch (const io_error& e) {
    CHECK(std::string(e.what()).find("broken.png") != std::string::npos);
  }
  fs::remove(dir / "broken.png");
  // A PNG cut short: the header decodes, the pixels do not.
  const std::string whole = io::read_regular_file((dir / "good.png").string(), "test");
  std::ofstream(dir / "short.png", std::ios::binary) << whole.substr(0, whole.size() / 2);
  CHECK_THROWS_AS(data::read_image_folder(dir.string(), {.height = 4, .width = 4}), io_error);
  fs::remove(dir / "short.png");
  CHECK(data::read_image_folder(dir.string(), {.height = 4, .width = 4}).count == 1);

  CHECK_THROWS_AS(data::read_image_folder(dir.string(), {.channels = 2}), invalid_argument);
  CHECK_THROWS_AS(data::read_image_folder(dir.string(), {.height = 0}), invalid_argument);
}

TEST_CASE("folder:DIR and folder:HxWxC:DIR are data sets") {
  const fs::path dir = scratch_dir("spec");
  write_image(dir / "a.png", 40, 30, 3, std::vector<std::uint8_t>(40 * 30 * 3, 200));
  const data::dataset fixed = data::dataset::parse("folder:" + dir.string());
  CHECK(fixed.dim() == 28 * 28);
  CHECK(fixed.stored_count() == 1);
  const data::dataset sized = data::dataset::parse("folder:8x6x3:" + dir.string());
  CHECK(sized.dim() == 8 * 6 * 3);
  CHECK(sized.images()->shape == data::image_shape{3, 8, 6});
  CHECK_THROWS_AS(data::dataset::parse("folder:" + (dir / "none").string()), io_error);
}
