#pragma once
// Per-term buffers that live as long as a step context (created on first use, then reused),
// keyed by type: a loss term that needs more than scratch space (IMLE's candidates, CDM's
// chains) keeps it here, so that a training step in steady state allocates nothing.

#include <memory>
#include <typeindex>
#include <unordered_map>

namespace idemgen::models {

class term_states {
 public:
  template <class State>
  State& get() {
    auto it = states_.find(std::type_index(typeid(State)));
    if (it == states_.end())
      it = states_.emplace(std::type_index(typeid(State)), std::make_shared<State>()).first;
    return *static_cast<State*>(it->second.get());
  }

 private:
  std::unordered_map<std::type_index, std::shared_ptr<void>> states_;
};

}  // namespace idemgen::models
