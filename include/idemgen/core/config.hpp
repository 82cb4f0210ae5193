#pragma once
// Build-wide switches and the one portability macro that lets the same function compile for
// host and device (implemented once for host and device).

#include <cstddef>
#include <cstdint>

#if defined(__CUDACC__)
#define IDEMGEN_HOST_DEVICE __host__ __device__
#else
#define IDEMGEN_HOST_DEVICE
#endif

#define IDEMGEN_VERSION_MAJOR 0
#define IDEMGEN_VERSION_MINOR 1
#define IDEMGEN_VERSION_PATCH 0

namespace idemgen {

/// Signed index type for every dimension and element count (like Eigen::Index / ptrdiff_t):
/// signed so that `i < n - 1` never wraps.
using index_t = std::ptrdiff_t;  // not `index`: POSIX declares ::index(), which
                                  // would clash after `using namespace idemgen`

}  // namespace idemgen
