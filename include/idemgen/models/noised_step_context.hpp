#pragma once
// What the loss terms of one training step of a noised model (denoiser D_θ(x; σ) or velocity
// v_θ(x, t)) share: the coupled pair (z, y) of unit noise and clean data — from the coupling,
// which prices z against y itself (image() is the identity: OT-CFM's z ↔ y assignment) — one
// noise level per sample (σ or t, drawn from the schedule's training distribution after the
// pairs), the noised batch x = schedule.noise(y, z, level),
// and the anchor call model(x, level) with its cache — computed once per step and used by DSM,
// flow matching and CDM's consistency term alike (CDM §5: the consistency term starts from the
// same noised data point as DSM).
//
// Terms do not backpropagate through the anchor themselves: they add ∂L/∂anchor into
// anchor_gradient(), and finish() runs one backward pass for all of them (CDM's anchor gets its
// gradient from two terms for the price of one backward).

#include "idemgen/core/concepts.hpp"
#include "idemgen/couplings/independent.hpp"
#include "idemgen/models/context_base.hpp"
#include "idemgen/nn/network.hpp"

namespace idemgen::models {

namespace detail {
/// λ(level) of σ-schedules, 1 for schedules without one (flow matching).
template <class Schedule, class S>
IDEMGEN_HOST_DEVICE S loss_weight_of(const Schedule& s, S level) {
  if constexpr (requires { s.loss_weight(level); })
    return s.loss_weight(level);
  else
    return S(1);
}
}  // namespace detail

template <class Net, class Metric, class Schedule, class Coupling = coupling::independent>
class noised_step_context
    : public context_base<noised_step_context<Net, Metric, Schedule, Coupling>, Net, Metric, Coupling> {
  using base = context_base<noised_step_context<Net, Metric, Schedule, Coupling>, Net, Metric, Coupling>;
  using base::net_;
  using base::rng_;

 public:
  using backend_type = typename Net::backend_type;
  using B = backend_type;
  using scalar = typename B::scalar;
  using view = typename B::view;
  using const_view = typename B::const_view;
  using cache = typename Net::cache;
  using schedule_type = Schedule;

  using base::base;
  using base::batch;
  using base::dim;
  using base::pairs;

  /// Starts a step on clean batch y, accumulating parameter gradients into `grads`.
  void begin(const_view y, view grads) {
    this->start(y, grads);
    have_level_ = have_noised_ = have_anchor_ = anchor_gradient_used_ = false;
  }
  /// Starts a step on pairs (z, y) made elsewhere (stored teacher pairs, say).
  void begin_on_pairs(const_view z_source, const_view y_target, view grads) {
    this->start_on_pairs(z_source, y_target, grads);
    have_level_ = have_noised_ = have_anchor_ = anchor_gradient_used_ = false;
  }

  /// Backpropagates the accumulated anchor gradient (once) into grads().
  void finish() {
    if (anchor_gradient_used_) net_->backward(c_anchor_, anchor_gradient_, this->grads());
    anchor_gradient_used_ = false;
  }

  const Schedule& schedule() const { return net_->schedule(); }
  /// The coupled pair: clean data y and the unit noise z paired with it (column by column).
  const_view y() { return pairs().target; }
  const_view z() { return pairs().source; }
  /// The coupling compares noise and data directly.
  const_view image(const_view sources, view) const { return sources; }
  /// One training noise level per sample (σ for karras/vp, t for linear), 1 × batch.
  const_view level() {
    if (!have_level_) {
      level_.resize(1, batch());
      schedule().template sample_training_level<B>(level_, *rng_);
      have_level_ = true;
    }
    return level_;
  }
  /// x = schedule.noise(y, z, level): y + σ z, or t y + (1 − t) z.
  const_view noised() {
    if (!have_noised_) {
      noised_.resize(dim(), batch());
      const const_view unit = z();  // the pairs before σ: a fixed order of draws from the stream
      const const_view lev = level();
      schedule().template noise<B>(y(), unit, lev, noised_);
      have_noised_ = true;
    }
    return noised_;
  }
  /// model(noised, level): D(x; σ) or v(x_t, t), with its cache.
  const_view anchor() {
    if (!have_anchor_) {
      const const_view x = noised();  // draws z, then σ
      anchor_ = net_->forward(x, level(), c_anchor_);
      have_anchor_ = true;
    }
    return anchor_;
  }
  /// ∂L/∂anchor accumulator (dim × batch, zero at first use in a step); finish() consumes it.
  view anchor_gradient() {
    if (!anchor_gradient_used_) {
      anchor_gradient_.resize(dim(), batch());
      B::fill(anchor_gradient_, scalar(0));
      anchor_gradient_used_ = true;
    }
    return anchor_gradient_;
  }

  /// (1/n) Σ_j w_j D(anchor_j, target_j) under the model's metric, w_j = schedule.loss_weight(
  /// level_j) when `schedule_weighted` and 1 otherwise; adds weight · ∂/∂anchor of it to
  /// anchor_gradient(). With metric::squared_l2 this is EDM's λ(σ)‖D − y‖² (DSM) and flow
  /// matching's ‖v − (y − z)‖²; another metric gives another loss (l2, l1, pseudo-Huber).
  double weighted_distance(const_view target, bool schedule_weighted, double weight) {
    const const_view a = anchor();
    idemgen::detail::require_shape(target.rows() == a.rows() && target.cols() == a.cols(),
                                   "noised_step_context::weighted_distance", "target",
                                   fmt::format("{}x{}", a.rows(), a.cols()),
                                   fmt::format("{}x{}", target.rows(), target.cols()));
    per_sample_.resize(1, batch());
    metric_grad_.resize(dim(), batch());
    this->metric().template evaluate<B>(a, target, per_sample_, metric_grad_,
                                        static_cast<scalar>(weight / static_cast<double>(batch())));
    const index_t d = dim();
    const scalar* pm = metric_grad_.data();
    const scalar* pl = level().data();
    scalar* pg = anchor_gradient().data();
    scalar* ps = per_sample_.data();
    const Schedule sch = schedule();
    B::parallel_for(batch(), [=] IDEMGEN_HOST_DEVICE(index_t j) {
      const scalar w = schedule_weighted ? detail::loss_weight_of(sch, pl[j]) : scalar(1);
      ps[j] *= w;
      for (index_t i = 0; i < d; ++i) pg[i + j * d] += w * pm[i + j * d];
    });
    return B::sum(per_sample_) / static_cast<double>(batch());
  }

 private:
  const_view anchor_;
  typename B::matrix level_, noised_, anchor_gradient_, per_sample_, metric_grad_;
  cache c_anchor_;
  bool have_level_ = false, have_noised_ = false, have_anchor_ = false,
       anchor_gradient_used_ = false;
};

}  // namespace idemgen::models
