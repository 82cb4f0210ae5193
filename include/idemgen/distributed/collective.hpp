#pragma once
// distributed::collective — the collectives of data-parallel training as an interface, so that
// code which must not see MPI's headers (the step context, the CLI's training loop, which nvcc
// also compiles) can use them: the all-gather a coupling needs to search or solve over the global
// batch, and the deterministic all-reduce, broadcast and max of distributed::data_parallel.
// distributed::mpi_communicator is one. The step context holds a pointer to one (null in a single
// process); data_parallel hands it to the generator when asked for global couplings.

#include <cstdint>
#include <type_traits>
#include <vector>

#include "idemgen/core/concepts.hpp"

namespace idemgen::distributed {

class collective {
 public:
  virtual ~collective() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  /// Every rank's local[0, n) into all[0, P n), in rank order.
  virtual void all_gather(const float* local, std::int64_t n, float* all) = 0;
  virtual void all_gather(const double* local, std::int64_t n, double* all) = 0;
  /// data[0, n) becomes Σ_ranks data, the same bits on every rank, summed in rank order.
  virtual void all_reduce_sum(float* data, std::int64_t n) = 0;
  virtual void all_reduce_sum(double* data, std::int64_t n) = 0;
  /// data[0, n) on every rank becomes root's.
  virtual void broadcast(float* data, std::int64_t n, int root) = 0;
  virtual void broadcast(double* data, std::int64_t n, int root) = 0;
  /// The largest x over the ranks (to agree on a stop request).
  virtual int max(int x) = 0;
};

/// The columns of every rank's `local` (d × n each), in rank order, into `all` (d × P n), through
/// host buffers on a device backend.
template <class B>
void all_gather_columns(collective& c, typename B::const_view local, typename B::matrix& all,
                        std::vector<typename B::scalar>& host_local, std::vector<typename B::scalar>& host_all) {
  const index_t d = local.rows(), n = local.cols();
  const auto count = static_cast<std::size_t>(d * n);
  host_local.resize(count);
  host_all.resize(count * static_cast<std::size_t>(c.size()));
  B::copy_to_host(local, host_local.data());
  c.all_gather(host_local.data(), static_cast<std::int64_t>(count), host_all.data());
  all.resize(d, n * c.size());
  B::copy_from_host(host_all.data(), all);  // column-major: rank q's columns are q n … q n + n − 1
}

}  // namespace idemgen::distributed
