#pragma once
// What the loss terms of one training step share, for every method: the data batch x, the step's
// coupled pairs (source, target), an independent z ~ N(0, I), and the network calls the terms
// differentiate — each a node of the step's call graph (models/call_graph.hpp), computed at most
// once per step with its own cache:
//   f_x()        f(x)                     reconstruction
//   f_source()   f(source)                pair regression (NAIGN's IMLE, OT-coupled NAIGN)
//   f_z()        u = f(z)                 idempotence, tightness
//   f_f_z()      v = f(u)                 idempotence's frozen outer call, tightness's f(y)
//   f_f_q()      f(v), q = stopgrad f(z)  NAIGN's modified idempotence: the gradient through its
//                                         input trains the call f(q) = v and stops there
//   anchor(s)    model(x_σ, σ)            DSM, flow matching, CDM: x_σ = s.noise(target, source, σ)
//                                         with σ ~ s's training levels (σ passed to the model
//                                         when it takes one)
// and call(input, cond) for any other. A term adds ∂L/∂output into a call under a route
// (full, params_only, input_only); finish() runs one backward sweep for all of them.
//
// A term that uses noise levels holds its schedule as a value (schedule::of_model: the model's
// own); the levels, the noised batch and the anchor are drawn once per step and shared by every
// term with the same schedule (CDM §5: the consistency term starts from DSM's noised point).
// The coupling prices its candidates by image(): f(z) for a one-step model (an inference pass),
// z itself for a model that takes a noise level (OT-CFM compares z with y).

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstring>
#include <type_traits>

#include "idemgen/core/concepts.hpp"
#include "idemgen/couplings/independent.hpp"
#include "idemgen/models/call_graph.hpp"
#include "idemgen/models/context_base.hpp"
#include "idemgen/nn/network.hpp"
#include "idemgen/nn/wrapped_network.hpp"
#include "idemgen/schedules/of_model.hpp"

namespace idemgen::models {

template <class Net, class Metric, class Coupling = coupling::independent>
class step_context : public context_base<step_context<Net, Metric, Coupling>, Net, Metric, Coupling> {
  using base = context_base<step_context<Net, Metric, Coupling>, Net, Metric, Coupling>;
  using base::net_;
  using base::metric_;
  using base::rng_;

 public:
  using backend_type = typename Net::backend_type;
  using B = backend_type;
  using scalar = typename B::scalar;
  using view = typename B::view;
  using const_view = typename B::const_view;
  using cache = typename Net::cache;
  using call = call_ref<const_view>;
  /// True for a model that takes a noise level (nn::denoiser, nn::velocity).
  static constexpr bool takes_level = nn::takes_level<Net>;

  using base::base;
  using base::batch;
  using base::dim;
  using base::pairs;
  using base::z;

  /// Starts a step on data batch x, accumulating parameter gradients into `grads`.
  void begin(const_view x, view grads) {
    this->start(x, grads);
    reset_calls();
  }
  /// Starts a step on pairs made elsewhere; x is the target side.
  void begin_on_pairs(const_view source, const_view target, view grads) {
    this->start_on_pairs(source, target, grads);
    reset_calls();
  }
  /// The backward sweep over the step's calls (once, after the last term). Returns the number
  /// of backward passes it ran.
  int finish() {
    // The shards' gradients are summed once per step, not per call (nn::network_base::
    // defer_shard_sums): T threads then give what T data-parallel ranks give, bit for bit.
    constexpr bool defers = requires(const Net& n, view g) { n.defer_shard_sums(g); n.flush_shard_sums(); };
    if constexpr (defers) {
      struct flush_on_exit {  // also when a backward pass throws (a non-finite value met)
        const Net* net;
        ~flush_on_exit() { net->flush_shard_sums(); }
      } flush{net_};
      net_->defer_shard_sums(this->grads());
      return graph_.backward(*net_, this->grads());
    } else {
      return graph_.backward(*net_, this->grads());
    }
  }
  /// The calls in the step's graph so far (each one forward pass with its activations kept).
  int calls() const { return graph_.size(); }

  /// The data batch x.
  const_view x() const { return this->data(); }
  /// The coupled pairs: source(:, j) (a z) is paired with target(:, j) (an x).
  const_view source() { return pairs().source; }
  const_view target() { return pairs().target; }

