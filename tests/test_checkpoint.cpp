// Checkpoints: exact resume, and corrupt or truncated files raise io_error without touching the
// generator.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "idemgen/data/toy.hpp"
#include "idemgen/models/ign.hpp"
#include "idemgen/models/naign.hpp"
#include "idemgen/nn/conv_net.hpp"
#include "idemgen/train/checkpoint.hpp"
#include "support/gradcheck.hpp"

namespace idemgen::test {

namespace {
using fcpu = backend::cpu<float>;
using net_t = nn::mlp<fcpu>;
using gen_t = models::naign<net_t>;

gen_t make_generator(std::uint64_t seed, std::uint64_t stream_seed = 7) {
  return gen_t(net_t({.input_dim = 2, .output_dim = 2, .hidden = {16, 16}}, seed), {}, {},
               {.optimizer = {.lr = 1e-3, .weight_decay = 0.01}, .ema_decay = 0.9, .seed = stream_seed});
}

std::string temp_path(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / "idemgen_test_checkpoint";
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}
/// Three more steps of a and b on the same batches: the same losses, then the same weights.
template <class Gen>
void continue_both(Gen& a, Gen& b, data::toy_sampler<fcpu>& data, fcpu::matrix& x, random_stream& rng) {
  for (int k = 0; k < 3; ++k) {
    data.sample(x, rng);
    const auto ra = a.train_step(x), rb = b.train_step(x);
    for (std::size_t t = 0; t < ra.terms.size(); ++t) CHECK(ra.terms[t] == rb.terms[t]);
  }
  const auto pa = a.net().parameters(), pb = b.net().parameters();
  CHECK(std::equal(pa.data(), pa.data() + pa.size(), pb.data()));
}
void write_all(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}
}  // namespace

TEST_CASE("a checkpoint resumes training exactly: same losses and weights as never stopping",
          "[checkpoint]") {
  data::toy_sampler<fcpu> data(data::toy::moons);
  fcpu::matrix x(2, 32);
  gen_t a = make_generator(1, 0xFFFFFFFFFFFFFFF0ull);  // a seed above 2^63 must survive the file
  random_stream rng(3);
  for (int k = 0; k < 5; ++k) data.sample(x, rng), a.train_step(x);
  const std::string path = temp_path("resume.safetensors");
  train::save_checkpoint(path, a, {{"dataset", "moons"}});
  gen_t b = make_generator(99);  // different initial weights: everything must come from the file
  const auto meta = train::load_checkpoint(path, b);
  CHECK(meta.at("dataset") == "moons");
  CHECK(b.steps() == 5);
  continue_both(a, b, data, x, rng);
  const auto pa = a.net().parameters();
  CHECK(std::equal(a.ema().average().data(), a.ema().average().data() + pa.size(), b.ema().average().data()));
}

TEST_CASE("every truncation of a checkpoint raises io_error and leaves the generator untouched",
          "[checkpoint][errors]") {
  gen_t a = make_generator(1);
  const std::string good = temp_path("good.safetensors"), bad = temp_path("bad.safetensors");
  train::save_checkpoint(good, a);
  const std::string bytes = read_all(good);
  gen_t b = make_generator(2);
  const std::vector<float> before(b.net().parameters().data(),
                                  b.net().parameters().data() + b.net().parameter_count());
  for (std::size_t len = 0; len < bytes.size(); len += (len < 600 ? 1 : 97)) {
    write_all(bad, bytes.substr(0, len));
    CAPTURE(len);
    CHECK_THROWS_AS(train::load_checkpoint(bad, b), io_error);
  }
  CHECK(std::equal(before.begin(), before.end(), b.net().parameters().data()));
  CHECK(b.steps() == 0);
}

TEST_CASE("corrupt headers raise io_error naming the file", "[checkpoint][errors]") {
  gen_t a = make_generator(1);
  const std::string good = temp_path("good2.safetensors"), bad = temp_path("corrupt.safetensors");
  train::save_checkpoint(good, a);
  const std::string bytes = read_all(good);
  gen_t b = make_generator(2);
  const auto expect_io_error = [&](std::string mutated) {
    write_all(bad, mutated);
    CHECK_THROWS_AS(train::load_checkpoint(bad, b), io_error);
  };
  std::string huge = bytes;
  huge[7] = '\x7f';  // header length far beyond the file
  expect_io_error(huge);
  std::string garbage = bytes;
  garbage[9] = '#';  // JSON syntax error
  expect_io_error(garbage);
  std::string dtype = bytes;
  dtype.replace(dtype.find("F32"), 3, "I64");
  expect_io_error(dtype);
  std::string offsets = bytes;  // a tensor claims more bytes than its shape holds
  const auto pos = offsets.find("\"data_offsets\":[0,");
  REQUIRE(pos != std::string::npos);
  offsets.replace(pos, 18, "\"data_offsets\":[4,");
  expect_io_error(offsets);
  expect_io_error(bytes + "trailing");
  CHECK_THROWS_WITH(train::load_checkpoint(temp_path("missing.safetensors"), b),
                    Catch::Contains("missing.safetensors"));
}

namespace {
/// A safetensors file from its JSON header and data bytes.
std::string safetensors_bytes(const std::string& header, const std::string& data) {
  std::string bytes(8, '\0');
  for (int b = 0; b < 8; ++b) bytes[static_cast<std::size_t>(b)] = static_cast<char>((header.size() >> (8 * b)) & 0xff);
  return bytes + header + data;
}
}  // namespace

TEST_CASE("a shape or escape the data cannot hold is io_error, never an overflow or a foreign exception",
          "[checkpoint][errors]") {
  const std::string path = temp_path("crafted.safetensors");
  const auto rejects = [&](const std::string& header, const std::string& data) {
    write_all(path, safetensors_bytes(header, data));
    CHECK_THROWS_AS(io::read_safetensors(path), io_error);
  };
  // The good file first, so each rejection below is the one field that was changed.
  write_all(path, safetensors_bytes(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", std::string(8, '\0')));
  CHECK(io::read_safetensors(path).tensors.at("t").elements() == 2);
  // [2^31, 2^31] F32 is 2^64 bytes: wraps to 0 in 64-bit arithmetic, matching offsets [0, 0].
  rejects(R"({"t":{"dtype":"F32","shape":[2147483648,2147483648],"data_offsets":[0,0]}})", "");
  rejects(R"({"t":{"dtype":"F32","shape":[1e12,1e12],"data_offsets":[0,8]}})", std::string(8, '\0'));
  rejects(R"({"t":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}})", std::string(8, '\0'));
  rejects(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0.5,8]}})", std::string(8, '\0'));
  rejects(R"({"__metadata__":{"k":"\uZZZZ"},"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
          std::string(8, '\0'));
}

