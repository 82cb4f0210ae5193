#pragma once
// What the loss terms of one training step of a noised model (denoiser D_θ(x; σ) or velocity
// v_θ(x, t)) share: the clean batch y, the unit noise z, one noise level per sample (σ or t, drawn
// from the schedule's training distribution), the noised batch x = schedule.noise(y, z, level),
// and the anchor call model(x, level) with its cache — computed once per step and used by DSM,
// flow matching and CDM's consistency term alike (CDM §5: the consistency term starts from the
// same noised data point as DSM).
//
// Terms do not backpropagate through the anchor themselves: they add ∂L/∂anchor into
// anchor_gradient(), and finish() runs one backward pass for all of them (CDM's anchor gets its
// gradient from two terms for the price of one backward).

#include "idemgen/core/concepts.hpp"
#include "idemgen/models/term_states.hpp"
#include "idemgen/nn/network.hpp"

namespace idemgen::models {

template <class Net, class Metric, class Schedule>
class noised_step_context {
 public:
  using backend_type = typename Net::backend_type;
  using B = backend_type;
  using scalar = typename B::scalar;
  using view = typename B::view;
  using const_view = typename B::const_view;
  using cache = typename Net::cache;
  using schedule_type = Schedule;

  noised_step_context(const Net& net, const Metric& metric, random_stream& rng)
      : net_(&net), metric_(&metric), rng_(&rng) {}

  /// Starts a step on clean batch y, accumulating parameter gradients into `grads`.
  void begin(const_view y, view grads) {
    y_ = y;
    grads_ = grads;
    have_z_ = have_level_ = have_noised_ = have_anchor_ = anchor_gradient_used_ = false;
  }

  /// Backpropagates the accumulated anchor gradient (once) into grads().
  void finish() {
    if (anchor_gradient_used_) net_->backward(c_anchor_, anchor_gradient_, grads_);
    anchor_gradient_used_ = false;
  }

  const Net& net() const { return *net_; }
  const Schedule& schedule() const { return net_->schedule(); }
  const Metric& metric() const { return *metric_; }
  random_stream& rng() { return *rng_; }
  view grads() const { return grads_; }
  const_view y() const { return y_; }
  index_t batch() const { return y_.cols(); }
  index_t dim() const { return y_.rows(); }

  /// z ~ N(0, I), the shape of y, drawn once per step.
  const_view z() {
    if (!have_z_) {
      z_.resize(dim(), batch());
      B::fill_normal(z_, *rng_);
      have_z_ = true;
    }
    return z_;
  }
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
      const const_view unit = z();  // z before σ: a fixed order of draws from the stream
      const const_view lev = level();
      schedule().template noise<B>(y_, unit, lev, noised_);
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

  /// (1/n) Σ_j w_j ‖anchor_j − target_j‖², w_j = schedule.loss_weight(level_j) when
  /// `schedule_weighted` and 1 otherwise; adds weight · ∂/∂anchor of it to anchor_gradient().
  double weighted_squared_error(const_view target, bool schedule_weighted, double weight) {
    const const_view a = anchor();
    idemgen::detail::require_shape(target.rows() == a.rows() && target.cols() == a.cols(),
                                   "noised_step_context::weighted_squared_error", "target",
                                   fmt::format("{}x{}", a.rows(), a.cols()),
                                   fmt::format("{}x{}", target.rows(), target.cols()));
    per_sample_.resize(1, batch());
    const index_t d = dim();
    const scalar* pa = a.data();
    const scalar* pt = target.data();
    const scalar* pl = level().data();
    scalar* pg = anchor_gradient().data();
    scalar* ps = per_sample_.data();
    const Schedule sch = schedule();
    const scalar g = static_cast<scalar>(2 * weight / static_cast<double>(batch()));
    B::parallel_for(batch(), [=](index_t j) {
      scalar w = 1;
      if constexpr (requires { sch.loss_weight(scalar(1)); })
        if (schedule_weighted) w = sch.loss_weight(pl[j]);
      scalar sum = 0;
      for (index_t i = 0; i < d; ++i) {
        const scalar r = pa[i + j * d] - pt[i + j * d];
        sum += r * r;
        pg[i + j * d] += g * w * r;
      }
      ps[j] = w * sum;
    });
    return B::sum(per_sample_) / static_cast<double>(batch());
  }

  /// A term's own buffers (models/term_states.hpp).
  template <class State>
  State& state() { return states_.template get<State>(); }

  /// Scratch matrices of dim × batch for the terms (k < 4).
  view scratch(int k) {
    scratch_[k].resize(dim(), batch());
    return scratch_[k];
  }

 private:
  const Net* net_;
  const Metric* metric_;
  random_stream* rng_;
  const_view y_, anchor_;
  view grads_;
  typename B::matrix z_, level_, noised_, anchor_gradient_, per_sample_, scratch_[4];
  cache c_anchor_;
  term_states states_;
  bool have_z_ = false, have_level_ = false, have_noised_ = false, have_anchor_ = false,
       anchor_gradient_used_ = false;
};

}  // namespace idemgen::models