  call f_x() { return memo(fx_, [&] { return graph_.add(*net_, x(), {}); }); }
  call f_source() { return memo(fs_, [&] { return graph_.add(*net_, source(), {}); }); }
  call f_z() { return memo(fz_, [&] { return graph_.add(*net_, z(), {}); }); }
  call f_f_z() {
    return memo(ffz_, [&] {
      const call u = f_z();
      return graph_.add(*net_, u.value, {}, u.id);
    });
  }
  call f_f_q() {
    return memo(ffq_, [&] {
      const call v = f_f_z();
      return graph_.add(*net_, v.value, {}, v.id, route::params_only);
    });
  }
  /// Any other call, of a constant input (chains, stored teacher points): a new node each time.
  call call_on(const_view input, const_view cond = {}) { return graph_.add(*net_, input, cond); }

  /// The schedule a term's value names: its own, or the model's for schedule::of_model.
  template <class Schedule>
  const auto& schedule_of(const Schedule& s) const {
    if constexpr (std::is_same_v<Schedule, schedule::of_model>) {
      static_assert(takes_level,
                    "schedule::of_model: the model carries no schedule (it is not an nn::denoiser or "
                    "nn::velocity); give the term a schedule value of its own");
      return net_->schedule();
    } else {
      return s;
    }
  }
  /// One training noise level per sample (σ for karras/vp, t for linear), 1 × batch.
  template <class Schedule>
  const_view level(const Schedule& s) {
    const auto& sch = schedule_of(s);
    claim_levels(sch);
    if (!have_level_) {
      level_.resize(1, batch());
      sch.template sample_training_level<B>(level_, *rng_);
      have_level_ = true;
    }
    return level_;
  }
  /// x_σ = schedule.noise(target, source, level): y + σ z, or t y + (1 − t) z.
  template <class Schedule>
  const_view noised(const Schedule& s) {
    if (!have_noised_) {
      noised_.resize(dim(), batch());
      const const_view unit = source();  // the pairs before σ: a fixed order of draws from the stream
      const const_view lev = level(s);
      schedule_of(s).template noise<B>(target(), unit, lev, noised_);
      have_noised_ = true;
    }
    claim_levels(schedule_of(s));
    return noised_;
  }
  /// model(x_σ, σ) — D(x; σ) or v(x_t, t) — or f(x_σ) for a network without a level.
  template <class Schedule>
  call anchor(const Schedule& s) {
    claim_levels(schedule_of(s));  // also when memoised: a term naming other levels is an error
    return memo(anchor_, [&] {
      const const_view xs = noised(s);  // draws the pairs, then σ
      const const_view lev = level(s);
      return graph_.add(*net_, xs, takes_level ? lev : const_view{});
    });
  }

  /// ∂L/∂output accumulator of a call under route r (zero at first use in the step).
  view gradient(const call& c, route r = route::full) { return graph_.gradient(c.id, r); }
  void add_gradient(const call& c, route r, const_view g, scalar scale = scalar(1)) {
    graph_.add_gradient(c.id, r, g, scale);
  }

  /// f(sources) into `out` without keeping activations, in chunks of up to 4 N columns: wide
  /// enough for efficient GEMMs, small enough that memory stays O(N) rather than O(M). For a
  /// model that takes a noise level, the sources themselves.
  const_view image(const_view sources, view out) {
    if constexpr (takes_level) {
      return sources;
    } else {
      const index_t m = sources.cols();
      const index_t chunk = batch() > 0 ? std::min(m, 4 * batch()) : m;  // before the first step: one chunk
      for (index_t first = 0; first < m; first += chunk) {
        const index_t count = std::min(chunk, m - first);
        const const_view fz = net_->forward(sources.columns(first, count), const_view{}, c_search_);
        B::copy(fz, out.columns(first, count));
      }
      return out;
    }
  }

  /// D(a_j, b_j) averaged over the batch, with grad_a = w · factor · ∂/∂a of that mean for the
  /// running term's weight w (set by losses::evaluate; a term passes only its own factor, e.g.
  /// IGN's ½ or tightness's −1).
  double mean_distance(const_view a, const_view b, view grad_a, double factor = 1.0) {
    per_sample_.resize(1, a.cols());
    const double total = metric_->template evaluate<B>(
        a, b, per_sample_, grad_a, static_cast<scalar>(this->term_weight() * factor / static_cast<double>(a.cols())));
    return total / static_cast<double>(a.cols());
  }
  /// The same for a call's output a = c.value, adding the gradient into c under route r.
  double mean_distance(const call& c, const_view b, route r, double factor = 1.0) {
    const auto g = this->scratch(3);
    const double value = mean_distance(c.value, b, g, factor);
    add_gradient(c, r, g);
    return value;
  }

