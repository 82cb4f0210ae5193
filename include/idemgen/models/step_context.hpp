#pragma once
// What the loss terms of one training step of a one-step model f share: the network, the
// metric, the random stream, the data batch x, the step's coupled pairs (source, target) and
// the calls of f that several terms reuse — f(x), f(source), u = f(z), v = f(u) and w = f(v) —
// each computed at most once per step with its own cache, so that one term can backpropagate
// through a call with real gradients and another through the same call with the gradient
// stopped (stop-gradient is routing). The coupling prices candidates by their image f(z)
// (image(), an inference pass). Buffers persist across steps: a step in steady state allocates
// nothing.

#include <algorithm>
#include <cstdint>

#include "idemgen/core/concepts.hpp"
#include "idemgen/couplings/independent.hpp"
#include "idemgen/models/context_base.hpp"
#include "idemgen/nn/network.hpp"

namespace idemgen::models {

template <class Net, class Metric, class Coupling = coupling::independent>
class step_context : public context_base<step_context<Net, Metric, Coupling>, Net, Metric, Coupling> {
  using base = context_base<step_context<Net, Metric, Coupling>, Net, Metric, Coupling>;
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
  using base::pairs;
  using base::z;

  /// Starts a step on data batch x, accumulating parameter gradients into `grads`.
  void begin(const_view x, view grads) {
    this->start(x, grads);
    have_fx_ = have_fs_ = have_u_ = have_v_ = have_w_ = false;
  }
  /// Starts a step on pairs made elsewhere; x is the target side.
  void begin_on_pairs(const_view source, const_view target, view grads) {
    this->start_on_pairs(source, target, grads);
    have_fx_ = have_fs_ = have_u_ = have_v_ = have_w_ = false;
  }

  /// The data batch x (z ~ P_z = N(0, I) is z(), from the base; it is independent of the
  /// coupling's sources).
  const_view x() const { return this->data(); }
  /// The coupled pairs: source(:, j) (a z) is paired with target(:, j) (an x).
  const_view source() { return pairs().source; }
  const_view target() { return pairs().target; }
  const_view f_x() { return call(have_fx_, x(), c_fx_, fx_); }
  const_view f_source() { return call(have_fs_, source(), c_fs_, fs_); }
  const_view u() { return call(have_u_, z(), c_u_, u_); }
  const_view v() { return call(have_v_, u(), c_v_, v_); }
  const_view w() { return call(have_w_, v(), c_w_, w_); }
  cache& cache_fx() { return c_fx_; }
  cache& cache_source() { return c_fs_; }
  cache& cache_u() { return c_u_; }
  cache& cache_v() { return c_v_; }
  cache& cache_w() { return c_w_; }

  /// f(sources) into `out` without keeping activations, in chunks of up to 4 N columns: wide
  /// enough for efficient GEMMs (512³ sgemm ran at ~105 GFLOP/s for 512 columns and ~145 for
  /// 2 560 here), small enough that memory stays O(N) rather than O(M).
  const_view image(const_view sources, view out) {
    const index_t m = sources.cols();
    const index_t chunk = std::min(m, 4 * batch());
    for (index_t first = 0; first < m; first += chunk) {
      const index_t count = std::min(chunk, m - first);
      const const_view fz = net_->forward(sources.columns(first, count), const_view{}, c_search_);
      B::copy(fz, out.columns(first, count));
    }
    return out;
  }

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

  const_view fx_, fs_, u_, v_, w_;
  typename B::matrix per_sample_;
  cache c_fx_, c_fs_, c_u_, c_v_, c_w_, c_search_;
  bool have_fx_ = false, have_fs_ = false, have_u_ = false, have_v_ = false, have_w_ = false;
};

}  // namespace idemgen::models
