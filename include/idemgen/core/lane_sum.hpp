#pragma once
// lane_sum: Σ_{i ∈ [begin, end)} term(i) in 8 independent accumulators, combined pairwise at the
// end. One running sum is a chain of dependent adds that the compiler may not reorder without
// -ffast-math (~4 cycles an element); eight lanes vectorise. The order is fixed, so the result
// is the same run after run (not the same bits as the one-chain sum). Host and device alike.

#include "idemgen/core/config.hpp"

namespace idemgen::detail {

template <class Accumulator, class Term>
IDEMGEN_HOST_DEVICE Accumulator lane_sum(index_t begin, index_t end, Term term) {
  Accumulator lanes[8] = {};
  index_t i = begin;
  for (; i + 8 <= end; i += 8)
    for (int l = 0; l < 8; ++l) lanes[l] += static_cast<Accumulator>(term(i + l));
  for (; i < end; ++i) lanes[0] += static_cast<Accumulator>(term(i));
  return ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
}

}  // namespace idemgen::detail
