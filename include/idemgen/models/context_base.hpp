#pragma once
// What every step context shares (models/step_context.hpp for schedule::none,
// models/noised_step_context.hpp otherwise): the network, the metric, the random stream, the
// data batch, the gradient buffer, the unit noise z drawn once per step, scratch matrices and
// the terms' own buffers. Buffers persist across steps: a step in steady state allocates nothing.

#include "idemgen/core/concepts.hpp"
#include "idemgen/models/term_states.hpp"

namespace idemgen::models {

template <class Net, class Metric>
class context_base {
 public:
  using backend_type = typename Net::backend_type;
  using B = backend_type;
  using scalar = typename B::scalar;
  using view = typename B::view;
  using const_view = typename B::const_view;
  using cache = typename Net::cache;

  context_base(const Net& net, const Metric& metric, random_stream& rng) : net_(&net), metric_(&metric), rng_(&rng) {}

  const Net& net() const { return *net_; }
  const Metric& metric() const { return *metric_; }
  random_stream& rng() { return *rng_; }
  view grads() const { return grads_; }
  index_t batch() const { return data_.cols(); }
  index_t dim() const { return data_.rows(); }

  /// z ~ N(0, I), the shape of the data batch, drawn once per step.
  const_view z() {
    if (!have_z_) {
      z_.resize(dim(), batch());
      B::fill_normal(z_, *rng_);
      have_z_ = true;
    }
    return z_;
  }

  /// A term's own buffers (models/term_states.hpp).
  template <class State>
  State& state() { return states_.template get<State>(); }

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
    have_z_ = false;
  }
  const_view data() const { return data_; }

  const Net* net_;
  const Metric* metric_;
  random_stream* rng_;

 private:
  const_view data_;
  view grads_;
  typename B::matrix z_, scratch_[4];
  term_states states_;
  bool have_z_ = false;
};

}  // namespace idemgen::models
