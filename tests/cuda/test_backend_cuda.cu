// backend::cuda<float> against backend::cpu<float>: every operation of the backend interface on
// the same inputs and seeds gives the same result within float tolerance (issue 6). Without a
// usable CUDA device the program prints why and exits 77, which CTest reports as "Skipped".
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <vector>

#include "idemgen/backend/cpu.hpp"
#include "idemgen/backend/cuda/cuda.cuh"
#include "idemgen/data/toy.hpp"
#include "idemgen/nn/mlp.hpp"
#include "idemgen/models/diffusion.hpp"
#include "idemgen/models/flow_matching.hpp"
#include "idemgen/models/ign.hpp"
#include "idemgen/models/naign.hpp"

namespace {

using namespace idemgen;
using cpu = backend::cpu<float>;
using gpu = backend::cuda<float>;

cpu::matrix random_host(index_t rows, index_t cols, std::uint64_t seed, float scale = 1) {
  cpu::matrix m(rows, cols);
  random_stream rng(seed);
  cpu::fill_normal(m, rng, 0.0f, scale);
  return m;
}
gpu::matrix to_device(const cpu::matrix& h) {
  gpu::matrix d(h.rows(), h.cols());
  gpu::copy_from_host(h.data(), d);
  return d;
}
std::vector<float> to_host(const gpu::matrix& d) {
  std::vector<float> h(static_cast<std::size_t>(d.size()));
  gpu::copy_to_host(d, h.data());
  return h;
}
/// max |a − b| / max(1, |b|) over the elements.
double worst(const std::vector<float>& a, const cpu::matrix& b) {
  double w = 0;
  for (index_t e = 0; e < b.size(); ++e)
    w = std::max(w, std::abs(static_cast<double>(a[static_cast<std::size_t>(e)]) - b.data()[e]) /
                        std::max(1.0, std::abs(static_cast<double>(b.data()[e]))));
  return w;
}

}  // namespace

TEST_CASE("cuda gemm equals cpu gemm for every transpose combination", "[cuda]") {
  const auto a = random_host(37, 53, 1), b = random_host(53, 29, 2), c0 = random_host(37, 29, 3);
  const auto at = random_host(53, 37, 4), bt = random_host(29, 53, 5);
  for (int mode = 0; mode < 4; ++mode) {
    const bool ta = mode & 1, tb = mode & 2;
    const auto& ha = ta ? at : a;
    const auto& hb = tb ? bt : b;
    cpu::matrix c(37, 29);
    cpu::copy(c0, c);
    cpu::gemm(ta ? transpose::yes : transpose::no, tb ? transpose::yes : transpose::no, 0.7f, ha, hb, 0.3f, c);
    auto dc = to_device(c0);
    gpu::gemm(ta ? transpose::yes : transpose::no, tb ? transpose::yes : transpose::no, 0.7f, to_device(ha),
              to_device(hb), 0.3f, dc);
    CAPTURE(mode);
    CHECK(worst(to_host(dc), c) < 1e-4);
  }
}

TEST_CASE("cuda elementwise ops, sums and reductions equal cpu", "[cuda]") {
  const auto x = random_host(17, 300, 6), y = random_host(17, 300, 7);
  auto dx = to_device(x), dy = to_device(y);
  cpu::matrix hy(17, 300);
  cpu::copy(y, hy);
  cpu::axpy(0.5f, x, hy);
  gpu::axpy(0.5f, dx, dy);
  CHECK(worst(to_host(dy), hy) < 1e-6);
  cpu::scale(hy, -2.0f);
  gpu::scale(dy, -2.0f);
  CHECK(worst(to_host(dy), hy) < 1e-6);
  cpu::matrix rows(17, 1), cols(1, 300);
  gpu::matrix drows(17, 1), dcols(1, 300);
  cpu::fill(rows, 1.0f);
  gpu::fill(drows, 1.0f);
  cpu::row_sums(x, rows, 2.0f, 0.5f);
  gpu::row_sums(dx, drows, 2.0f, 0.5f);
  CHECK(worst(to_host(drows), rows) < 1e-4);
  cpu::column_sums(x, cols);
  gpu::column_sums(dx, dcols);
  CHECK(worst(to_host(dcols), cols) < 1e-5);
  CHECK(gpu::sum(dx) == Approx(cpu::sum(x)).margin(1e-3));
  CHECK(gpu::dot(dx, dy) == Approx(cpu::dot(x, hy)).epsilon(1e-5));
  CHECK(gpu::squared_norm(dx) == Approx(cpu::squared_norm(x)).epsilon(1e-5));
  CHECK(gpu::all_finite(dx));
  std::vector<float> h(static_cast<std::size_t>(x.size()));
  gpu::copy_to_host(dx, h.data());
  h[100] = NAN;
  gpu::copy_from_host(h.data(), dx);
  CHECK_FALSE(gpu::all_finite(dx));
}

