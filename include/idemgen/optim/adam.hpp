#pragma once
// Adam (Kingma & Ba 2015) and AdamW (Loshchilov & Hutter 2019), PyTorch semantics:
//   adam:  g ← g + wd·θ                       (L2 penalty coupled into the moments)
//   adamw: θ ← θ (1 − lr·wd)                  (decay decoupled from the moments)
//   m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²
//   θ ← θ − (lr / (1−β₁ᵗ)) · m / (√v / √(1−β₂ᵗ) + ε)
// One alias per family, as ensmallen does: adam<B> and adamw<B> share the update.

#include <cmath>

#include "idemgen/optim/optimizer_state.hpp"

namespace idemgen::optim {

struct adam_options {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;  // L2, coupled
};

struct adamw_options {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 1e-2;  // decoupled; PyTorch's AdamW default
};

enum class weight_decay_mode { coupled, decoupled };

template <numeric_backend B, weight_decay_mode Mode, class Options>
class adam_type : public optimizer_state<B> {
 public:
  using scalar = typename B::scalar;
  using options_type = Options;

  explicit adam_type(const Options& opt = {})
      : optimizer_state<B>({"exp_avg", "exp_avg_sq"}), opt_(opt) {
    check_learning_rate("adam", opt.lr);
    idemgen::detail::require_option(opt.beta1 >= 0 && opt.beta1 < 1 && opt.beta2 >= 0 && opt.beta2 < 1,
                           "adam", "beta1/beta2", "values in [0, 1)",
                           fmt::format("{}/{}", opt.beta1, opt.beta2));
    idemgen::detail::require_option(opt.eps > 0, "adam", "eps", "> 0", fmt::format("{}", opt.eps));
    idemgen::detail::require_option(opt.weight_decay >= 0, "adam", "weight_decay", ">= 0",
                           fmt::format("{}", opt.weight_decay));
  }

  const Options& options() const { return opt_; }
  /// State buffers a step keeps (exp_avg, exp_avg_sq).
  int state_buffers() const { return 2; }
  double learning_rate() const { return opt_.lr; }
  void set_learning_rate(double lr) { opt_.lr = check_learning_rate("adam", lr); }

  void step(typename B::view params, typename B::const_view grads) {
    this->begin_step("adam::step", params, grads, 2);
    const double t = static_cast<double>(this->steps());
    const double bc1 = 1 - std::pow(opt_.beta1, t), bc2 = 1 - std::pow(opt_.beta2, t);
    const scalar step_size = static_cast<scalar>(opt_.lr / bc1);
    const scalar inv_sqrt_bc2 = static_cast<scalar>(1 / std::sqrt(bc2));
    const scalar b1 = static_cast<scalar>(opt_.beta1), b2 = static_cast<scalar>(opt_.beta2);
    const scalar eps = static_cast<scalar>(opt_.eps);
    const scalar wd = static_cast<scalar>(opt_.weight_decay);
    const scalar decay = static_cast<scalar>(1 - opt_.lr * opt_.weight_decay);
    scalar* p = params.data();
    const scalar* g = grads.data();
    scalar* m = this->buffer(0).data();
    scalar* v = this->buffer(1).data();
    constexpr bool coupled = Mode == weight_decay_mode::coupled;  // a value: device lambdas
    B::parallel_for(params.size(), [=] IDEMGEN_HOST_DEVICE(index_t i) {  // cannot capture in if constexpr
      scalar gi = g[i];
      if (coupled)
        gi += wd * p[i];
      else
        p[i] *= decay;
      m[i] = b1 * m[i] + (scalar(1) - b1) * gi;
      v[i] = b2 * v[i] + (scalar(1) - b2) * gi * gi;
      p[i] -= step_size * m[i] / (std::sqrt(v[i]) * inv_sqrt_bc2 + eps);
    });
  }

 private:
  Options opt_;
};

template <numeric_backend B>
using adam = adam_type<B, weight_decay_mode::coupled, adam_options>;
template <numeric_backend B>
using adamw = adam_type<B, weight_decay_mode::decoupled, adamw_options>;

}  // namespace idemgen::optim
