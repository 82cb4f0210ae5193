#pragma once
// The step's memoised call graph: every network call that a loss term differentiates is a node
// with its own cache, its output, and gradient accumulators at that output, one per route. Terms
// only add ∂L/∂output into a node under a route; backward() then sweeps the nodes once, newest
// first, running each call's backward pass and handing the input gradient to the node that
// produced the input. Stop-gradient is routing (IGN eq. 4, SIGN eq. 8): it is declared where a
// term adds its gradient, and carried out here, in one place.
//
// A route says where a gradient added at a call's output goes:
//   full          into the call's parameters and on, through its input, to its producer
//   params_only   into the parameters only: the call's input is treated as a constant
//                 (IGN's tightness f(y) with y = stopgrad f(z))
//   input_only    on through the input only: the call is the frozen copy θ′ (IGN's f_θ′(f(z)))
// A node's edge route says how its input gradient lands in its producer (full, or params_only
// for a producer whose own input is a stopped gradient, NAIGN's f(f(q)) with q = stopgrad f(z)).
// Per node the sweep runs one backward pass when only `full` was used and two otherwise (the
// parameter pass and the input pass), the count the hand-written routing needed.

#include <array>
#include <memory>
#include <vector>

#include "idemgen/core/concepts.hpp"
#include "idemgen/core/errors.hpp"

namespace idemgen::models {

enum class route { full = 0, params_only = 1, input_only = 2 };

/// A call in the step's graph: its node and its output (valid until the next step).
template <class ConstView>
struct call_ref {
  int id = -1;
  ConstView value;
};

template <class Net>
class call_graph {
 public:
  using B = typename Net::backend_type;
  using scalar = typename B::scalar;
  using view = typename B::view;
  using const_view = typename B::const_view;
  using call = call_ref<const_view>;

  /// Forgets the previous step's calls; their buffers are kept for reuse.
  void clear() { live_ = 0; }
  int size() const { return live_; }

  /// Runs net(input, cond) as a new node. `producer` is the node whose output `input` is
  /// (-1: a constant, such as data, noise or a stopped gradient), `edge` how the input gradient
  /// reaches it.
  call add(const Net& net, const_view input, const_view cond, int producer = -1, route edge = route::full) {
    if (producer >= live_) throw invalid_argument("call_graph::add", "producer", "an earlier call of this step",
                                                  fmt::format("node {}", producer));
    if (live_ == static_cast<int>(nodes_.size())) nodes_.push_back(std::make_unique<node>());
    node& n = *nodes_[static_cast<std::size_t>(live_)];
    n.output = net.forward(input, cond, n.cache);
    n.producer = producer;
    n.edge = edge;
    n.used = {};
    return {live_++, n.output};
  }

  /// The accumulator for gradients arriving at node `id`'s output under `r` (zero at first use
  /// in the step).
  view gradient(int id, route r) {
    node& n = at(id);
    auto& g = n.gradient[static_cast<int>(r)];
    if (!n.used[static_cast<int>(r)]) {
      g.resize(n.output.rows(), n.output.cols());
      B::fill(g, scalar(0));
      n.used[static_cast<int>(r)] = true;
    }
    return g;
  }
  /// gradient(id, r) += scale · g.
  void add_gradient(int id, route r, const_view g, scalar scale = scalar(1)) { B::axpy(scale, g, gradient(id, r)); }
  typename Net::cache& cache(int id) { return at(id).cache; }

  /// The backward sweep, newest node first: parameter gradients accumulate into `grads`.
  /// Returns the number of backward passes run.
  int backward(const Net& net, view grads) {
    int passes = 0;
    for (int id = live_ - 1; id >= 0; --id) {
      node& n = *nodes_[static_cast<std::size_t>(id)];
      const bool full = n.used[0], params = n.used[1], input = n.used[2];
      const bool passes_on = n.producer >= 0;
      if (full && !params && !(input && passes_on)) {  // the common case: one pass does both
        pass_on(n, net.backward(n.cache, n.gradient[0], grads));
        ++passes;
        continue;
      }
      if (full || params) {
        net.backward(n.cache, combined(n, 1), grads);  // the input gradient is dropped
        ++passes;
      }
      if (passes_on && (full || input)) {
        pass_on(n, net.backward(n.cache, combined(n, 2), nullptr));
        ++passes;
      }
    }
    return passes;
  }

 private:
  struct node {
    typename Net::cache cache;
    const_view output;
    int producer = -1;
    route edge = route::full;
    std::array<typename B::matrix, 3> gradient;  // indexed by route
    std::array<bool, 3> used{};
    typename B::matrix sum;
  };

  node& at(int id) {
    if (id < 0 || id >= live_)
      throw invalid_argument("call_graph", "id", fmt::format("a call of this step (< {})", live_), std::to_string(id));
    return *nodes_[static_cast<std::size_t>(id)];
  }
  // full + the accumulator of route `other` (params_only or input_only), or whichever is used.
  const_view combined(node& n, int other) {
    if (!n.used[other]) return n.gradient[0];
    if (!n.used[0]) return n.gradient[other];
    n.sum.resize(n.output.rows(), n.output.cols());
    B::copy(n.gradient[0], n.sum);
    B::axpy(scalar(1), n.gradient[other], n.sum);
    return n.sum;
  }
  void pass_on(const node& n, const_view input_gradient) {
    if (n.producer >= 0) add_gradient(n.producer, n.edge, input_gradient);
  }

  std::vector<std::unique_ptr<node>> nodes_;
  int live_ = 0;
};

}  // namespace idemgen::models
