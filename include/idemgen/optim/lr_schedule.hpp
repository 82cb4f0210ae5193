#pragma once
// Learning-rate schedules as value types: `schedule.at(step)` is the rate for the 0-based step.
//   constant_lr     lr
//   linear_warmup   lr · (step + 1) / warmup_steps for step < warmup_steps, then lr
//   cosine_lr       linear warm-up as above, then min_lr + ½(lr − min_lr)(1 + cos(π p)) with
//                   p = (step − warmup) / (total − warmup) clamped to [0, 1] (SGDR without restarts)

#include <algorithm>
#include <cmath>
#include <variant>

#include "idemgen/core/errors.hpp"

namespace idemgen::optim {

struct constant_lr {
  double lr = 1e-3;
  double at(long) const { return lr; }
};

struct linear_warmup {
  double lr = 1e-3;
  long warmup_steps = 1000;
  double at(long step) const {
    if (warmup_steps <= 0 || step >= warmup_steps) return lr;
    return lr * static_cast<double>(step + 1) / static_cast<double>(warmup_steps);
  }
};

struct cosine_lr {
  double lr = 1e-3;
  long total_steps = 10000;
  long warmup_steps = 0;
  double min_lr = 0.0;
  double at(long step) const {
    if (step < warmup_steps) return linear_warmup{lr, warmup_steps}.at(step);
    const long span = std::max(1L, total_steps - warmup_steps);
    const double p = std::clamp(static_cast<double>(step - warmup_steps) / span, 0.0, 1.0);
    return min_lr + 0.5 * (lr - min_lr) * (1 + std::cos(3.141592653589793 * p));
  }
};

using lr_schedule = std::variant<constant_lr, linear_warmup, cosine_lr>;

inline double learning_rate_at(const lr_schedule& s, long step) {
  return std::visit([step](const auto& x) { return x.at(step); }, s);
}

}  // namespace idemgen::optim
