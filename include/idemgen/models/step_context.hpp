#pragma once
// What the loss terms of one training step share: the network, the metric, the random stream,
// the data batch, and the calls of f that several terms reuse — f(x), u = f(z), v = f(u) and
// w = f(v) — each computed at most once per step with its own cache, so that one term can
// backpropagate through a call with real gradients and another through the same call with the
// gradient stopped (DESIGN §4: stop-gradient is routing). Buffers persist across steps: a step
// in steady state allocates nothing.

#include <cstdint>

#include "idemgen/core/concepts.hpp"
#include "idemgen/models/context_base.hpp"
#include "idemgen/nn/network.hpp"

namespace idemgen::models {

template <class Net, class Metric>
class step_context : public context_base<Net, Metric> {
  using base = context_base<Net, Metric>;
  using base::net_;
  using base::metric_;
  using base::rng_;

 public:
  using backend_type = typename Net::backend_type;
  using B = backend_type;
  using scalar = typename B::scalar;
  using view = typename B::view;
  using const_view = typename B::const_view;
  using cache = typename Net::cache;

  using base::base;
  using base::batch;
  using base::z;

  /// Starts a step on data batch x, accumulating parameter gradients into `grads`.
  void begin(const_view x, view grads) {
    this->start(x, grads);
    have_fx_ = have_u_ = have_v_ = have_w_ = false;
  }

  /// The data batch x (z ~ P_z = N(0, I) is z(), from the base).
  const_view x() const { return this->data(); }
  const_view f_x() { return call(have_fx_, x(), c_fx_, fx_); }
  const_view u() { return call(have_u_, z(), c_u_, u_); }
  const_view v() { return call(have_v_, u(), c_v_, v_); }
  const_view w() { return call(have_w_, v(), c_w_, w_); }
  cache& cache_fx() { return c_fx_; }
  cache& cache_u() { return c_u_; }
  cache& cache_v() { return c_v_; }
  cache& cache_w() { return c_w_; }

  /// D(a_j, b_j) averaged over the batch, with grad_a = weight · ∂/∂a of that mean.
  double mean_distance(const_view a, const_view b, view grad_a, double weight) {
    per_sample_.resize(1, a.cols());
    const double total = metric_->template evaluate<B>(
        a, b, per_sample_, grad_a, static_cast<scalar>(weight / static_cast<double>(a.cols())));
    return total / static_cast<double>(a.cols());
  }

 private:
  // The output lives in the call's own cache, valid until that cache runs again (next step).
  const_view call(bool& have, const_view in, cache& c, const_view& out) {
    if (!have) {
      out = net_->forward(in, const_view{}, c);
      have = true;
    }
    return out;
  }

  const_view fx_, u_, v_, w_;
  typename B::matrix per_sample_;
  cache c_fx_, c_u_, c_v_, c_w_;
  bool have_fx_ = false, have_u_ = false, have_v_ = false, have_w_ = false;
};

}  // namespace idemgen::models
