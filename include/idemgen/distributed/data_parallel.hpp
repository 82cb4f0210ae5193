#pragma once
// distributed::data_parallel<Generator, Communicator> — data-parallel training of any generator:
// each of P ranks holds the whole model and trains on its own N data points of a global batch of
// P · N, and every rank applies the same update.
//   - At construction rank 0's parameters are broadcast (so ranks start equal even if their
//     initialisations were not), and the generator's random stream is sharded
//     (random_stream::set_shard): global sample i gets the same noise, level and candidates
//     whether 1 or P ranks draw the batch. shard() does the same for a data stream.
//   - Each step: the generator's first half (terms and backward, generator::compute_gradients),
//     then ONE all-reduce of [flat gradient, term values, total] in the parameters' scalar type —
//     one message, not one per tensor — divided by P, then the generator's second half (clipping
//     on the global norm, optimiser, EMA; generator::apply_gradients).
//   - Couplings that search or solve over the batch (nearest_generated, minibatch_ot) couple
//     each rank's N points by default (coupling_scope::per_rank: no communication, the usual
//     data-parallel choice). coupling_scope::global all-gathers the candidates, their images and
//     (for OT) the data, and every rank searches or solves over the global batch, as one process
//     would: 3 all-gathers of d × M values a step, and for OT a solve P² times as large on every rank.
//   - Deterministic: Communicator::all_reduce_sum sums in rank order (mpi_communicator.hpp). A
//     single process with P batch shards (P threads, N columns each) sums its shards the same way
//     (nn::network_base::defer_shard_sums), so on the CPU in double P ranks of 1 thread give the
//     weights of one process of P threads at the batch P · N bit for bit: for every method whose
//     coupling pairs each sample with its own draws (independent, teacher ODEs, stored pairs),
//     and with coupling_scope::global for the searching ones.
//   - Term values are reported as the mean over ranks of the per-rank means (in the parameters'
//     scalar type: float precision for a float model).
// On a device backend the gradient travels through the host (no CUDA-aware MPI assumed).
// Communicator: rank(), size(), broadcast(T*, n, root), all_reduce_sum(T*, n) — mpi_communicator
// or any other with the same contract (a NCCL one is the GPU analogue).

#include <array>
#include <chrono>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "idemgen/core/errors.hpp"
#include "idemgen/core/rng.hpp"
#include "idemgen/distributed/collective.hpp"

namespace idemgen::distributed {

enum class coupling_scope { per_rank, global };

template <class Generator, class Communicator>
class data_parallel {
  using B = typename Generator::backend_type;
  using S = typename B::scalar;

 public:
  using generator_type = Generator;
  using step_result = typename Generator::step_result;

  data_parallel(Generator& gen, Communicator& comm, coupling_scope scope = coupling_scope::per_rank)
      : gen_(&gen), comm_(&comm) {
    if constexpr (std::is_convertible_v<Communicator*, collective*>)
      if (scope == coupling_scope::global) gen.set_collective(&comm);
    if constexpr (!std::is_convertible_v<Communicator*, collective*>)
      idemgen::detail::require_option(scope == coupling_scope::per_rank, "distributed::data_parallel", "scope",
                                      "per_rank with a communicator that is no distributed::collective", "global");
    auto params = gen.net().parameters();
    if constexpr (on_device) {
      comm.broadcast(params.data(), static_cast<std::int64_t>(params.size()), 0);
    } else {
      message_.resize(static_cast<std::size_t>(params.size()));
      B::copy_to_host(params, message_.data());
      comm.broadcast(message_.data(), static_cast<std::int64_t>(message_.size()), 0);
      B::copy_from_host(message_.data(), params);
    }
    gen.rng().set_shard(comm.rank(), comm.size());
  }

  int rank() const { return comm_->rank(); }
  int size() const { return comm_->size(); }
  Generator& generator() { return *gen_; }
  /// Shards a data stream as the generator's stream is: this rank draws its part of every batch.
  void shard(random_stream& data_stream) const { data_stream.set_shard(comm_->rank(), comm_->size()); }

  /// One step on this rank's part x (dim × N) of the global batch.
  step_result train_step(typename B::const_view x) { return reduce(gen_->compute_gradients(x)); }
  step_result train_step_on_pairs(typename B::const_view source, typename B::const_view target) {
    return reduce(gen_->compute_gradients_on_pairs(source, target));
  }

  /// True on every rank when `flag` is true on any (a signal reached some ranks only).
  bool any(bool flag) { return comm_->max(flag ? 1 : 0) != 0; }

  /// Wall-clock seconds spent in the all-reduce (with its host copies) over all steps so far.
  double communication_seconds() const { return communication_seconds_; }

 private:
  step_result reduce(step_result r) {
    const auto started = std::chrono::steady_clock::now();
    auto grads = gen_->net().gradients();
    const auto n = static_cast<std::size_t>(grads.size());
    const std::size_t terms = r.terms.size();
    message_.resize(n + terms + 1);
    for (std::size_t k = 0; k < terms; ++k) message_[n + k] = static_cast<S>(r.terms[k]);
    message_[n + terms] = static_cast<S>(r.total);
    // The global batch's mean is the mean of the ranks' means (equal shards). For P a power of
    // two the division is exact, so the gradient is bit for bit the single process's.
    const S inverse = S(1) / static_cast<S>(comm_->size());
    if constexpr (on_device) {  // the message stays on the device (NCCL): gradient, then the values
      device_message_.resize(static_cast<index_t>(n + terms + 1), 1);
      const typename B::view whole(device_message_.data(), static_cast<index_t>(n + terms + 1), 1);
      B::copy(grads, typename B::view(device_message_.data(), static_cast<index_t>(n), 1));
      B::copy_from_host(message_.data() + n, typename B::view(device_message_.data() + n, static_cast<index_t>(terms + 1), 1));
      comm_->all_reduce_sum(device_message_.data(), static_cast<std::int64_t>(n + terms + 1));
      B::scale(whole, inverse);
      B::copy(typename B::const_view(device_message_.data(), static_cast<index_t>(n), 1), grads);
      B::copy_to_host(typename B::const_view(device_message_.data() + n, static_cast<index_t>(terms + 1), 1),
                      message_.data() + n);
    } else {
      B::copy_to_host(grads, message_.data());
      comm_->all_reduce_sum(message_.data(), static_cast<std::int64_t>(message_.size()));
      for (S& v : message_) v *= inverse;
      B::copy_from_host(message_.data(), grads);
    }
    for (std::size_t k = 0; k < terms; ++k) r.terms[k] = static_cast<double>(message_[n + k]);
    r.total = static_cast<double>(message_[n + terms]);
    communication_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return gen_->apply_gradients(r);
  }

  // A communicator that declares device_memory (nccl_communicator) takes device pointers.
  static constexpr bool on_device = [] {
    if constexpr (requires { Communicator::device_memory; }) return Communicator::device_memory;
    else return false;
  }();

  Generator* gen_;
  Communicator* comm_;
  std::vector<S> message_;
  typename B::matrix device_message_;
  double communication_seconds_ = 0;
};

}  // namespace idemgen::distributed
