// The checkpoint's layout (format 2): one tensor per parameter, in PyTorch's shapes and order,
// for the weights, the EMA and each optimiser moment; the network's description and buffers; the
// older format 1 still loads to the same state; non-finite weights, unknown formats and another
// network's file are refused before anything is loaded.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <limits>

#include "idemgen/backend/cpu.hpp"
#include "idemgen/data/toy.hpp"
#include "idemgen/models/flow_matching.hpp"
#include "idemgen/models/naign.hpp"
#include "idemgen/nn/denoiser.hpp"
#include "idemgen/nn/mlp.hpp"
#include "idemgen/nn/velocity.hpp"
#include "idemgen/train/checkpoint.hpp"

namespace idemgen::test {

namespace {
using fcpu = backend::cpu<float>;
using net_t = nn::mlp<fcpu>;
using gen_t = models::naign<net_t>;

gen_t make_generator(std::uint64_t seed) {
  return gen_t(net_t({.input_dim = 2, .output_dim = 2, .hidden = {5, 4}}, seed), {}, {},
               {.optimizer = {.lr = 1e-3, .weight_decay = 0.01}, .ema_decay = 0.9, .seed = 11});
}
void train_steps(gen_t& g, int steps) {
  data::toy_sampler<fcpu> data(data::toy::moons);
  random_stream rng(3);
  fcpu::matrix x(2, 32);
  for (int k = 0; k < steps; ++k) {
    data.sample(x, rng);
    g.train_step(x);
  }
}

std::string temp_path(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / "idemgen_test_checkpoint_layout";
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}

/// Element (i, j) of the column-major rows × cols block `name` of a flat buffer.
float block_value(const net_t& net, const float* flat, const std::string& name, index_t i, index_t j) {
  for (const auto& b : net.parameter_blocks())
    if (b.name == name) return flat[b.offset + i + j * b.rows];
  FAIL("no block " << name);
  return 0;
}

template <class Gen>
void check_same_state(Gen& a, Gen& b) {
  const auto same = [](auto x, auto y) {
    return x.size() == y.size() && std::equal(x.data(), x.data() + x.size(), y.data());
  };
  CHECK(same(a.net().parameters(), b.net().parameters()));
  CHECK(same(a.ema().average(), b.ema().average()));
  auto sa = a.optimizer().named_state(), sb = b.optimizer().named_state();
  REQUIRE(sa.size() == sb.size());
  for (std::size_t k = 0; k < sa.size(); ++k) CHECK(same(sa[k].second, sb[k].second));
  CHECK(a.steps() == b.steps());
  CHECK(a.optimizer().steps() == b.optimizer().steps());
}
}  // namespace

TEST_CASE("a checkpoint holds one tensor per parameter, shaped as PyTorch's: Linear weights [out, in]",
          "[checkpoint]") {
  gen_t g = make_generator(1);
  train_steps(g, 3);
  const std::string path = temp_path("layout.safetensors");
  train::save_checkpoint(path, g);
  const auto f = io::read_safetensors(path);
  CHECK(f.metadata.at("format") == "idemgen-checkpoint-2");
  CHECK(f.metadata.at("network") == g.net().describe());
  CHECK(f.metadata.at("network").find(R"("hidden": [5, 4])") != std::string::npos);
  // Layer 1 maps 5 features to 4: weight [4, 5], row-major, W(i, j) at i * 5 + j.
  const auto& w = f.tensors.at("params.layers.1.weight");
  CHECK(w.shape == std::vector<std::int64_t>{4, 5});
  CHECK(f.tensors.at("params.layers.1.bias").shape == std::vector<std::int64_t>{4});
  const auto values = w.values<float>();
  const float* params = g.net().parameters().data();
  for (index_t i = 0; i < 4; ++i)
    for (index_t j = 0; j < 5; ++j) CHECK(values[static_cast<std::size_t>(i * 5 + j)] == block_value(g.net(), params, "layers.1.weight", i, j));
  // The EMA and each AdamW moment, per parameter, in the same layout.
  const auto ema = f.tensors.at("ema.layers.1.weight").values<float>();
  const auto exp_avg_sq = f.tensors.at("optimizer.exp_avg_sq.layers.1.weight").values<float>();
  CHECK(ema[7] == block_value(g.net(), g.ema().average().data(), "layers.1.weight", 1, 2));
  const auto moments = g.optimizer().named_state();
  CHECK(moments[1].first == "exp_avg_sq");
  CHECK(exp_avg_sq[7] == block_value(g.net(), moments[1].second.data(), "layers.1.weight", 1, 2));
  CHECK(f.tensors.count("ema") == 0);
  for (const auto& [name, t] : f.tensors) {
    INFO(name);
    CHECK((name.rfind("params.", 0) == 0 || name.rfind("ema.", 0) == 0 || name.rfind("optimizer.exp_avg", 0) == 0));
  }
}

TEST_CASE("a denoiser's checkpoint describes its preconditioning and holds the embedding's frequencies",
          "[checkpoint]") {
  using den_t = nn::denoiser<net_t>;
  const net_t inner({.input_dim = 2, .output_dim = 2, .hidden = {8},
                     .cond = {.dim = 6, .kind = nn::embedding_kind::fourier, .fourier_scale = 2, .seed = 7}},
                    1);
  const den_t den(inner, schedule::karras{.sigma_data = 0.25});
  io::safetensors f;
  train::add_parameters(f, den, den.parameters());
  const std::string& d = f.metadata.at("network");
  CHECK(d.find(R"("type": "edm_denoiser")") != std::string::npos);
  CHECK(d.find(R"("sigma_data": 0.25)") != std::string::npos);
  CHECK(d.find(R"("embedding": {"kind": "fourier", "dim": 6})") != std::string::npos);
  const auto& freq = f.tensors.at("buffers.embedding.frequencies");
  REQUIRE(freq.shape == std::vector<std::int64_t>{3});
  const auto host = freq.values<float>();
  for (index_t k = 0; k < 3; ++k) CHECK(host[static_cast<std::size_t>(k)] == inner.buffers().front().second.data()[k]);
  // A velocity over the same network has the same tensors but another description: a denoiser's
  // file relabelled as a flow is refused.
  nn::velocity<net_t> vel(inner);
  const std::string path = temp_path("den.safetensors");
  f.metadata["format"] = "idemgen-checkpoint-2";
  io::write_safetensors(path, f);
  CHECK_THROWS_WITH(train::load_weights(io::read_safetensors(path), vel, path, false),
                    Catch::Contains("velocity") && Catch::Contains("edm_denoiser"));
  den_t same(inner, schedule::karras{.sigma_data = 0.25});
  CHECK_FALSE(train::load_weights(io::read_safetensors(path), same, path, true));  // no EMA: the raw weights
}

TEST_CASE("a format-1 checkpoint (column-major blocks, flat EMA and moments) loads to the same state",
          "[checkpoint]") {
  gen_t a = make_generator(2);
  train_steps(a, 4);
  const std::string path = temp_path("v1.safetensors");
  train::save_checkpoint(path, a);
  // The file as format 1 wrote it: our bytes per block as [cols, rows], the rest flat.
  auto f = io::read_safetensors(path);
  io::safetensors old;
  old.metadata = f.metadata;
  old.metadata["format"] = "idemgen-checkpoint-1";
  old.metadata.erase("network");
  const auto p = a.net().parameters();
  for (const auto& b : a.net().parameter_blocks())
    old.tensors["params." + b.name] = io::tensor::from(p.data() + b.offset, b.cols > 1 ? std::vector<std::int64_t>{b.cols, b.rows}
                                                                                       : std::vector<std::int64_t>{b.rows});
  old.tensors["ema"] = io::tensor::from(a.ema().average().data(), {a.net().parameter_count()});
  for (auto& [name, buffer] : a.optimizer().named_state())
    old.tensors["optimizer." + name] = io::tensor::from(buffer.data(), {a.net().parameter_count()});
  io::write_safetensors(path, old);
  gen_t b = make_generator(9);
  train_steps(b, 1);
  train::load_checkpoint(path, b);
  check_same_state(a, b);
  // And the weights alone, raw and EMA.
  net_t raw({.input_dim = 2, .output_dim = 2, .hidden = {5, 4}}, 5), ema = raw;
  CHECK_FALSE(train::load_weights(old, raw, path, false));
  CHECK(train::load_weights(old, ema, path, true));
  CHECK(std::equal(p.data(), p.data() + p.size(), raw.parameters().data()));
  CHECK(std::equal(a.ema().average().data(), a.ema().average().data() + p.size(), ema.parameters().data()));
}

TEST_CASE("non-finite weights, unknown formats and wrong shapes are refused before anything is loaded",
          "[checkpoint][errors]") {
  gen_t a = make_generator(3);
  train_steps(a, 3);
  const std::string good = temp_path("good.safetensors"), bad = temp_path("bad.safetensors");
  train::save_checkpoint(good, a);
  gen_t b = make_generator(4);
  train_steps(b, 3);
  const float first = b.net().parameters()[0];
  const auto refused = [&](auto change, const std::string& says) {
    auto f = io::read_safetensors(good);
    change(f);
    io::write_safetensors(bad, f);
    CHECK_THROWS_WITH(train::load_checkpoint(bad, b), Catch::Contains(says));
    net_t net({.input_dim = 2, .output_dim = 2, .hidden = {5, 4}}, 5);
    const float net_first = net.parameters()[0];
    CHECK_THROWS_AS(train::load_weights(f, net, bad, true), io_error);
    CHECK(net.parameters()[0] == net_first);
    CHECK(b.net().parameters()[0] == first);
  };
  for (const float v : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    refused([&](io::safetensors& f) {  // in the raw weights: every load refuses
      auto t = f.tensors.at("params.layers.2.bias").values<float>();
      t[1] = v;
      f.tensors["params.layers.2.bias"] = io::tensor::from(t.data(), {2});
    }, "finite values in 'params.layers.2.bias'");
    refused([&](io::safetensors& f) {  // in the EMA
      auto t = f.tensors.at("ema.layers.0.weight").values<float>();
      t[3] = v;
      f.tensors["ema.layers.0.weight"] = io::tensor::from(t.data(), {5, 2});
    }, "finite values in 'ema.layers.0.weight'");
  }
  refused([](io::safetensors& f) { f.metadata["format"] = "idemgen-checkpoint-9"; }, "idemgen-checkpoint-9");
  refused([](io::safetensors& f) { f.metadata.erase("format"); }, "no format");
  refused([](io::safetensors& f) {  // the transpose of the right shape (format 1's [in, out])
    auto& t = f.tensors.at("params.layers.0.weight");
    t.shape = {2, 5};
  }, "shape [5, 2] for 'params.layers.0.weight'");
}

}  // namespace idemgen::test
