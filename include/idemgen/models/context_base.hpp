#pragma once
// The data side of a step context (models/step_context.hpp adds the calls): the network, the
// metric, the random stream, the data batch, the gradient buffer, the coupling with its state
// and the step's pairs (made at first use, so a method whose terms use none draws nothing for
// them), the unit noise z drawn once per step, and scratch matrices. Buffers persist across
// steps: a step in steady state allocates nothing. Derived is the concrete context (the
// coupling sees it, for its image()).

#include <chrono>
#include <cmath>

#include "idemgen/core/concepts.hpp"
#include "idemgen/core/errors.hpp"
#include "idemgen/couplings/coupling.hpp"
#include "idemgen/distributed/collective.hpp"

namespace idemgen::models {

template <class Derived, class Net, class Metric, class Coupling>
class context_base {
 public:
  using backend_type = typename Net::backend_type;
  using B = backend_type;
  using scalar = typename B::scalar;
  using view = typename B::view;
  using const_view = typename B::const_view;
  using cache = typename Net::cache;
  using coupling_type = Coupling;
  using metric_type = Metric;
  using pairing = idemgen::coupling::pairing<B>;

  context_base(const Net& net, const Metric& metric, random_stream& rng, Coupling c = {})
      : net_(&net), metric_(&metric), rng_(&rng), coupling_(std::move(c)) {}

  const Net& net() const { return *net_; }
  const Metric& metric() const { return *metric_; }
  random_stream& rng() { return *rng_; }
  view grads() const { return grads_; }
  index_t batch() const { return data_.cols(); }
  index_t dim() const { return data_.rows(); }
  /// The step's data batch (the coupling's targets).
  const_view batch_data() const { return data_; }

  /// z ~ s · N(0, I) for the source scale s (1 unless set), the shape of the data batch, drawn
  /// once per step, independent of the pairs (IGN's, NAIGN's and SIGN's idempotence and
  /// tightness sample f(z) from it).
  const_view z() {
    if (!have_z_) {
      z_.resize(dim(), batch());
      B::fill_normal(z_, *rng_, scalar(0), static_cast<scalar>(source_scale_));
      have_z_ = true;
    }
    return z_;
  }
  /// The one-step model's source scale s: f generates from z ~ s · N(0, I) (SIGN: σ_max, the
  /// scale its flow term trains f on).
  double source_scale() const { return source_scale_; }
  void set_source_scale(double s) {
    idemgen::detail::require_option(std::isfinite(s) && s > 0, "step_context", "source_scale", "> 0",
                                    fmt::format("{}", s));
    source_scale_ = s;
  }

  /// The step's (source, target) pairs: from the coupling at first use, or as handed to
  /// begin_on_pairs.
  const pairing& pairs() {
    if (!have_pairs_) {
      if constexpr (idemgen::coupling::policy<Coupling, Derived>) {
        const auto started = std::chrono::steady_clock::now();
        pairs_ = coupling_(static_cast<Derived&>(*this), coupling_state_);
        coupling_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      }
      have_pairs_ = true;
    }
    return pairs_;
  }
  /// Wall-clock seconds spent making pairs since construction (the coupling's share of training:
  /// drawing candidates, their images, costs, the solver, a teacher's ODE). Host time: on a
  /// device backend, kernels the coupling enqueues count only as far as it waits for them (the
  /// OT couplings wait, to copy the costs to the host).
  double coupling_seconds() const { return coupling_seconds_; }
  const Coupling& coupling() const { return coupling_; }
  Coupling& coupling() { return coupling_; }
  idemgen::coupling::state_t<Coupling, B>& coupling_state() { return coupling_state_; }

  /// The other ranks of a data-parallel run, for couplings that search or solve over the global
  /// batch (distributed/collective.hpp); null in a single process and for per-rank couplings.
  distributed::collective* collective() const { return collective_; }
  void set_collective(distributed::collective* c) { collective_ = c; }

  /// The weight of the term now running (losses::evaluate sets it): the one factor every
  /// gradient a term adds through the context is scaled by.
  double term_weight() const { return term_weight_; }
  void set_term_weight(double w) { term_weight_ = w; }

  /// Scratch matrices of dim × batch for the terms (k < 4).
  view scratch(int k) {
    scratch_[k].resize(dim(), batch());
    return scratch_[k];
  }

 protected:
  /// Starts a step on a data batch, accumulating parameter gradients into `grads`.
  void start(const_view data, view grads) {
    data_ = data;
    grads_ = grads;
    have_z_ = have_pairs_ = false;
  }
  /// Starts a step on pairs made elsewhere (stored teacher pairs, say): target is the batch.
  void start_on_pairs(const_view source, const_view target, view grads) {
    idemgen::detail::require_shape("train_step_on_pairs", "source", target.rows(), target.cols(), source.rows(), source.cols());
    start(target, grads);
    pairs_ = {source, target};
    have_pairs_ = true;
  }
  const_view data() const { return data_; }

  const Net* net_;
  const Metric* metric_;
  random_stream* rng_;

 private:
  const_view data_;
  view grads_;
  typename B::matrix z_, scratch_[4];
  Coupling coupling_;
  idemgen::coupling::state_t<Coupling, B> coupling_state_;
  pairing pairs_;
  double source_scale_ = 1.0, coupling_seconds_ = 0, term_weight_ = 1.0;
  distributed::collective* collective_ = nullptr;
  bool have_z_ = false, have_pairs_ = false;
};

}  // namespace idemgen::models