TEST_CASE("reading a directory or a device as a checkpoint is io_error, before any byte is read",
          "[checkpoint][errors]") {
  const std::string dir = temp_path("a_directory");
  std::filesystem::create_directories(dir);
  CHECK_THROWS_AS(io::read_safetensors(dir), io_error);
  if (std::filesystem::exists("/dev/zero")) CHECK_THROWS_AS(io::read_safetensors("/dev/zero"), io_error);  // endless
}

TEST_CASE("an atomic write that fails leaves neither a temporary nor a changed target", "[checkpoint][errors]") {
  const std::string path = temp_path("atomic.txt");
  io::write_atomically(path, [](std::ostream& s) { s << "first"; });
  CHECK_THROWS_AS(io::write_atomically(path, [](std::ostream& s) {
                    s << "half";
                    throw io_error("test", "body", "a complete body", "an exception half-way");
                  }),
                  io_error);
  CHECK(read_all(path) == "first");
  CHECK_FALSE(std::filesystem::exists(path + ".tmp"));
  // A target inside a missing directory: refused as io_error, nothing created.
  CHECK_THROWS_AS(io::write_atomically(temp_path("missing_dir") + "/x/atomic.txt", [](std::ostream& s) { s << "x"; }),
                  io_error);
}

TEST_CASE("a checkpoint of another architecture is rejected before anything is loaded",
          "[checkpoint][errors]") {
  gen_t a = make_generator(1);
  const std::string path = temp_path("arch.safetensors");
  train::save_checkpoint(path, a);
  gen_t wider(net_t({.input_dim = 2, .output_dim = 2, .hidden = {32, 16}}, 3));
  const float first = wider.net().parameters()[0];
  CHECK_THROWS_WITH(train::load_checkpoint(path, wider), Catch::Contains("network") && Catch::Contains("[32, 16]"));
  CHECK(wider.net().parameters()[0] == first);
  // Without the description (a file of another writer), the tensors' shapes still say so.
  auto file = io::read_safetensors(path);
  file.metadata.erase("network");
  io::write_safetensors(path, file);
  CHECK_THROWS_WITH(train::load_checkpoint(path, wider), Catch::Contains("params.layers.0.weight"));
  CHECK(wider.net().parameters()[0] == first);
}

TEST_CASE("safetensors round-trips metadata, shapes and F32/F64 values", "[checkpoint]") {
  io::safetensors f;
  f.metadata["note"] = "quote \" and backslash \\";
  const float fv[] = {1.5f, -2.25f, 3.0f, 4.0f, 5.0f, 6.0f};
  const double dv[] = {0.1, 0.2};
  f.tensors["a"] = io::tensor::from(fv, {3, 2});
  f.tensors["b"] = io::tensor::from(dv, {2});
  const std::string path = temp_path("rt.safetensors");
  io::write_safetensors(path, f);
  const auto g = io::read_safetensors(path);
  CHECK(g.metadata.at("note") == f.metadata.at("note"));
  CHECK(g.tensors.at("a").shape == std::vector<std::int64_t>{3, 2});
  CHECK(g.tensors.at("a").values<float>()[1] == -2.25f);
  CHECK(g.tensors.at("b").dtype == "F64");
  CHECK(g.tensors.at("b").values<double>()[0] == 0.1);
  CHECK((read_all(path).size() - 8) % 8 == 0);  // header padded: data 8-byte aligned
}

}  // namespace idemgen::test

