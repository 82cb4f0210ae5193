#pragma once
// Exponential moving average of the weights, θ̄ ← d θ̄ + (1 − d) θ, started at θ̄ = θ on the first
// update. With warmup the decay is min(d, (1 + t)/(10 + t)) after t updates (the schedule of
// TensorFlow's ExponentialMovingAverage with num_updates), so early averages are not dominated
// by the random initialisation. Evaluate with the average by copying it into a network's
// parameters (copy_to), never by training on it.

#include <algorithm>

#include "idemgen/core/concepts.hpp"
#include "idemgen/core/errors.hpp"

namespace idemgen::optim {

struct ema_options {
  double decay = 0.999;
  bool warmup = false;
};

template <numeric_backend B>
class ema {
 public:
  using scalar = typename B::scalar;

  explicit ema(const ema_options& opt = {}) : opt_(opt) {
    idemgen::detail::require_option(opt.decay >= 0 && opt.decay <= 1, "ema", "decay", "a value in [0, 1]",
                           fmt::format("{}", opt.decay));
  }

  /// The decay the next update will use.
  double current_decay() const {
    const double t = static_cast<double>(updates_);
    return opt_.warmup ? std::min(opt_.decay, (1 + t) / (10 + t)) : opt_.decay;
  }

  void update(typename B::const_view params) {
    if (updates_ == 0) {
      shadow_.resize(params.rows(), params.cols());
      B::copy(params, shadow_);
    } else {
      idemgen::detail::require_dim("ema::update", "params", "size", shadow_.size(), params.size());
      const scalar d = static_cast<scalar>(current_decay());
      scalar* s = shadow_.data();
      const scalar* p = params.data();
      B::parallel_for(params.size(), [=] IDEMGEN_HOST_DEVICE(index_t i) { s[i] = d * s[i] + (scalar(1) - d) * p[i]; });
    }
    ++updates_;
  }

  long updates() const { return updates_; }
  void set_updates(long n) { updates_ = n; }
  typename B::const_view average() const { return shadow_; }
  typename B::view average() { return shadow_; }
  void copy_to(typename B::view params) const {
    if (updates_ == 0)
      throw invalid_argument("ema::copy_to", "ema", "at least one update", "no updates yet");
    B::copy(shadow_, params);
  }

 private:
  ema_options opt_;
  typename B::matrix shadow_;
  long updates_ = 0;
};

}  // namespace idemgen::optim
