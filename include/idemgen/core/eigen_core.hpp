#pragma once
// Eigen's headers, included once for the whole library. GCC 12 flags its own AVX-512 intrinsics
// header (`__m512d __Y = __Y;`) as (maybe-)uninitialized wherever Eigen's packet math inlines it
// (-march=native on an AVX-512 CPU): a false positive in a system header (fixed in GCC 13). A
// diagnostic pragma takes effect where the intrinsics header is first included, so every idemgen
// header includes Eigen through this one (first), silenced for Eigen's headers only; further
// modules (<Eigen/Dense>) may follow it.

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <Eigen/Core>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
