// One IGN training step on 28 × 28 images with the convolutional generator (nn::conv_net,
// channels {32, 64, 64}: two stride-2 halvings, up-sampling back, group norm, LeakyReLU 0.2),
// ℓ1 distance (NAIGN §4 uses ℓ1 for images), batch 64, float, IDEMGEN_BENCH_THREADS threads. The
// batch is Fashion-MNIST's first images when Debian's dataset-fashion-mnist is installed, noise
// in [−1, 1] otherwise (the arithmetic is the same). The same step in PyTorch:
// bench/torch_images.py. And one EDM training step (DSM with EDM's preconditioning and loss
// weight) of nn::unet (channels {32, 64, 64}, 128-wide embedding of 64 Fourier features, SiLU)
// on the same batch: the noised models' image network.

#include <filesystem>

#include "bench_common.hpp"
#include "idemgen/data/image_set.hpp"
#include "idemgen/models/diffusion.hpp"
#include "idemgen/models/ign.hpp"
#include "idemgen/nn/conv_net.hpp"
#include "idemgen/nn/unet.hpp"

namespace {

using namespace idemgen;
using be = bench::be;
using net_t = nn::conv_net<be>;

constexpr index_t batch = 64;  // in the names below; no Arg, so the names are those torch_images.py prints

/// Fashion-MNIST's first test images, or noise in [−1, 1] without the Debian package.
be::matrix image_batch() {
  be::matrix x(784, batch);
  std::vector<float> host(static_cast<std::size_t>(784 * batch));
  if (std::filesystem::is_directory(data::fashion_mnist_directory())) {
    const auto images = data::read_idx_directory(data::fashion_mnist_directory(), data::idx_split::test);
    for (index_t j = 0; j < batch; ++j) images.image_to(j, host.data() + j * 784);
    be::copy_from_host(host.data(), x);
  } else {
    random_stream rng(1);
    be::fill_uniform(x, rng, -1.0f, 1.0f);
  }
  return x;
}

void ign_conv_step(benchmark::State& state) {
  bench::set_bench_threads();
  net_t net({.channels_in = 1, .height = 28, .width = 28, .channels = {32, 64, 64}, .groups = 8}, 0);
  const double pass = 2 * net.multiply_adds_per_image() * static_cast<double>(batch);
  models::ign<net_t, metric::l1> gen(std::move(net));
  const be::matrix x = image_batch();
  for (int k = 0; k < 2; ++k) gen.train_step(x);
  for (auto _ : state) benchmark::DoNotOptimize(gen.train_step(x).total);
  // As the mlp IGN step (bench_methods.cpp): 3 forwards and 7 forward-equivalents of backward.
  state.counters["FLOP/s"] =
      benchmark::Counter(10 * pass, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}

void edm_unet_step(benchmark::State& state) {
  using unet_t = nn::unet<be>;
  bench::set_bench_threads();
  unet_t net({.channels_in = 1, .height = 28, .width = 28, .channels = {32, 64, 64}, .groups = 8}, 0);
  const double pass = 2 * net.multiply_adds_per_image() * static_cast<double>(batch);
  models::diffusion<unet_t> gen(nn::denoiser<unet_t>(std::move(net), {.sigma_data = 0.5}));
  const be::matrix x = image_batch();
  for (int k = 0; k < 2; ++k) gen.train_step(x);
  for (auto _ : state) benchmark::DoNotOptimize(gen.train_step(x).total);
  // One forward and its backward (2 forward-equivalents: dW and dx).
  state.counters["FLOP/s"] =
      benchmark::Counter(3 * pass, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}

BENCHMARK(edm_unet_step)->Name("edm_unet_step/channels:32-64-64/batch:64")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(ign_conv_step)->Name("ign_conv_step/channels:32-64-64/batch:64")->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
