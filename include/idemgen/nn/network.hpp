#pragma once
// The contract of a network f_θ (or the F_θ inside a denoiser), and the input checks every
// network runs at its boundary.

#include <concepts>
#include <cstddef>
#include <string_view>

#include "idemgen/core/concepts.hpp"
#include "idemgen/core/errors.hpp"

namespace idemgen::nn {

/// A network: a differentiable map from input_dim × batch (plus an optional 1 × batch
/// conditioning row) to output_dim × batch, whose parameters live in one flat buffer.
///
/// Requires of Net:
///   backend_type (a backend), cache (default-constructible; one per call that will be
///   differentiated), input_dim(), output_dim(), cond_rows() (0 or 1), parameter_count(),
///   parameters() / gradients() (parameter_count × 1 views of the flat buffers),
///   forward(x, cond, cache) → output view held by the cache (pass an empty cond when
///   cond_rows() == 0), backward(cache, dy, grads) → dL/dx held by the cache.
/// Ensures:
///   backward accumulates (+=) dL/dθ into `grads` — the network's own gradients() or any flat
///   buffer of the same size — and touches no parameter gradient when grads is nullptr, while
///   still returning dL/dx (stop-gradient as routing, docs/ARCHITECTURE.md). forward and backward are const:
///   several calls with their own caches can be alive at once (f(x), f(z), f(f(z)) in one step).
///   Input of the wrong shape throws shape_error; non-finite input throws numeric_error.
///   Results are the same run after run; a network built on network_base may split a large batch
///   over the CPU's threads (nn/batch_shards.hpp), so between thread counts its parameter
///   gradients differ by float rounding.
template <class Net>
concept network = requires(Net& net, const Net& cnet, typename Net::cache& c,
                           typename Net::backend_type::const_view x,
                           typename Net::backend_type::view g) {
  requires numeric_backend<typename Net::backend_type>;
  { cnet.input_dim() } -> std::convertible_to<index_t>;
  { cnet.output_dim() } -> std::convertible_to<index_t>;
  { cnet.cond_rows() } -> std::convertible_to<index_t>;
  { cnet.parameter_count() } -> std::convertible_to<index_t>;
  { net.parameters() } -> std::same_as<typename Net::backend_type::view>;
  { net.gradients() } -> std::same_as<typename Net::backend_type::view>;
  { cnet.forward(x, x, c) } -> std::same_as<typename Net::backend_type::const_view>;
  { cnet.backward(c, x, g) } -> std::same_as<typename Net::backend_type::const_view>;
  { cnet.backward(c, x, nullptr) } -> std::same_as<typename Net::backend_type::const_view>;
};

namespace detail {

/// The checks at a network's forward boundary: x is input_dim × batch and finite, cond has
/// exactly `cond_rows` rows (0 = must be empty) and the same batch, and is finite.
template <numeric_backend B>
void check_network_input(std::string_view where, index_t input_dim, index_t cond_rows,
                         typename B::const_view x, typename B::const_view cond, bool check_finite) {
  idemgen::detail::require_dim(where, "x", "rows", input_dim, x.rows());
  if (x.cols() < 1) throw shape_error(where, "x", "at least 1 column", "0 columns");
  if (cond_rows == 0) {
    if (!cond.empty())
      throw shape_error(where, "cond", "no conditioning (this network takes none)",
                        fmt::format("{}x{}", cond.rows(), cond.cols()));
  } else {
    idemgen::detail::require_shape(where, "cond", cond_rows, x.cols(), cond.rows(), cond.cols());
  }
  if (check_finite) {
    if (!B::all_finite(x)) throw numeric_error(where, "x", "finite values", "NaN or Inf");
    if (cond_rows > 0 && !B::all_finite(cond))
      throw numeric_error(where, "cond", "finite values", "NaN or Inf");
  }
}

/// The checks at a network's backward boundary: forward ran, and dy matches its output.
template <numeric_backend B>
void check_network_gradient(std::string_view where, index_t output_dim, index_t batch,
                            typename B::const_view dy, typename B::const_view grads,
                            index_t parameter_count) {
  if (batch == 0) throw invalid_argument(where, "cache", "a cache filled by forward", "an empty cache");
  idemgen::detail::require_shape(where, "dy", output_dim, batch, dy.rows(), dy.cols());
  if (grads.data() != nullptr)
    idemgen::detail::require_dim(where, "grads", "size", parameter_count, grads.size());
}

}  // namespace detail
}  // namespace idemgen::nn
