#pragma once
// wrapped_network<Net>: the members every model wrapper (nn::denoiser, nn::velocity) forwards to
// the network it wraps, so that a wrapper satisfies nn::network itself (the generator, trainer,
// optimiser and checkpoints see one flat parameter buffer: the wrapped network's). A wrapper
// adds a noise schedule and takes the noise level σ or time t as its conditioning row.

#include <utility>

#include "idemgen/nn/network.hpp"

namespace idemgen::nn {

/// A model that takes a noise level (σ or t) as its conditioning row and carries the schedule
/// that defines it: nn::denoiser, nn::velocity. A network without one is a one-step f.
template <class Net>
concept takes_level = requires(const Net& n) {
  typename Net::schedule_type;
  n.schedule();
};

template <network Net>
class wrapped_network {
 public:
  using backend_type = typename Net::backend_type;
  using net_type = Net;

  explicit wrapped_network(Net net) : net_(std::move(net)) {
    idemgen::detail::require_option(net_.cond_rows() == 1, "nn::wrapped_network", "net",
                                    "a network with a conditioning row (options.cond.dim > 0)",
                                    "an unconditioned network");
    idemgen::detail::require_option(net_.input_dim() == net_.output_dim(), "nn::wrapped_network", "net",
                                    "input_dim == output_dim",
                                    fmt::format("{} -> {}", net_.input_dim(), net_.output_dim()));
  }

  Net& net() { return net_; }
  const Net& net() const { return net_; }
  index_t input_dim() const { return net_.input_dim(); }
  index_t output_dim() const { return net_.output_dim(); }
  index_t dim() const { return net_.input_dim(); }
  index_t cond_rows() const { return 1; }  // σ (denoiser) or t (velocity), one per sample
  index_t parameter_count() const { return net_.parameter_count(); }
  typename backend_type::view parameters() { return net_.parameters(); }
  typename backend_type::const_view parameters() const { return net_.parameters(); }
  typename backend_type::view gradients() { return net_.gradients(); }
  void zero_grad() { net_.zero_grad(); }
  /// nn::network_base::defer_shard_sums and flush_shard_sums, where the wrapped network has them.
  void defer_shard_sums(typename backend_type::view grads) const
    requires requires(const Net& n) { n.defer_shard_sums(grads); } { net_.defer_shard_sums(grads); }
  void flush_shard_sums() const requires requires(const Net& n) { n.flush_shard_sums(); } { net_.flush_shard_sums(); }
  decltype(auto) parameter_blocks() const { return net_.parameter_blocks(); }  // named, for checkpoints
  /// The wrapped network's buffers (checkpoints write them beside the parameters).
  auto buffers() const requires requires(const Net& n) { n.buffers(); } { return net_.buffers(); }

 protected:
  Net net_;
};

}  // namespace idemgen::nn
