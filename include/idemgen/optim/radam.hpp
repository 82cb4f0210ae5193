#pragma once
// RAdam (Liu et al. 2020), PyTorch semantics; LMM trains its generator with it (LMM Table 6).
// With ρ∞ = 2/(1−β₂) − 1 and ρₜ = ρ∞ − 2tβ₂ᵗ/(1−β₂ᵗ), the adaptive step is used only once the
// variance of the adaptive rate is tractable (ρₜ > 5), scaled by the rectification term r; before
// that the update is momentum SGD with bias correction.

#include <cmath>

#include "idemgen/optim/adam.hpp"

namespace idemgen::optim {

/// RAdam's options (Adam's fields; a type of its own so that it names its optimiser).
struct radam_options {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;  // L2, coupled (PyTorch's RAdam default)
};

template <numeric_backend B>
class radam : public optimizer_state<B> {
 public:
  using scalar = typename B::scalar;
  using options_type = radam_options;

  explicit radam(const radam_options& opt = {}) : optimizer_state<B>({"exp_avg", "exp_avg_sq"}),
                                                  opt_(opt) {
    adam<B> validate(adam_options{opt.lr, opt.beta1, opt.beta2, opt.eps, opt.weight_decay});  // Adam's domains
  }

  const radam_options& options() const { return opt_; }
  int state_buffers() const { return 2; }
  double learning_rate() const { return opt_.lr; }
  void set_learning_rate(double lr) { opt_.lr = check_learning_rate("radam", lr); }

  void step(typename B::view params, typename B::const_view grads) {
    this->begin_step("radam::step", params, grads, 2);
    const double t = static_cast<double>(this->steps());
    const double b2t = std::pow(opt_.beta2, t);
    const double bc1 = 1 - std::pow(opt_.beta1, t), bc2 = 1 - b2t;
    const double rho_inf = 2 / (1 - opt_.beta2) - 1;
    const double rho_t = rho_inf - 2 * t * b2t / bc2;
    const bool adaptive = rho_t > 5;
    const double rect =
        adaptive ? std::sqrt((rho_t - 4) * (rho_t - 2) * rho_inf /
                             ((rho_inf - 4) * (rho_inf - 2) * rho_t))
                 : 0.0;
    const scalar step_size = static_cast<scalar>(opt_.lr / bc1 * (adaptive ? rect : 1.0));
    const scalar sqrt_bc2 = static_cast<scalar>(std::sqrt(bc2));
    const scalar b1 = static_cast<scalar>(opt_.beta1), b2 = static_cast<scalar>(opt_.beta2);
    const scalar eps = static_cast<scalar>(opt_.eps), wd = static_cast<scalar>(opt_.weight_decay);
    scalar* p = params.data();
    const scalar* g = grads.data();
    scalar* m = this->buffer(0).data();
    scalar* v = this->buffer(1).data();
    B::parallel_for(params.size(), [=] IDEMGEN_HOST_DEVICE(index_t i) {
      const scalar gi = g[i] + wd * p[i];
      m[i] = b1 * m[i] + (scalar(1) - b1) * gi;
      v[i] = b2 * v[i] + (scalar(1) - b2) * gi * gi;
      p[i] -= adaptive ? step_size * m[i] * sqrt_bc2 / (std::sqrt(v[i]) + eps) : step_size * m[i];
    });
  }

 private:
  radam_options opt_;
};

}  // namespace idemgen::optim