TEST_CASE("cuda pairwise distances, column argmin and gather equal cpu", "[cuda]") {
  const auto a = random_host(5, 70, 8), b = random_host(5, 90, 9);
  cpu::matrix d(70, 90), mins(1, 90);
  cpu::index_matrix idx(1, 90);
  cpu::pairwise_squared_distances(a, b, d);
  cpu::column_argmin(d, idx, mins);
  gpu::matrix dd(70, 90), dmins(1, 90);
  gpu::index_matrix didx(1, 90);
  gpu::pairwise_squared_distances(to_device(a), to_device(b), dd);
  gpu::column_argmin(dd, didx, dmins);
  CHECK(worst(to_host(dd), d) < 1e-4);
  std::vector<index_t> hidx(90);
  cudaMemcpy(hidx.data(), didx.data(), 90 * sizeof(index_t), cudaMemcpyDeviceToHost);
  for (index_t j = 0; j < 90; ++j) CHECK(hidx[static_cast<std::size_t>(j)] == idx.data()[j]);
  CHECK(worst(to_host(dmins), mins) < 1e-4);
  cpu::matrix g(5, 90);
  cpu::gather_columns(a, idx, g);
  gpu::matrix dg(5, 90);
  gpu::gather_columns(to_device(a), didx, dg);
  CHECK(worst(to_host(dg), g) == 0.0);
  hidx[3] = 70;  // out of range
  cudaMemcpy(didx.data(), hidx.data(), 90 * sizeof(index_t), cudaMemcpyHostToDevice);
  CHECK_THROWS_AS(gpu::gather_columns(to_device(a), didx, dg), invalid_argument);
}

TEST_CASE("cuda random fills draw the cpu's Philox stream", "[cuda][rng]") {
  cpu::matrix n(3, 1001), u(3, 1001);
  gpu::matrix dn(3, 1001), du(3, 1001);
  random_stream r1(42), r2(42);
  cpu::fill_normal(n, r1, 0.5f, 2.0f);
  cpu::fill_uniform(u, r1, -1.0f, 3.0f);
  gpu::fill_normal(dn, r2, 0.5f, 2.0f);
  gpu::fill_uniform(du, r2, -1.0f, 3.0f);
  CHECK(worst(to_host(dn), n) < 1e-5);
  CHECK(worst(to_host(du), u) < 1e-6);
  CHECK(r1.next_block() == r2.next_block());  // the streams advanced alike
}

TEST_CASE("cuda shape errors and the caching pool", "[cuda]") {
  gpu::matrix a(3, 4), b(4, 3), c(3, 3);
  CHECK_THROWS_AS(gpu::gemm(transpose::no, transpose::no, 1.0f, a, a, 0.0f, c), shape_error);
  CHECK_THROWS_AS(gpu::copy(a, b), shape_error);
  const long before = backend::device_pool::instance().mallocs();
  for (int k = 0; k < 10; ++k) {
    gpu::matrix t(256, 512);  // freed and taken again from the pool
    gpu::fill(t, 1.0f);
  }
  CHECK(backend::device_pool::instance().mallocs() - before <= 1);
}

