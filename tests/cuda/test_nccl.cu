// NCCL data-parallel on the CUDA backend: `mpirun -np P test_nccl`, one GPU a rank. Facts:
//  1. all_reduce_sum on device buffers is the rank-order sum on every rank;
//  2. P ranks of N train flow matching on the GPU to the same weights on every rank, and with
//     P = 1 to the weights of plain training, bit for bit (the device message path changes
//     nothing it should not).
// Without a usable GPU it prints why and exits 77 (CTest: skipped).
#include <cuda_runtime.h>

#include <cstdio>
#include <vector>

#include "idemgen/backend/cuda/cuda.cuh"
#include "idemgen/data/toy.hpp"
#include "idemgen/distributed/data_parallel.hpp"
#include "idemgen/distributed/nccl_communicator.cuh"
#include "idemgen/models/flow_matching.hpp"
#include "idemgen/nn/mlp.hpp"

using namespace idemgen;
using gpu = backend::cuda<float>;
using net_t = nn::mlp<gpu>;

namespace {
auto make_fm() {
  return std::make_unique<models::flow_matching<net_t>>(
      nn::velocity<net_t>(net_t({.input_dim = 2, .output_dim = 2, .hidden = {64, 64}, .act = {nn::activation::silu},
                                 .cond = {.dim = 8, .kind = nn::embedding_kind::fourier, .fourier_scale = 2.0, .seed = 7}},
                                11)),
      models::flow_matching_losses{}, metric::squared_l2{},
      models::generator_options{.optimizer = {.lr = 1e-2, .weight_decay = 0.0}, .seed = 5});
}
std::vector<float> weights(models::flow_matching<net_t>& gen) {
  const auto p = gen.net().parameters();
  std::vector<float> h(static_cast<std::size_t>(p.size()));
  gpu::copy_to_host(p, h.data());
  return h;
}
}  // namespace

int main(int argc, char** argv) {
  distributed::mpi_environment environment(argc, argv);
  distributed::mpi_communicator mpi;
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    if (mpi.rank() == 0) std::printf("no usable CUDA device: skipped\n");
    return 77;
  }
  int failures = 0;
  try {
    distributed::nccl_communicator comm(mpi);
    const int p = comm.size(), rank = comm.rank();
    // 1.
    const std::int64_t n = 100003;
    std::vector<float> host(static_cast<std::size_t>(n)), expected(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
      host[static_cast<std::size_t>(i)] = static_cast<float>((rank + 1) * 0.1 + i * 1e-3);
      float sum = static_cast<float>(0.1 + i * 1e-3);
      for (int q = 1; q < p; ++q) sum += static_cast<float>((q + 1) * 0.1 + i * 1e-3);
      expected[static_cast<std::size_t>(i)] = sum;
    }
    gpu::matrix buffer(n, 1);
    gpu::copy_from_host(host.data(), buffer);
    comm.all_reduce_sum(buffer.data(), n);
    gpu::copy_to_host(buffer, host.data());
    if (host != expected) std::fprintf(stderr, "rank %d: FAILED: all_reduce_sum\n", rank), ++failures;
    // 2.
    auto gen = make_fm();
    distributed::data_parallel<models::flow_matching<net_t>, distributed::nccl_communicator> dp(*gen, comm);
    random_stream data_stream(21);
    dp.shard(data_stream);
    data::toy_sampler<gpu> toy(data::toy::grid25);
    gpu::matrix x(2, 256);
    for (int k = 0; k < 10; ++k) {
      toy.sample(x, data_stream);
      dp.train_step(x);
    }
    const std::vector<float> mine = weights(*gen);
    std::vector<float> root = mine;
    mpi.broadcast(root.data(), static_cast<std::int64_t>(root.size()), 0);
    if (root != mine) std::fprintf(stderr, "rank %d: FAILED: ranks disagree\n", rank), ++failures;
    if (p == 1) {
      auto plain = make_fm();
      random_stream plain_stream(21);
      for (int k = 0; k < 10; ++k) {
        toy.sample(x, plain_stream);
        plain->train_step(x);
      }
      if (weights(*plain) != mine) std::fprintf(stderr, "FAILED: 1 rank differs from plain training\n"), ++failures;
    }
    if (rank == 0) std::printf("nccl: %d rank(s), %s\n", p, failures == 0 ? "every fact holds" : "FAILED");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rank %d: %s\n", mpi.rank(), e.what());
    ++failures;
  }
  return mpi.max(failures) == 0 ? 0 : 1;
}
