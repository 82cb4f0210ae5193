#pragma once
// velocity: v_θ(x, t) for flow matching — the wrapped network F takes t ∈ [0, 1] itself as its
// conditioning row (F's noise_embedding turns it into features; a Fourier embedding with
// scale ~1–16 suits t). The wrapper carries the schedule (schedule::linear) so that the
// generator and the samplers know the interpolant; it adds no computation.

#include <cstddef>

#include "idemgen/nn/wrapped_network.hpp"
#include "idemgen/schedules/linear.hpp"

namespace idemgen::nn {

template <network Net, class Schedule = schedule::linear>
class velocity : public wrapped_network<Net> {
 public:
  using schedule_type = Schedule;
  using B = typename Net::backend_type;
  using cache = typename Net::cache;

  explicit velocity(Net net, Schedule schedule = {}) : wrapped_network<Net>(std::move(net)), schedule_(schedule) {
    schedule_.validate();
  }

  const Schedule& schedule() const { return schedule_; }

  /// The architecture as JSON (see mlp::describe): v(x, t) = F(x, t).
  std::string describe() const requires requires(const Net& n) { n.describe(); } {
    return fmt::format(R"({{"type": "velocity", "schedule": "{}", "net": {}}})", Schedule::name, this->net_.describe());
  }

  /// v(x, t) for x (dim × batch) and t (1 × batch).
  typename B::const_view forward(typename B::const_view x, typename B::const_view t, cache& c) const {
    return this->net_.forward(x, t, c);
  }
  typename B::const_view backward(cache& c, typename B::const_view dy, typename B::view grads) const {
    return this->net_.backward(c, dy, grads);
  }
  typename B::const_view backward(cache& c, typename B::const_view dy, std::nullptr_t) const {
    return this->net_.backward(c, dy, nullptr);
  }

 private:
  Schedule schedule_;
};

}  // namespace idemgen::nn
