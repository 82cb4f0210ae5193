#pragma once
// distributed::nccl_communicator — data-parallel collectives between GPUs over NCCL, one GPU a
// rank, bootstrapped over MPI (rank 0's ncclUniqueId is broadcast), on the CUDA backend's stream.
// nvcc only; target idemgen::nccl (CMake: CUDA, MPI and NCCL found).
//
// all_reduce_sum is deterministic in the way mpi_communicator's is: NCCL's own ncclAllReduce
// picks ring or tree algorithms (and their summation orders) by message size and topology, so it
// is built from point-to-point sends instead. Each rank sends chunk q of the buffer to rank q
// (one group of ncclSend/ncclRecv: an all-to-all), sums the P copies of its own chunk in rank
// order 0, 1, …, P − 1 in a kernel, and ncclAllGather assembles the summed chunks. Bandwidth as a
// ring all-reduce; every rank ends with the same bits.
//
// Pointers are device pointers (device_memory = true): data_parallel keeps its message on the
// device. Compiled and linked on machines without a GPU; run only where one is.

#include <cuda_runtime.h>
#include <nccl.h>

#include <cstdint>
#include <string>
#include <type_traits>

#include "idemgen/backend/cuda/cuda.cuh"
#include "idemgen/core/errors.hpp"
#include "idemgen/distributed/mpi_communicator.hpp"

namespace idemgen::distributed {

namespace nccl_detail {
template <class T>
__global__ void sum_in_rank_order(const T* received, std::int64_t chunk, std::int64_t count, int ranks, T* out) {
  const std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
  if (i >= count) return;
  T sum = received[i];
  for (int q = 1; q < ranks; ++q) sum += received[q * chunk + i];
  out[i] = sum;
}
}  // namespace nccl_detail

class nccl_communicator {
 public:
  static constexpr bool device_memory = true;

  /// One rank a GPU: rank r uses device r mod (devices on its node).
  explicit nccl_communicator(mpi_communicator& mpi) : mpi_(&mpi), rank_(mpi.rank()), size_(mpi.size()) {
    int devices = 0;
    cuda_check(cudaGetDeviceCount(&devices), "cudaGetDeviceCount");
    if (devices == 0) throw io_error("distributed::nccl_communicator", "device", "a CUDA device", "none");
    cuda_check(cudaSetDevice(rank_ % devices), "cudaSetDevice");
    ncclUniqueId id{};
    if (rank_ == 0) check(ncclGetUniqueId(&id), "ncclGetUniqueId");
    static_assert(sizeof(id) % sizeof(std::uint64_t) == 0);
    mpi.broadcast(reinterpret_cast<std::uint64_t*>(&id), sizeof(id) / sizeof(std::uint64_t), 0);
    check(ncclCommInitRank(&comm_, size_, id, rank_), "ncclCommInitRank");
  }
  ~nccl_communicator() {
    if (received_ != nullptr) cudaFree(received_);
    if (gathered_ != nullptr) cudaFree(gathered_);
    if (comm_ != nullptr) ncclCommDestroy(comm_);
  }
  nccl_communicator(const nccl_communicator&) = delete;
  nccl_communicator& operator=(const nccl_communicator&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  int max(int x) { return mpi_->max(x); }

  /// data[0, n) (device) on every rank becomes root's.
  template <class T>
  void broadcast(T* data, std::int64_t n, int root = 0) {
    check(ncclBroadcast(data, data, static_cast<std::size_t>(n), type<T>(), root, comm_, stream()), "ncclBroadcast");
    cuda_check(cudaStreamSynchronize(stream()), "cudaStreamSynchronize");
  }

  /// data[0, n) (device) becomes Σ_ranks data, summed in rank order, the same bits on every rank.
  template <class T>
  void all_reduce_sum(T* data, std::int64_t n) {
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "all_reduce_sum: float or double");
    if (size_ == 1) return;
    const std::int64_t chunk = (n + size_ - 1) / size_;  // chunks padded to one size for the all-gather
    reserve(static_cast<std::size_t>(chunk) * static_cast<std::size_t>(size_) * sizeof(T));
    T* received = static_cast<T*>(received_);
    T* gathered = static_cast<T*>(gathered_);
    const auto count_of = [&](int q) { return std::max<std::int64_t>(0, std::min(chunk, n - q * chunk)); };
    const std::int64_t mine = count_of(rank_);
    check(ncclGroupStart(), "ncclGroupStart");
    for (int q = 0; q < size_; ++q) {
      if (count_of(q) > 0)
        check(ncclSend(data + q * chunk, static_cast<std::size_t>(count_of(q)), type<T>(), q, comm_, stream()), "ncclSend");
      if (mine > 0)
        check(ncclRecv(received + q * chunk, static_cast<std::size_t>(mine), type<T>(), q, comm_, stream()), "ncclRecv");
    }
    check(ncclGroupEnd(), "ncclGroupEnd");
    if (mine > 0) {
      const unsigned blocks = static_cast<unsigned>((mine + 255) / 256);
      nccl_detail::sum_in_rank_order<T><<<blocks, 256, 0, stream()>>>(received, chunk, mine, size_, gathered + rank_ * chunk);
      cuda_check(cudaGetLastError(), "sum_in_rank_order");
    }
    check(ncclAllGather(gathered + rank_ * chunk, gathered, static_cast<std::size_t>(chunk), type<T>(), comm_, stream()),
          "ncclAllGather");
    cuda_check(cudaMemcpyAsync(data, gathered, static_cast<std::size_t>(n) * sizeof(T), cudaMemcpyDeviceToDevice, stream()),
               "cudaMemcpyAsync");
    cuda_check(cudaStreamSynchronize(stream()), "cudaStreamSynchronize");
  }

  /// Every rank's local[0, n) (device) into all[0, P n) (device), in rank order.
  template <class T>
  void all_gather(const T* local, std::int64_t n, T* all) {
    check(ncclAllGather(local, all, static_cast<std::size_t>(n), type<T>(), comm_, stream()), "ncclAllGather");
    cuda_check(cudaStreamSynchronize(stream()), "cudaStreamSynchronize");
  }

 private:
  static cudaStream_t stream() { return backend::cuda<float>::stream(); }
  template <class T>
  static ncclDataType_t type() {
    if constexpr (std::is_same_v<T, float>) return ncclFloat32;
    else return ncclFloat64;
  }
  static void check(ncclResult_t r, const char* call) {
    if (r != ncclSuccess) throw io_error("distributed::nccl_communicator", call, "ncclSuccess", ncclGetErrorString(r));
  }
  static void cuda_check(cudaError_t e, const char* call) {
    if (e != cudaSuccess) throw io_error("distributed::nccl_communicator", call, "cudaSuccess", cudaGetErrorString(e));
  }
  void reserve(std::size_t bytes) {
    if (bytes <= capacity_) return;
    if (received_ != nullptr) cudaFree(received_);
    if (gathered_ != nullptr) cudaFree(gathered_);
    received_ = gathered_ = nullptr;
    cuda_check(cudaMalloc(&received_, bytes), "cudaMalloc");
    cuda_check(cudaMalloc(&gathered_, bytes), "cudaMalloc");
    capacity_ = bytes;
  }

  mpi_communicator* mpi_;
  int rank_ = 0, size_ = 1;
  ncclComm_t comm_ = nullptr;
  void* received_ = nullptr;
  void* gathered_ = nullptr;
  std::size_t capacity_ = 0;
};

}  // namespace idemgen::distributed