namespace {
/// Runs `steps` training steps of the same generator on both backends from the same seeds and
/// data; returns the largest relative difference of any loss term.
template <class CpuGen, class GpuGen>
double worst_term_difference(CpuGen& on_cpu, GpuGen& on_gpu, int steps) {
  data::toy_sampler<cpu> sampler(data::toy::grid25);
  random_stream rng(3);
  cpu::matrix x(2, 256);
  gpu::matrix dx(2, 256);
  double w = 0;
  for (int s = 0; s < steps; ++s) {
    sampler.sample(x, rng);
    gpu::copy_from_host(x.data(), dx);
    const auto a = on_cpu.train_step(x);
    const auto b = on_gpu.train_step(dx);
    for (std::size_t k = 0; k < a.terms.size(); ++k)
      w = std::max(w, std::abs(a.terms[k] - b.terms[k]) / std::max(1e-3, std::abs(a.terms[k])));
  }
  return w;
}

/// The same small mlp (same seed) on either backend; cond_dim > 0 adds a Fourier embedding.
template <class Be>
nn::mlp<Be> small_net(index_t cond_dim = 0) {
  return nn::mlp<Be>({.input_dim = 2, .output_dim = 2, .hidden = {64, 64}, .cond = {.dim = cond_dim}}, 5);
}
const models::generator_options step_options{.optimizer = {.lr = 1e-3, .weight_decay = 0.0}, .seed = 9};
}  // namespace

TEST_CASE("a NAIGN training step on cuda gives the cpu's losses for 10 steps", "[cuda][generator]") {
  models::naign<nn::mlp<cpu>> a(small_net<cpu>(), {}, {}, step_options);
  models::naign<nn::mlp<gpu>> b(small_net<gpu>(), {}, {}, step_options);
  CHECK(worst_term_difference(a, b, 10) < 1e-3);
}

TEST_CASE("an IGN training step on cuda gives the cpu's losses to 1e-4 for 10 steps", "[cuda][generator]") {
  // The issue's figure: no argmin here (unlike NAIGN's IMLE, where a near-tie may flip), so the
  // two backends differ only by float rounding in GEMM order.
  models::ign<nn::mlp<cpu>> a(small_net<cpu>(), {}, {}, step_options);
  models::ign<nn::mlp<gpu>> b(small_net<gpu>(), {}, {}, step_options);
  CHECK(worst_term_difference(a, b, 10) < 1e-4);
}

TEST_CASE("a flow-matching training step on cuda gives the cpu's losses for 10 steps", "[cuda][generator]") {
  models::flow_matching<nn::mlp<cpu>> a(nn::velocity<nn::mlp<cpu>>(small_net<cpu>(8)), {}, {}, step_options);
  models::flow_matching<nn::mlp<gpu>> b(nn::velocity<nn::mlp<gpu>>(small_net<gpu>(8)), {}, {}, step_options);
  CHECK(worst_term_difference(a, b, 10) < 1e-4);
}

TEST_CASE("an EDM and a CDM training step on cuda give the cpu's losses for 10 steps", "[cuda][generator]") {
  const schedule::karras karras{.sigma_data = 2.8, .p_mean = 0.52};
  models::diffusion<nn::mlp<cpu>> a(nn::denoiser<nn::mlp<cpu>>(small_net<cpu>(8), karras), {}, {}, step_options);
  models::diffusion<nn::mlp<gpu>> b(nn::denoiser<nn::mlp<gpu>>(small_net<gpu>(8), karras), {}, {}, step_options);
  CHECK(worst_term_difference(a, b, 10) < 1e-3);
  models::cdm<nn::mlp<cpu>> c(nn::denoiser<nn::mlp<cpu>>(small_net<cpu>(8), karras), {}, {}, step_options);
  models::cdm<nn::mlp<gpu>> d(nn::denoiser<nn::mlp<gpu>>(small_net<gpu>(8), karras), {}, {}, step_options);
  CHECK(worst_term_difference(c, d, 10) < 1e-2);  // the SDE chains amplify float differences
}

int main(int argc, char** argv) {
  if (!idemgen::backend::cuda_detail::device_available()) {
    int count = 0;
    const cudaError_t e = cudaGetDeviceCount(&count);
    std::printf("no usable CUDA device (%s): skipped\n", e == cudaSuccess ? "0 devices" : cudaGetErrorString(e));
    return 77;  // CTest SKIP_RETURN_CODE
  }
  return Catch::Session().run(argc, argv);
}
