#pragma once
// distributed::collective — what a coupling needs of the other ranks to search or solve over the
// global batch instead of its rank's part: an all-gather of columns. No MPI here: the step context
// holds a pointer to one (null in a single process), distributed::mpi_communicator is one, and
// data_parallel hands it to the generator when asked for global couplings.

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
