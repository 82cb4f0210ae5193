#pragma once
// Stochastic gradient descent with momentum, dampening, Nesterov momentum and L2 weight decay,
// with PyTorch's torch.optim.SGD semantics (the first step seeds the velocity with g):
//   g ← g + wd·θ;  v ← g (step 1) or μ v + (1 − dampening) g;  d = g + μ v (nesterov) or v
//   θ ← θ − lr · d

#include <string>
#include <utility>
#include <vector>

#include "idemgen/optim/optimizer_state.hpp"

namespace idemgen::optim {

struct sgd_options {
  double lr = 1e-3;
  double momentum = 0.0;
  double dampening = 0.0;
  bool nesterov = false;
  double weight_decay = 0.0;
};

template <numeric_backend B>
class sgd : public optimizer_state<B> {
 public:
  using scalar = typename B::scalar;
  using options_type = sgd_options;

  explicit sgd(const sgd_options& opt = {}) : opt_(opt) {
    check_learning_rate("sgd", opt.lr);
    idemgen::detail::require_option(opt.momentum >= 0 && opt.momentum < 1, "sgd", "momentum",
                           "a value in [0, 1)", fmt::format("{}", opt.momentum));
    idemgen::detail::require_option(!opt.nesterov || (opt.momentum > 0 && opt.dampening == 0), "sgd",
                           "nesterov", "momentum > 0 and dampening == 0",
                           fmt::format("momentum {}, dampening {}", opt.momentum, opt.dampening));
    idemgen::detail::require_option(opt.weight_decay >= 0, "sgd", "weight_decay", ">= 0",
                           fmt::format("{}", opt.weight_decay));
  }

  const sgd_options& options() const { return opt_; }
  /// State buffers a step keeps: the velocity, with momentum.
  int state_buffers() const { return opt_.momentum > 0 ? 1 : 0; }
  double learning_rate() const { return opt_.lr; }
  void set_learning_rate(double lr) { opt_.lr = check_learning_rate("sgd", lr); }

  void step(typename B::view params, typename B::const_view grads) {
    const bool first = this->begin_step("sgd::step", params, grads, opt_.momentum > 0 ? 1 : 0);
    scalar* p = params.data();
    const scalar* g = grads.data();
    scalar* v = opt_.momentum > 0 ? this->buffer(0).data() : nullptr;
    const scalar lr = static_cast<scalar>(opt_.lr), wd = static_cast<scalar>(opt_.weight_decay),
                 mu = static_cast<scalar>(opt_.momentum),
                 damp = first ? scalar(0) : static_cast<scalar>(opt_.dampening);
    const bool nesterov = opt_.nesterov;
    B::parallel_for(params.size(), [=] IDEMGEN_HOST_DEVICE(index_t i) {
      scalar d = g[i] + wd * p[i];
      if (v != nullptr) {
        v[i] = first ? d : mu * v[i] + (scalar(1) - damp) * d;
        d = nesterov ? d + mu * v[i] : v[i];
      }
      p[i] -= lr * d;
    });
  }

 private:
  sgd_options opt_;
};

}  // namespace idemgen::optim
