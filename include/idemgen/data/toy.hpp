#pragma once
// Toy 2-D datasets, drawn through the library's Philox stream (so a seed fixes them exactly).
// Definitions follow the FFJORD toy-data code that NAIGN cites, except grid25, which follows the
// issue/WGAN-GP layout without the 1/2.828 rescaling:
//   grid25       centres {−4, −2, 0, 2, 4}², std 0.05
//   8gaussians   centres 4(cos kπ/4, sin kπ/4), std 0.5, all divided by 1.414
//   moons        sklearn make_moons(noise = 0.1), then ×2 + (−1, −0.2)
//   rings        radii {1, 0.75, 0.5, 0.25}·3, noise std 0.08
//   checkerboard 8 alternating unit squares ×2 on [−4, 4]²
//   swiss_roll   t = 1.5π(1 + 2u), (t cos t, t sin t) + N(0, 1), ÷5
//   pinwheel     5 arms, radial std 0.3, tangential std 0.1, rate 0.25, ×2

#include <array>
#include <cmath>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "idemgen/backend/host_matrix.hpp"
#include "idemgen/core/concepts.hpp"
#include "idemgen/core/errors.hpp"

namespace idemgen::data {

enum class toy { grid25, gaussians8, moons, rings, checkerboard, swiss_roll, pinwheel };

inline constexpr std::array<std::string_view, 7> toy_names = {
    "grid25", "8gaussians", "moons", "rings", "checkerboard", "swiss_roll", "pinwheel"};

inline std::string_view to_string(toy t) { return toy_names[static_cast<std::size_t>(t)]; }

inline toy parse_toy(std::string_view name) {
  for (std::size_t k = 0; k < toy_names.size(); ++k)
    if (toy_names[k] == name) return static_cast<toy>(k);
  throw invalid_argument("data::parse_toy", "dataset",
                         "one of grid25, 8gaussians, moons, rings, checkerboard, swiss_roll, pinwheel",
                         std::string(name));
}

/// The components of a dataset that is an equal-weight Gaussian mixture (for mode coverage).
struct mixture {
  std::vector<std::array<double, 2>> centres;
  double stddev = 0;
};

inline std::optional<mixture> mixture_of(toy t) {
  mixture m;
  if (t == toy::grid25) {
    for (int i = -2; i <= 2; ++i)
      for (int j = -2; j <= 2; ++j) m.centres.push_back({2.0 * i, 2.0 * j});
    m.stddev = 0.05;
    return m;
  }
  if (t == toy::gaussians8) {
    for (int k = 0; k < 8; ++k) {
      const double a = k * 3.141592653589793 / 4;
      m.centres.push_back({4 * std::cos(a) / 1.414, 4 * std::sin(a) / 1.414});
    }
    m.stddev = 0.5 / 1.414;
    return m;
  }
  return std::nullopt;
}

/// Draws n points of `t` into a 2 × n host buffer, consuming 2n blocks of `rng` (one block of
/// uniforms and one of normals per point); toy_sampler below copies them to a backend.
inline void sample_toy_host(toy t, backend::host_matrix<double>& out, index_t n, random_stream& rng) {
  out.resize(2, n);
  backend::host_matrix<double> u(4, n), g(4, n);
  // Uniforms and normals from disjoint block ranges of the stream (rng.reserve advances it).
  const std::uint64_t ub = rng.reserve(static_cast<std::uint64_t>(4 * n));
  const std::uint64_t gb = rng.reserve(static_cast<std::uint64_t>(4 * n));
  for (index_t j = 0; j < n; ++j) {
    const philox_block bu = philox_block_at(rng.key(), ub + static_cast<std::uint64_t>(j));
    const philox_block bg = philox_block_at(rng.key(), gb + static_cast<std::uint64_t>(j));
    for (int k = 0; k < 4; ++k) {
      u(k, j) = uniform_open01<double>(bu.v[k]);
      g(k, j) = normal_from_block<double>(bg, k);
    }
  }
  constexpr double pi = 3.141592653589793;
  for (index_t j = 0; j < n; ++j) {
    double x = 0, y = 0;
    const double u0 = u(0, j), u1 = u(1, j), u2 = u(2, j);
    const double g0 = g(0, j), g1 = g(1, j);
    switch (t) {
      case toy::grid25: {
        const int k = std::min(24, static_cast<int>(u0 * 25));
        x = 2.0 * (k / 5 - 2) + 0.05 * g0;
        y = 2.0 * (k % 5 - 2) + 0.05 * g1;
        break;
      }
      case toy::gaussians8: {
        const int k = std::min(7, static_cast<int>(u0 * 8));
        x = (4 * std::cos(k * pi / 4) + 0.5 * g0) / 1.414;
        y = (4 * std::sin(k * pi / 4) + 0.5 * g1) / 1.414;
        break;
      }
      case toy::moons: {
        const double a = pi * u1;
        if (u0 < 0.5) x = std::cos(a), y = std::sin(a);
        else x = 1 - std::cos(a), y = 0.5 - std::sin(a);
        x = 2 * (x + 0.1 * g0) - 1;
        y = 2 * (y + 0.1 * g1) - 0.2;
        break;
      }
      case toy::rings: {
        const int k = std::min(3, static_cast<int>(u0 * 4));
        const double r = 3.0 * (1.0 - 0.25 * k), a = 2 * pi * u1;
        x = r * std::cos(a) + 0.08 * g0;
        y = r * std::sin(a) + 0.08 * g1;
        break;
      }
      case toy::checkerboard: {
        const double x1 = 4 * u0 - 2;
        const double x2 = u1 - (u2 < 0.5 ? 0.0 : 2.0) + std::fmod(std::floor(x1) + 4, 2.0);
        x = 2 * x1, y = 2 * x2;
        break;
      }
      case toy::swiss_roll: {
        const double s = 1.5 * pi * (1 + 2 * u0);
        x = (s * std::cos(s) + g0) / 5;
        y = (s * std::sin(s) + g1) / 5;
        break;
      }
      case toy::pinwheel: {
        const int k = std::min(4, static_cast<int>(u0 * 5));
        const double fr = 0.3 * g0 + 1, ft = 0.1 * g1;
        const double a = 2 * pi * k / 5 + 0.25 * std::exp(fr);
        x = 2 * (std::cos(a) * fr - std::sin(a) * ft);
        y = 2 * (std::sin(a) * fr + std::cos(a) * ft);
        break;
      }
    }
    out(0, j) = x;
    out(1, j) = y;
  }
}

namespace detail {
/// Copies host doubles into a backend matrix of its scalar type through `converted` (reused).
template <numeric_backend B>
void upload(const backend::host_matrix<double>& host, std::vector<typename B::scalar>& converted,
            typename B::view out) {
  converted.resize(static_cast<std::size_t>(out.size()));
  for (index_t e = 0; e < out.size(); ++e)
    converted[static_cast<std::size_t>(e)] = static_cast<typename B::scalar>(host.data()[e]);
  B::copy_from_host(converted.data(), out);
}
}  // namespace detail

/// Fills a 2 × n backend matrix with points of `t`. Keeps its host buffers between calls.
template <numeric_backend B>
class toy_sampler {
 public:
  explicit toy_sampler(toy t) : toy_(t) {}
  toy dataset() const { return toy_; }
  void sample(typename B::view out, random_stream& rng) {
    idemgen::detail::require_dim("toy_sampler::sample", "out", "rows", 2, out.rows());
    sample_toy_host(toy_, host_, out.cols(), rng);
    detail::upload<B>(host_, converted_, out);
  }

 private:
  toy toy_;
  backend::host_matrix<double> host_;
  std::vector<typename B::scalar> converted_;
};

}  // namespace idemgen::data
