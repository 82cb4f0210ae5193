#pragma once
// Philox-4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11): a
// counter-based generator. The output is a pure function of (key, counter), so element e of any
// random fill depends only on the seed and e — not on thread count, backend or launch order.
// That is what lets the CPU and CUDA backends draw the same noise for the same seed.
//
// Everything below is IDEMGEN_HOST_DEVICE and allocation-free so the same code compiles in a CUDA
// kernel. Verified against the Random123 known-answer vectors (tests/test_rng.cpp).

#include <cmath>
#include <cstdint>
#include <string>

#include "idemgen/core/config.hpp"
#include "idemgen/core/errors.hpp"

namespace idemgen {

struct philox_key {
  std::uint32_t k0 = 0, k1 = 0;
};

struct philox_block {
  std::uint32_t v[4];
};

namespace detail {
IDEMGEN_HOST_DEVICE inline void mulhilo32(std::uint32_t a, std::uint32_t b, std::uint32_t& hi,
                                          std::uint32_t& lo) {
  const std::uint64_t p = static_cast<std::uint64_t>(a) * b;
  hi = static_cast<std::uint32_t>(p >> 32);
  lo = static_cast<std::uint32_t>(p);
}
}  // namespace detail

/// One Philox-4x32 evaluation with 10 rounds: four 32-bit outputs for a 128-bit counter.
IDEMGEN_HOST_DEVICE inline philox_block philox4x32_10(philox_block ctr, philox_key key) {
  constexpr std::uint32_t m0 = 0xD2511F53u, m1 = 0xCD9E8D57u;  // multipliers
  constexpr std::uint32_t w0 = 0x9E3779B9u, w1 = 0xBB67AE85u;  // Weyl key increments
  for (int round = 0; round < 10; ++round) {
    std::uint32_t hi0, lo0, hi1, lo1;
    detail::mulhilo32(m0, ctr.v[0], hi0, lo0);
    detail::mulhilo32(m1, ctr.v[2], hi1, lo1);
    ctr = philox_block{{hi1 ^ ctr.v[1] ^ key.k0, lo1, hi0 ^ ctr.v[3] ^ key.k1, lo0}};
    key.k0 += w0;
    key.k1 += w1;
  }
  return ctr;
}

/// The block used for random element e of a fill that starts at block `base`: elements are
/// taken four to a block, lane e % 4, so a fill of n values consumes ceil(n / 4) blocks.
IDEMGEN_HOST_DEVICE inline philox_block philox_block_at(philox_key key, std::uint64_t block) {
  return philox4x32_10(
      philox_block{{static_cast<std::uint32_t>(block), static_cast<std::uint32_t>(block >> 32), 0u,
                    0u}},
      key);
}

/// Uniform in the open interval (0, 1): (u + 0.5) / 2^32, never 0 (safe for log) and never 1.
template <class Scalar>
IDEMGEN_HOST_DEVICE inline Scalar uniform_open01(std::uint32_t u) {
  if constexpr (sizeof(Scalar) == 4) {
    // Keep 24 bits so that the result is exact in float and strictly below 1.
    return (static_cast<float>(u >> 8) + 0.5f) * (1.0f / 16777216.0f);
  } else {
    return (static_cast<Scalar>(u) + Scalar(0.5)) * Scalar(2.3283064365386963e-10);
  }
}

/// Element `lane` (0..3) of a block as a standard normal draw via Box–Muller: lanes (0,1) and
/// (2,3) are the pairs, lane 0/2 takes the cosine branch and lane 1/3 the sine branch.
template <class Scalar>
IDEMGEN_HOST_DEVICE inline Scalar normal_from_block(const philox_block& b, int lane) {
  const int pair = lane & 2;
  const Scalar u1 = uniform_open01<Scalar>(b.v[pair]);
  const Scalar u2 = uniform_open01<Scalar>(b.v[pair + 1]);
  const Scalar r = std::sqrt(Scalar(-2) * std::log(u1));
  const Scalar angle = Scalar(6.283185307179586) * u2;
  return (lane & 1) ? r * std::sin(angle) : r * std::cos(angle);
}

/// A seeded stream: a key and the next unused block. A random fill of n values reserves
/// ceil(n / 4) blocks, so consecutive fills never overlap and a stream's whole state is two
/// integers — saved in checkpoints so that training resumes with the same noise.
class random_stream {
 public:
  random_stream() = default;
  explicit random_stream(std::uint64_t seed, std::uint64_t first_block = 0)
      : key_{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)},
        next_block_(first_block) {}

  philox_key key() const { return key_; }
  std::uint64_t next_block() const { return next_block_; }
  std::uint64_t seed() const { return (static_cast<std::uint64_t>(key_.k1) << 32) | key_.k0; }

  /// Reserves the blocks for n values and returns the first of them. On a sharded stream (below)
  /// the n values are this rank's part of a draw of ranks · n, laid out in rank order.
  std::uint64_t reserve(std::uint64_t n_values) {
    const std::uint64_t blocks = (n_values + 3) / 4;
    if (ranks_ > 1 && n_values % 4 != 0)
      throw invalid_argument("random_stream::reserve", "n_values",
                             "a multiple of 4 on a sharded stream (a rank's part of a draw fills whole blocks: "
                             "make the per-rank batch a multiple of 4)",
                             std::to_string(n_values));
    const std::uint64_t first = next_block_ + static_cast<std::uint64_t>(rank_) * blocks;
    next_block_ += static_cast<std::uint64_t>(ranks_) * blocks;
    return first;
  }

  /// Data-parallel sharding (distributed/): from now on every draw of n values is rank `rank`'s
  /// part of one draw of ranks · n, so sample i of the global batch gets the same numbers whether
  /// 1 or P processes draw it, and every rank's stream stays at the same position (the one a
  /// checkpoint saves; a run resumes with any rank count). Per-rank draws must be multiples of 4
  /// values. set_shard(0, 1) is the unsharded stream.
  void set_shard(int rank, int ranks) {
    if (ranks < 1 || rank < 0 || rank >= ranks)
      throw invalid_argument("random_stream::set_shard", "rank", "0 <= rank < ranks",
                             std::to_string(rank) + " of " + std::to_string(ranks));
    rank_ = rank;
    ranks_ = ranks;
  }
  int shard_rank() const { return rank_; }
  int shard_count() const { return ranks_; }

  /// A single uniform draw in (0, 1) on the host (uses one whole block; for setup code only).
  double uniform() { return uniform_open01<double>(philox_block_at(key_, reserve(4)).v[0]); }

  /// An independent stream derived from this one (e.g. one per dataset or per network init),
  /// so that adding draws in one place never shifts the numbers drawn in another.
  random_stream split(std::uint32_t purpose) const {
    const philox_block b = philox4x32_10(philox_block{{purpose, 0x5EEDu, key_.k0, key_.k1}},
                                         philox_key{0x2545F491u, 0x9E3779B9u});
    return random_stream((static_cast<std::uint64_t>(b.v[1]) << 32) | b.v[0]);
  }

 private:
  philox_key key_{};
  std::uint64_t next_block_ = 0;
  int rank_ = 0, ranks_ = 1;
};

}  // namespace idemgen
