#pragma once
// distributed::mpi_communicator — the collectives data-parallel training needs, over MPI (Open MPI
// or MPICH; CMake option IDEMGEN_WITH_MPI, target idemgen::mpi).
//
// all_reduce_sum is deterministic: its result does not depend on the algorithm the MPI library
// picks for the message size or the rank count (Open MPI's and MPICH's float MPI_Allreduce orders
// have differed between message sizes and between ranks). It is a reduce-scatter done by hand —
// an all-to-all of n / P chunks, then each rank sums its chunk over the ranks in rank order
// 0, 1, …, P − 1 — followed by an all-gather of the summed chunks. Every rank ends with the same
// bits, and with P = 2 they are the bits of the two halves summed as a single process of two batch
// shards sums them (nn::network_base::defer_shard_sums). Cost: 2 (P − 1) / P · n values sent and
// received per rank, as a ring all-reduce; latency P messages each way instead of a ring's P − 1.
//
// Errors: the communicator is a duplicate of MPI_COMM_WORLD with MPI_ERRORS_RETURN, and a failed
// call throws idemgen::io_error naming the call. A rank that dies is mpirun's to handle: it ends
// the whole job ("mpirun noticed that process rank 1 … exited on signal 9"), and no rank waits
// forever.

#include <mpi.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include <fmt/format.h>

#include "idemgen/core/errors.hpp"
#include "idemgen/distributed/collective.hpp"