  /// (1/n) Σ_j w_j D(anchor_j, target_j) under the model's metric, w_j = schedule.loss_weight(
  /// level_j) when `schedule_weighted` and 1 otherwise; adds the running term's weight times
  /// ∂/∂anchor of it into the anchor call. With metric::squared_l2 this is EDM's λ(σ)‖D − y‖² (DSM) and flow matching's
  /// ‖v − (y − z)‖²; another metric gives another loss (l2, l1, pseudo-Huber).
  template <class Schedule>
  double weighted_distance(const Schedule& s, const_view target_values, bool schedule_weighted) {
    const call a = anchor(s);
    idemgen::detail::require_shape("step_context::weighted_distance", "target", a.value.rows(), a.value.cols(), target_values.rows(), target_values.cols());
    per_sample_.resize(1, batch());
    metric_grad_.resize(dim(), batch());
    this->metric().template evaluate<B>(a.value, target_values, per_sample_, metric_grad_,
                                        static_cast<scalar>(this->term_weight() / static_cast<double>(batch())));
    weigh_by_level(schedule_of(s), level(s), gradient(a), schedule_weighted);
    return B::sum(per_sample_) / static_cast<double>(batch());
  }

  // Public only because nvcc forbids device lambdas in private member functions.
  template <class Sched>
  void weigh_by_level(const Sched& sch, const_view lev, view anchor_gradient, bool schedule_weighted) {
    const index_t d = dim();
    const scalar* pm = metric_grad_.data();
    const scalar* pl = lev.data();
    scalar* pg = anchor_gradient.data();
    scalar* ps = per_sample_.data();
    if constexpr (requires { sch.loss_weight(scalar(1)); }) {
      const Sched schedule = sch;
      B::parallel_for(batch(), [=] IDEMGEN_HOST_DEVICE(index_t j) {
        const scalar w = schedule_weighted ? schedule.loss_weight(pl[j]) : scalar(1);
        ps[j] *= w;
        for (index_t i = 0; i < d; ++i) pg[i + j * d] += w * pm[i + j * d];
      });
    } else {  // a schedule without λ(σ) (flow matching's, a Karras grid): unweighted
      (void)pl, (void)ps, (void)sch, (void)schedule_weighted;
      B::parallel_for(batch(), [=] IDEMGEN_HOST_DEVICE(index_t j) {
        for (index_t i = 0; i < d; ++i) pg[i + j * d] += pm[i + j * d];
      });
    }
  }

 private:
  struct memo_slot {
    bool have = false;
    call c;
  };
  template <class Make>
  call memo(memo_slot& slot, Make make) {
    if (!slot.have) {
      slot.c = make();
      slot.have = true;
    }
    return slot.c;
  }
  void reset_calls() {
    graph_.clear();
    fx_ = fs_ = fz_ = ffz_ = ffq_ = anchor_ = memo_slot{};
    have_level_ = have_noised_ = false;
    level_owner_ = nullptr;
    level_compare_ = nullptr;
  }
  // One schedule's levels per step: the noised point is shared, so two terms must agree on it —
  // the same schedule object, or equal values of one schedule type (SIGN's flow and denoise
  // terms each hold a karras_grid). The first claimant's value is copied (schedules are small
  // trivially copyable values), so a temporary schedule is safe to claim with.
  template <class Schedule>
  static bool same_schedule(const void* owner, const void* other) {
    if constexpr (std::equality_comparable<Schedule>)
      return *static_cast<const Schedule*>(owner) == *static_cast<const Schedule*>(other);
    else
      return false;  // no value to compare: only the same object shares the levels
  }
  template <class Schedule>
  void claim_levels(const Schedule& schedule) {
    static_assert(std::is_trivially_copyable_v<Schedule> && sizeof(Schedule) <= sizeof(level_owner_value_),
                  "step_context: a noise schedule is a small trivially copyable value");
    constexpr auto compare = &same_schedule<Schedule>;
    if (level_compare_ == nullptr) {
      std::memcpy(level_owner_value_, &schedule, sizeof(Schedule));
      level_owner_ = &schedule;
      level_compare_ = compare;
      return;
    }
    if (level_owner_ != &schedule && (level_compare_ != compare || !compare(level_owner_value_, &schedule)))
      throw invalid_argument("step_context", "schedule",
                             "one noise schedule per step (terms sharing the noised point name equal "
                             "schedule values, or schedule::of_model)",
                             "two different schedule values");
  }

  call_graph<Net> graph_;
  memo_slot fx_, fs_, fz_, ffz_, ffq_, anchor_;
  typename B::matrix level_, noised_, per_sample_, metric_grad_;
  cache c_search_;
  const void* level_owner_ = nullptr;  // identity only: never dereferenced
  alignas(std::max_align_t) unsigned char level_owner_value_[128];
  bool (*level_compare_)(const void*, const void*) = nullptr;
  bool have_level_ = false, have_noised_ = false;
};

}  // namespace idemgen::models
