#pragma once
// Mode coverage of samples on an equal-weight Gaussian mixture (NAIGN §4: centres within 3 std):
//   modes_hit       centres with at least one sample within 3 std
//   modes_balanced  centres holding at least `balance_fraction` of all samples within 3 std
//                   (0.8 % by default: a fifth of the uniform share for 25 modes)
//   high_quality    fraction of samples within 3 std of some centre

#include <vector>

#include "idemgen/data/toy.hpp"

namespace idemgen::evaluation {

struct coverage {
  int modes = 0;
  int modes_hit = 0;
  int modes_balanced = 0;
  double high_quality = 0;
  std::vector<double> share;  // fraction of samples within 3 std of each centre
};

/// samples: 2 × n on the host (copy device data first).
inline coverage mode_coverage(const data::mixture& mix, const double* samples, index_t n,
                              double balance_fraction = 0.008) {
  coverage c;
  c.modes = static_cast<int>(mix.centres.size());
  c.share.assign(mix.centres.size(), 0.0);
  const double r2 = 9 * mix.stddev * mix.stddev;
  index_t good = 0;
  for (index_t j = 0; j < n; ++j) {
    const double x = samples[2 * j], y = samples[2 * j + 1];
    for (std::size_t k = 0; k < mix.centres.size(); ++k) {
      const double dx = x - mix.centres[k][0], dy = y - mix.centres[k][1];
      if (dx * dx + dy * dy <= r2) {
        c.share[k] += 1;
        ++good;
        break;  // centres are > 6 std apart in both mixtures: at most one can match
      }
    }
  }
  for (double& s : c.share) {
    s /= static_cast<double>(n);
    c.modes_hit += s > 0;
    c.modes_balanced += s >= balance_fraction;
  }
  c.high_quality = static_cast<double>(good) / static_cast<double>(n);
  return c;
}

}  // namespace idemgen::evaluation
