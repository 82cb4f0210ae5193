#pragma once
// Features of a conditioning row (σ, c_noise or t; 1 × batch) for networks that take one
//. Two kinds, as in EDM's networks:
//   positional: f_k = max_period^(−k/h), k < h = dim/2 (Transformer/DDPM): [cos(c f_k); sin(c f_k)]
//   fourier:    f_k ~ N(0, scale²) drawn once from `seed` (Tancik et al.; EDM uses scale 16
//               with c_noise = ln(σ)/4): [cos(2π f_k c); sin(2π f_k c)]
// The embedding has no trainable parameters and passes no gradient to the conditioning row.

#include <cmath>
#include <cstdint>
#include <vector>

#include "idemgen/core/concepts.hpp"
#include "idemgen/core/errors.hpp"

namespace idemgen::nn {

enum class embedding_kind { positional, fourier };
inline const char* to_string(embedding_kind k) { return k == embedding_kind::positional ? "positional" : "fourier"; }

/// How a network embeds its conditioning row. dim == 0 means the network takes no conditioning.
struct conditioning {
  index_t dim = 0;  // embedding features, even; 0 = unconditioned network
  embedding_kind kind = embedding_kind::positional;
  double max_period = 10000.0;  // positional only
  double fourier_scale = 16.0;  // fourier only
  std::uint64_t seed = 0;       // fourier frequencies
};

template <numeric_backend B>
class noise_embedding {
 public:
  using scalar = typename B::scalar;
  using const_view = typename B::const_view;

  explicit noise_embedding(const conditioning& opt) : dim_(opt.dim) {
    idemgen::detail::require_option(opt.dim > 0 && opt.dim % 2 == 0, "noise_embedding", "dim",
                           "an even number > 0", fmt::format("{}", opt.dim));
    const index_t half = opt.dim / 2;
    frequencies_.resize(half, 1);
    std::vector<scalar> host(static_cast<std::size_t>(half));
    if (opt.kind == embedding_kind::positional) {
      for (index_t k = 0; k < half; ++k)
        host[static_cast<std::size_t>(k)] =
            static_cast<scalar>(std::pow(opt.max_period, -static_cast<double>(k) / half));
      B::copy_from_host(host.data(), frequencies_);
    } else {
      random_stream rng(opt.seed);
      B::fill_normal(frequencies_, rng, scalar(0),
                     static_cast<scalar>(2 * 3.141592653589793 * opt.fourier_scale));
    }
  }

  index_t dim() const { return dim_; }
  /// The angular frequencies (dim/2 × 1; 2π folded in for fourier): a buffer, not a parameter.
  const typename B::matrix& frequencies() const { return frequencies_; }

  /// out (dim × batch) from the conditioning row c (1 × batch).
  void forward(const_view c, typename B::view out) const {
    const index_t half = dim_ / 2, n = c.cols();
    const scalar* pc = c.data();
    const scalar* f = frequencies_.data();
    scalar* po = out.data();
    const index_t d = dim_;
    B::parallel_for_2d(half, n, [=] IDEMGEN_HOST_DEVICE(index_t k, index_t j) {
      const scalar a = pc[j] * f[k];
      po[k + j * d] = std::cos(a);
      po[k + half + j * d] = std::sin(a);
    });
  }

 private:
  index_t dim_;
  typename B::matrix frequencies_;  // angular frequencies (2π folded in for fourier)
};

}  // namespace idemgen::nn
