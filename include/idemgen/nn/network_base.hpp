#pragma once
// What every network shares: the flat parameter and gradient buffers with their accessors, and
// the public forward and backward entry points (real gradients or stop-gradient routing) with
// their checks and the split of a large batch into shards over the CPU's threads
// (nn/batch_shards.hpp). A network derives from network_base<Derived, B>, registers its layers in
// layout_, calls allocate_parameters(), and implements, for one shard on one thread,
//   const_view forward_impl(const_view x, const_view cond, cache&) const
//   const_view backward_impl(cache&, const_view dy, scalar* grads /* nullable */) const
// plus `static constexpr const char* name`, input_dim(), output_dim(), cond_rows(), options()
// with `check_finite`, and a cache with `index_t batch` and `batch_shards<cache, B> shards`.

#include <algorithm>
#include <cstddef>
#include <type_traits>
#include <fmt/format.h>
#include <string>
#include <vector>

#include "idemgen/nn/batch_shards.hpp"
#include "idemgen/nn/network.hpp"
#include "idemgen/nn/parameters.hpp"

namespace idemgen::nn {

template <class Derived, numeric_backend B>
class network_base {
 public:
  using backend_type = B;
  using scalar = typename B::scalar;
  using view = typename B::view;
  using const_view = typename B::const_view;

  index_t parameter_count() const { return layout_.size(); }
  const std::vector<parameter_block>& parameter_blocks() const { return layout_.blocks(); }
  view parameters() { return params_; }
  const_view parameters() const { return params_; }
  view gradients() { return grads_; }
  void zero_grad() { B::fill(grads_, scalar(0)); }

  /// The output (output_dim × batch, held by the cache) for input x (input_dim × batch) and, for
  /// a conditioned network, conditioning row cond (1 × batch; empty otherwise).
  template <class Cache>
  const_view forward(const_view x, Cache& c) const {
    return forward(x, const_view{}, c);
  }
  template <class Cache>
  const_view forward(const_view x, const_view cond, Cache& c) const {
    check_input(x, cond, self().options().check_finite);
    c.shards.count = 0;
    if constexpr (std::is_same_v<typename B::space, host_space>)
      if (const int count = detail::shard_count<B>(x.cols(), detail::min_shard_columns_of<Derived>()); count > 1)
        return forward_shards(x, cond, c, count);
    return self().forward_impl(x, cond, c);
  }

  /// Accumulates dL/dθ into `grads` (a parameter_count × 1 buffer, usually gradients()) and
  /// returns dL/dx (input_dim × batch, held by the cache).
  template <class Cache>
  const_view backward(Cache& c, const_view dy, view grads) const {
    check_gradient(c.batch, dy, grads, parameter_count());
    if constexpr (std::is_same_v<typename B::space, host_space>)
      if (c.shards.count > 1) return backward_shards(c, dy, grads.data());
    return self().backward_impl(c, dy, grads.data());
  }
  /// From now until flush_shard_sums(), a sharded backward into `grads` adds into one buffer
  /// per shard, kept across calls, instead of adding (g_0 + g_1 + …) into grads at every call;
  /// the flush then adds the shards' totals once, in shard order. So the step's gradient is
  /// Σ_t (Σ_calls g_t,call): what T processes of one shard each (1 thread, distributed/) would
  /// compute and all-reduce in rank order, bit for bit. The step context brackets every step's
  /// backward sweep with the two calls; a single-thread pass is unchanged.
  void defer_shard_sums(view grads) const {
    deferred_.target = grads.data();
    deferred_.used = 0;
  }
  void flush_shard_sums() const {
    scalar* target = deferred_.target;
    deferred_.target = nullptr;
    const int used = deferred_.used;
    if (target == nullptr || used == 0) return;
    if constexpr (std::is_same_v<typename B::space, host_space>) {  // only host passes split
      add_shard_totals(target, deferred_.grads.data(), parameter_count(), used);
    }
  }

  /// Stop-gradient routing: returns dL/dx and leaves every parameter gradient untouched.
  template <class Cache>
  const_view backward(Cache& c, const_view dy, std::nullptr_t) const {
    check_gradient(c.batch, dy, view{}, 0);
    if constexpr (std::is_same_v<typename B::space, host_space>)
      if (c.shards.count > 1) return backward_shards(c, dy, nullptr);
    return self().backward_impl(c, dy, nullptr);
  }