namespace idemgen::test {

TEST_CASE("a safetensors file's metadata reads from its header alone, and a cut or bad header is io_error",
          "[checkpoint][errors]") {
  io::safetensors f;
  f.metadata = {{"teacher_steps", "18"}, {"image_shape", "1x28x28"}};
  io::tensor t;
  t.dtype = "F32";
  t.shape = {3};
  t.bytes.assign(12, 0);
  f.tensors.emplace("x", t);
  const std::string path = temp_path("metadata.safetensors");
  io::write_safetensors(path, f);
  CHECK(io::read_safetensors_metadata(path) == io::read_safetensors(path).metadata);
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  const std::uint64_t header = static_cast<unsigned char>(bytes[0]) | (std::uint64_t(static_cast<unsigned char>(bytes[1])) << 8);
  const std::string cut = temp_path("metadata_cut.safetensors");
  for (std::size_t keep : {std::size_t(0), std::size_t(5), std::size_t(8 + header / 2)}) {  // inside the header
    CAPTURE(keep);
    std::ofstream(cut, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(keep));
    CHECK_THROWS_AS(io::read_safetensors_metadata(cut), io_error);
  }
  // Cut inside the tensors: the header is whole, so the metadata reads (the full read refuses).
  std::ofstream(cut, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size() - 4));
  CHECK(io::read_safetensors_metadata(cut) == f.metadata);
  CHECK_THROWS_AS(io::read_safetensors(cut), io_error);
  CHECK_THROWS_AS(io::read_safetensors_metadata(std::filesystem::temp_directory_path().string()), io_error);
}

TEST_CASE("checkpoints name their optimiser: SGD with momentum resumes exactly, and an AdamW file is no SGD's",
          "[checkpoint][optim]") {
  using sgd_gen = models::generator<net_t, metric::l2, coupling::nearest_generated, models::naign_losses, optim::use_sgd>;
  const auto make_sgd = [](std::uint64_t seed) {
    return sgd_gen(net_t({.input_dim = 2, .output_dim = 2, .hidden = {16, 16}}, seed), {}, {},
                   {.optimizer = {.lr = 1e-3, .momentum = 0.9}, .seed = 7});
  };
  data::toy_sampler<fcpu> data(data::toy::moons);
  fcpu::matrix x(2, 32);
  sgd_gen a = make_sgd(1);
  random_stream rng(3);
  for (int k = 0; k < 4; ++k) data.sample(x, rng), a.train_step(x);
  const std::string path = temp_path("sgd.safetensors");
  train::save_checkpoint(path, a);
  sgd_gen b = make_sgd(99);
  train::load_checkpoint(path, b);
  // The momentum buffer came from the file: without it the third step's weights would differ.
  continue_both(a, b, data, x, rng);
  // An AdamW checkpoint loaded into an SGD generator: io_error naming both, weights untouched.
  gen_t adamw = make_generator(1);
  const std::string adamw_path = temp_path("adamw.safetensors");
  train::save_checkpoint(adamw_path, adamw);
  const float first = b.net().parameters()[0];
  CHECK_THROWS_WITH(train::load_checkpoint(adamw_path, b), Catch::Contains("adamw") && Catch::Contains("sgd"));
  CHECK(b.net().parameters()[0] == first);
}


TEST_CASE("a conv_net generator resumes exactly from its checkpoint, and another width is rejected", "[checkpoint]") {
  using conv_t = nn::conv_net<fcpu>;
  using conv_gen = models::ign<conv_t, metric::l1>;
  const nn::conv_net_options shape{.channels_in = 1, .height = 8, .width = 8, .channels = {4, 8}, .groups = 2};
  const auto make = [&](std::uint64_t seed, const nn::conv_net_options& opt) {
    return conv_gen(conv_t(opt, random_stream(seed)), {}, {}, {.optimizer = {.lr = 1e-3}, .seed = 5});
  };
  conv_gen a = make(1, shape);
  fcpu::matrix x(64, 4);
  random_stream rng(8);
  for (int k = 0; k < 3; ++k) fcpu::fill_normal(x, rng), a.train_step(x);
  const std::string path = temp_path("conv.safetensors");
  train::save_checkpoint(path, a);
  conv_gen b = make(2, shape);
  train::load_checkpoint(path, b);
  CHECK(b.steps() == 3);
  for (int k = 0; k < 3; ++k) {
    fcpu::fill_normal(x, rng);
    const auto ra = a.train_step(x), rb = b.train_step(x);
    for (std::size_t t = 0; t < ra.terms.size(); ++t) CHECK(ra.terms[t] == rb.terms[t]);
  }
  const auto pa = a.net().parameters(), pb = b.net().parameters();
  CHECK(std::equal(pa.data(), pa.data() + pa.size(), pb.data()));

  nn::conv_net_options wider = shape;
  wider.channels = {4, 4};
  conv_gen c = make(3, wider);
  const float first = c.net().parameters()[0];
  CHECK_THROWS_AS(train::load_checkpoint(path, c), io_error);
  CHECK(c.net().parameters()[0] == first);
}

}  // namespace idemgen::test