namespace idemgen::distributed {

/// MPI_Init_thread / MPI_Finalize for the program's lifetime (one per process, first in main).
class mpi_environment {
 public:
  mpi_environment(int& argc, char**& argv) {
    int initialised = 0;
    MPI_Initialized(&initialised);
    if (initialised) return;
    int provided = 0;
    // FUNNELED: only the main thread calls MPI; OpenMP threads do the arithmetic.
    if (MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
      throw io_error("distributed::mpi_environment", "MPI_Init_thread", "MPI initialised", "an error");
    owns_ = true;
  }
  ~mpi_environment() {
    if (owns_) MPI_Finalize();
  }
  mpi_environment(const mpi_environment&) = delete;
  mpi_environment& operator=(const mpi_environment&) = delete;

 private:
  bool owns_ = false;
};

class mpi_communicator final : public collective {
 public:
  mpi_communicator() {
    check(MPI_Comm_dup(MPI_COMM_WORLD, &comm_), "MPI_Comm_dup");
    check(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
    check(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
    check(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
  }
  ~mpi_communicator() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Comm_free(&comm_);
  }
  mpi_communicator(const mpi_communicator&) = delete;
  mpi_communicator& operator=(const mpi_communicator&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }

  /// data[0, n) on every rank becomes root's.
  template <class T>
  void broadcast(T* data, std::int64_t n, int root = 0) const {
    for (std::int64_t first = 0; first < n; first += max_count) {
      const int count = static_cast<int>(std::min<std::int64_t>(max_count, n - first));
      check(MPI_Bcast(data + first, count, type<T>(), root, comm_), "MPI_Bcast");
    }
  }

  /// data[0, n) becomes Σ_ranks data, the same bits on every rank, summed in rank order (above).
  template <class T>
  void all_reduce_sum(T* data, std::int64_t n) {
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "all_reduce_sum: float or double");
    if (size_ == 1) return;
    if (n > max_count) throw invalid_argument("distributed::all_reduce_sum", "n", "< 2^31 values", std::to_string(n));
    const int p = size_;
    counts_.resize(static_cast<std::size_t>(p));
    firsts_.resize(static_cast<std::size_t>(p));
    for (int c = 0; c < p; ++c) {  // chunk c: [n c / P, n (c + 1) / P)
      const std::int64_t first = n * c / p, last = n * (c + 1) / p;
      firsts_[static_cast<std::size_t>(c)] = static_cast<int>(first);
      counts_[static_cast<std::size_t>(c)] = static_cast<int>(last - first);
    }
    const int mine = counts_[static_cast<std::size_t>(rank_)];
    auto& received = buffer<T>();
    received.resize(static_cast<std::size_t>(mine) * static_cast<std::size_t>(p));
    // All-to-all: chunk c of every rank goes to rank c; rank r receives P copies of chunk r.
    receive_counts_.assign(static_cast<std::size_t>(p), mine);
    receive_firsts_.resize(static_cast<std::size_t>(p));
    for (int q = 0; q < p; ++q) receive_firsts_[static_cast<std::size_t>(q)] = q * mine;
    check(MPI_Alltoallv(data, counts_.data(), firsts_.data(), type<T>(), received.data(), receive_counts_.data(),
                        receive_firsts_.data(), type<T>(), comm_),
          "MPI_Alltoallv");
    // This rank's chunk, summed over the ranks in rank order.
    T* chunk = data + firsts_[static_cast<std::size_t>(rank_)];
    for (int i = 0; i < mine; ++i) {
      T sum = received[static_cast<std::size_t>(i)];
      for (int q = 1; q < p; ++q) sum += received[static_cast<std::size_t>(q * mine + i)];
      chunk[i] = sum;
    }
    check(MPI_Allgatherv(MPI_IN_PLACE, 0, type<T>(), data, counts_.data(), firsts_.data(), type<T>(), comm_),
          "MPI_Allgatherv");
  }

  /// Every rank's local[0, n) into all[0, P n), in rank order.
  template <class T>
  void all_gather(const T* local, std::int64_t n, T* all) const {
    if (n * size_ > max_count) throw invalid_argument("distributed::all_gather", "n", "P n < 2^31", std::to_string(n));
    check(MPI_Allgather(local, static_cast<int>(n), type<T>(), all, static_cast<int>(n), type<T>(), comm_),
          "MPI_Allgather");
  }

  void all_gather(const float* local, std::int64_t n, float* all) override { all_gather<float>(local, n, all); }
  void all_gather(const double* local, std::int64_t n, double* all) override { all_gather<double>(local, n, all); }
  void all_reduce_sum(float* data, std::int64_t n) override { all_reduce_sum<float>(data, n); }
  void all_reduce_sum(double* data, std::int64_t n) override { all_reduce_sum<double>(data, n); }
  void broadcast(float* data, std::int64_t n, int root) override { broadcast<float>(data, n, root); }
  void broadcast(double* data, std::int64_t n, int root) override { broadcast<double>(data, n, root); }

  void barrier() const { check(MPI_Barrier(comm_), "MPI_Barrier"); }
  /// The largest value of x over the ranks (e.g. to agree on a stop request).
  int max(int x) override {
    int out = 0;
    check(MPI_Allreduce(&x, &out, 1, MPI_INT, MPI_MAX, comm_), "MPI_Allreduce");
    return out;
  }

 private:
  static constexpr std::int64_t max_count = (std::int64_t{1} << 31) - 1;
  template <class T>
  static MPI_Datatype type() {
    if constexpr (std::is_same_v<T, float>) return MPI_FLOAT;
    else if constexpr (std::is_same_v<T, double>) return MPI_DOUBLE;
    else if constexpr (std::is_same_v<T, std::int64_t>) return MPI_INT64_T;
    else if constexpr (std::is_same_v<T, std::uint64_t>) return MPI_UINT64_T;
    else static_assert(sizeof(T) == 0, "mpi_communicator: float, double or 64-bit integers");
  }
  static void check(int code, const char* call) {
    if (code == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    MPI_Error_string(code, text, &length);
    throw io_error("distributed::mpi_communicator", call, "MPI_SUCCESS", std::string(text, static_cast<std::size_t>(length)));
  }
  template <class T>
  std::vector<T>& buffer() {
    if constexpr (std::is_same_v<T, float>) return float_buffer_;
    else return double_buffer_;
  }

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1;
  std::vector<int> counts_, firsts_, receive_counts_, receive_firsts_;
  std::vector<float> float_buffer_;
  std::vector<double> double_buffer_;
};

}  // namespace idemgen::distributed
