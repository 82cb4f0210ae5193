#pragma once
// What every optimiser over a flat parameter buffer shares: a step counter and per-parameter
// state buffers sized on the first step, with the checks that the buffers still fit. The state
// is exposed by name so that checkpoints can save and restore it exactly.

#include <algorithm>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "idemgen/core/concepts.hpp"
#include "idemgen/core/errors.hpp"

namespace idemgen::optim {

inline double check_learning_rate(const char* where, double lr) {
  idemgen::detail::require_option(lr >= 0 && lr == lr, where, "lr", "a finite value >= 0",
                         fmt::format("{}", lr));
  return lr;
}

template <numeric_backend B>
class optimizer_state {
 public:
  /// Steps taken so far (bias corrections depend on it).
  long steps() const { return steps_; }
  /// The state buffers by name ("exp_avg", …), for checkpoints.
  std::vector<std::pair<std::string, typename B::view>> named_state() {
    std::vector<std::pair<std::string, typename B::view>> out;
    for (std::size_t k = 0; k < buffers_.size(); ++k) out.emplace_back(names_[k], buffers_[k]);
    return out;
  }
  /// Restores the step counter (buffers are restored through named_state()).
  void set_steps(long steps) { steps_ = steps; }
  /// The names of the first n state buffers (what a checkpoint stores as "optimizer.<name>").
  std::vector<std::string> state_names(int n) const {
    return {names_.begin(), names_.begin() + std::min<std::ptrdiff_t>(n, static_cast<std::ptrdiff_t>(names_.size()))};
  }
  /// Allocates zeroed state for `size` parameters ahead of a restore.
  void prepare(index_t size, int n_buffers) { allocate(size, n_buffers); }

 protected:
  explicit optimizer_state(std::vector<std::string> names = {"momentum_buffer"})
      : names_(std::move(names)) {}

  /// Checks shapes, sizes the state on the first step, counts the step; true on the first.
  bool begin_step(const char* where, typename B::const_view params, typename B::const_view grads,
                  int n_buffers) {
    idemgen::detail::require_shape(where, "grads", params.rows(), params.cols(), grads.rows(), grads.cols());
    if (size_ < 0 || static_cast<int>(buffers_.size()) != n_buffers) allocate(params.size(), n_buffers);
    idemgen::detail::require_dim(where, "params", "size", size_, params.size());
    ++steps_;
    return steps_ == 1;
  }
  typename B::matrix& buffer(int k) { return buffers_[static_cast<std::size_t>(k)]; }

 private:
  void allocate(index_t size, int n_buffers) {
    size_ = size;
    buffers_.resize(static_cast<std::size_t>(n_buffers));
    for (auto& b : buffers_) {
      b.resize(size, 1);
      B::fill(b, typename B::scalar(0));
    }
  }

  std::vector<std::string> names_;
  std::vector<typename B::matrix> buffers_;
  index_t size_ = -1;
  long steps_ = 0;
};

}  // namespace idemgen::optim