 protected:
  void allocate_parameters() {
    params_.resize(layout_.size(), 1);
    grads_.resize(layout_.size(), 1);
    zero_grad();
  }
  void check_input(const_view x, const_view cond, bool check_finite) const {
    detail::check_network_input<B>(where("forward"), self().input_dim(), self().cond_rows(), x,
                                   cond, check_finite);
  }

  parameter_layout layout_;
  typename B::matrix params_, grads_;
  // defer_shard_sums: the gradient buffer the deferral is for, one buffer per shard
  // (parameter_count × shards), and how many of them this step has used.
  struct deferred_shard_grads {
    scalar* target = nullptr;
    typename B::matrix grads;
    int used = 0;
  };
  mutable deferred_shard_grads deferred_;

 private:
  const Derived& self() const { return static_cast<const Derived&>(*this); }

  /// Each shard's forward on its own thread and cache; the outputs assembled into one matrix.
  template <class Cache>
  const_view forward_shards(const_view x, const_view cond, Cache& c, int count) const {
    const index_t n = x.cols();
    auto& shards = c.shards;
    shards.count = count;
    c.batch = n;
    shards.caches.resize(static_cast<std::size_t>(count));
    shards.output.resize(self().output_dim(), n);
    detail::run_shards(count, [&](int t) {
      const auto [first, last] = detail::shard_columns(n, count, t);
      const const_view shard_cond = cond.rows() == 0 ? const_view{} : cond.columns(first, last - first);
      const const_view y = self().forward_impl(x.columns(first, last - first), shard_cond,
                                               shards.caches[static_cast<std::size_t>(t)]);
      B::copy(y, view(shards.output).columns(first, last - first));
    });
    return shards.output;
  }

  /// Each shard's backward into its own gradient buffer, then grads += their sum in shard order:
  /// (g_0 + g_1 + …) is added once, so two backward calls still accumulate exactly the sum of
  /// their separate gradients.
  template <class Cache>
  const_view backward_shards(Cache& c, const_view dy, scalar* grads) const {
    auto& shards = c.shards;
    const int count = shards.count;
    const index_t n = c.batch, params = parameter_count();
    shards.dx.resize(self().input_dim(), n);
    const bool defer = grads != nullptr && grads == deferred_.target;
    if (defer && count > deferred_.used) {  // a shard's first pass of the step: its buffer starts at 0
      deferred_.grads.resize(params, std::max(count, static_cast<int>(deferred_.grads.cols())));
      B::fill(view(deferred_.grads.data() + deferred_.used * params, params * (count - deferred_.used), 1), scalar(0));
      deferred_.used = count;
    }
    if (grads != nullptr && !defer) shards.grads.resize(params, count);
    detail::run_shards(count, [&](int t) {
      const auto [first, last] = detail::shard_columns(n, count, t);
      scalar* g = nullptr;
      if (defer) {
        g = deferred_.grads.data() + t * params;  // accumulates across the step's calls
      } else if (grads != nullptr) {
        g = shards.grads.data() + t * params;
        B::fill(view(g, params, 1), scalar(0));
      }
      const const_view dx = self().backward_impl(shards.caches[static_cast<std::size_t>(t)],
                                                 dy.columns(first, last - first), g);
      B::copy(dx, view(shards.dx).columns(first, last - first));
    });
    if (grads != nullptr && !defer) add_shard_totals(grads, shards.grads.data(), params, count);
    return shards.dx;
  }

  /// target[i] += (g_0[i] + g_1[i] + …) over `count` shard buffers of `params` values each, in
  /// shard order. Two shards (two threads) get a loop of their own: with the shard count a
  /// runtime bound, GCC left the general loop scalar (4 % of the FM step, perf).
  static void add_shard_totals(scalar* target, const scalar* g, index_t params, int count) {
    if (count == 2) {
      const scalar* g1 = g + params;
      B::parallel_for(params, [=](index_t i) { target[i] += g[i] + g1[i]; });
      return;
    }
    B::parallel_for(params, [=](index_t i) {
      scalar sum = g[i];
      for (int t = 1; t < count; ++t) sum += g[i + t * params];
      target[i] += sum;
    });
  }

  void check_gradient(index_t batch, const_view dy, const_view grads, index_t count) const {
    detail::check_network_gradient<B>(where("backward"), self().output_dim(), batch, dy, grads,
                                      count);
  }
  // "mlp::forward" etc., built once: the checks run on every call and must not allocate.
  static std::string_view where(std::string_view method) {
    static const std::string forward = std::string(Derived::name) + "::forward";
    static const std::string backward = std::string(Derived::name) + "::backward";
    return method == "forward" ? forward : backward;
  }
};

}  // namespace idemgen::nn
