#pragma once
// generator<Net, Metric, Coupling, Losses>: every method here is one composition of these
// policies (the noise schedule is a value held by the terms that use noise levels, and by the
// model that is preconditioned on them). train_step zeroes the gradients, runs the loss terms
// on one step context (models/step_context.hpp), runs the context's single backward sweep,
// clips, steps AdamW, updates the EMA, and returns the value of every term. The terms take the
// step's (source, target) pairs from the Coupling (couplings/coupling.hpp), made at first use in
// the step; train_step_on_pairs hands the step pairs made elsewhere.
// Net is a one-step f (IGN, NAIGN: terms of model_kind::one_step) or a model that takes a noise
// level — nn::denoiser<F, karras|vp> or nn::velocity<F, linear> (DSM, FM, CDM: model_kind::
// noised). Named methods are aliases: models/ign.hpp, naign.hpp, diffusion.hpp, flow_matching.hpp.

#include <array>
#include <cmath>
#include <cstdint>
#include <optional>
#include <type_traits>
#include <utility>

#include "idemgen/couplings/coupling.hpp"
#include "idemgen/couplings/independent.hpp"
#include "idemgen/losses/loss_set.hpp"
#include "idemgen/metrics/metric.hpp"
#include "idemgen/models/step_context.hpp"
#include "idemgen/nn/network.hpp"
#include "idemgen/optim/clipping.hpp"
#include "idemgen/optim/ema.hpp"
#include "idemgen/optim/lr_schedule.hpp"
#include "idemgen/optim/policy.hpp"

namespace idemgen::models {

/// A generator's training options; OptimizerOptions is its optimiser policy's options.
template <class OptimizerOptions>
struct basic_generator_options {
  OptimizerOptions optimizer = {.lr = 1e-4, .weight_decay = 0.0};
  /// Learning rate per step; when unset, optimizer.lr throughout.
  std::optional<optim::lr_schedule> lr_schedule = {};
  double clip_grad_norm = 0.0;  // 0 = no clipping (the norm is still computed and reported)
  double ema_decay = 0.0;       // 0 = no EMA of the weights
  std::uint64_t seed = 0;       // the step's random stream (z, IMLE candidates)
  /// One-step models: z ~ source_scale · N(0, I) for the terms that call f(z) (idempotence,
  /// tightness); SIGN generates from σ_max ε, the scale its flow term trains f on (SIGN Thm. 2).
  double source_scale = 1.0;
};
/// The options of a generator with the default optimiser (AdamW).
using generator_options = basic_generator_options<optim::adamw_options>;

namespace detail {
template <class Ctx, class Losses>
struct all_terms_valid : std::false_type {};
template <class Ctx, class... Terms>
struct all_terms_valid<Ctx, losses::set<Terms...>>
    : std::bool_constant<(losses::term<Terms, Ctx> && ...)> {};

// Every term calls the kind of network Net is (checked only once all_terms_valid holds, so that
// T::model exists and the first static_assert alone says what is wrong).
template <class Net, class Losses, losses::model_kind Kind, bool Valid>
struct every_term_is : std::true_type {};
template <class Net, class... Terms, losses::model_kind Kind>
struct every_term_is<Net, losses::set<Terms...>, Kind, true> : std::bool_constant<((Terms::model == Kind) && ...)> {};
}  // namespace detail

template <class Net, class Metric, class Coupling, class Losses, class Optimizer = optim::use_adamw>
class generator {
  static_assert(nn::network<Net>,
                "generator<Net, ...>: Net must satisfy idemgen::nn::network (forward, backward, "
                "parameters, gradients; see include/idemgen/nn/network.hpp)");
  using B = typename Net::backend_type;
  static_assert(metric::distance<Metric, B>,
                "generator<Net, Metric, ...>: Metric must satisfy idemgen::metric::distance "
                "(evaluate and pairwise; see include/idemgen/metrics/metric.hpp)");
  static_assert(optim::policy<Optimizer, B>,
                "generator<..., Optimizer>: Optimizer must be an optimiser policy — optim::use_adamw "
                "(the default), use_adam, use_radam or use_sgd; see include/idemgen/optim/policy.hpp");
  using context_type = step_context<Net, Metric, Coupling>;
  static_assert(idemgen::coupling::policy<Coupling, context_type>,
                "generator<..., Coupling, ...>: Coupling must be a coupling — a static name, a "
                "state<B> template and pairing<B> operator()(context&, state<B>&) const; see "
                "include/idemgen/couplings/coupling.hpp (independent, nearest_generated, minibatch_ot)");
  static constexpr bool terms_valid = detail::all_terms_valid<context_type, Losses>::value;
  static_assert(terms_valid,
                "generator<..., Losses>: Losses must be losses::set<Terms...> where every term "
                "has a static name, a static model (losses::model_kind), a weight and "
                "double operator()(context&) const (or (context&, state&) with a state<Ctx>); see "
                "include/idemgen/losses/loss_set.hpp");
  static_assert(nn::takes_level<Net> ||
                    detail::every_term_is<Net, Losses, losses::model_kind::one_step, terms_valid>::value,
                "generator<Net, ..., Losses>: Net is a one-step network f (it takes no noise level), but "
                "a noised term (dsm, fm, consistency) calls the model with one: wrap the network in "
                "nn::denoiser or nn::velocity, or use one-step terms; see each term's `model`");
  static_assert(!nn::takes_level<Net> ||
                    detail::every_term_is<Net, Losses, losses::model_kind::noised, terms_valid>::value,
                "generator<Net, ..., Losses>: Net takes a noise level (nn::denoiser, nn::velocity), but "
                "a one-step term (rec, pair, idem, tight) calls f without one: use a plain network, "
                "or noised terms; see each term's `model`");

 public:
  using backend_type = B;
  using net_type = Net;
  using const_view = typename B::const_view;
  using view = typename B::view;
  using optimizer_policy = Optimizer;
  using optimizer_type = typename Optimizer::template type<B>;
  using options_type = basic_generator_options<typename Optimizer::options>;
  static constexpr std::size_t term_count = Losses::size;
  static constexpr std::array<const char*, term_count> term_names = Losses::names;

  struct step_result {
    std::array<double, term_count> terms{};  // unweighted value of each term
    double total = 0;                        // Σ weight · term
    double grad_norm = 0;                    // before clipping
    bool finite = true;                      // false: the optimiser step was skipped
  };

  generator(Net net, Losses losses = {}, Metric metric = {}, options_type options = {},
            Coupling coupling = {})
      : net_(std::move(net)), losses_(std::move(losses)), metric_(std::move(metric)),
        options_(options), optimizer_(options.optimizer),
        ema_(optim::ema_options{.decay = options.ema_decay > 0 ? options.ema_decay : 0.999}),
        rng_(options.seed), context_(net_, metric_, rng_, std::move(coupling)) {
    context_.set_source_scale(options.source_scale);
    if constexpr (!nn::takes_level<Net>)
      idemgen::detail::require_option(net_.cond_rows() == 0, "generator", "net",
                                      "an unconditioned network (a one-step f; wrap a conditioned one "
                                      "in nn::denoiser or nn::velocity)",
                                      "a network with a conditioning row");
    idemgen::detail::require_option(net_.input_dim() == net_.output_dim(), "generator", "net",
                                    "input_dim == output_dim (f maps the data space to itself)",
                                    fmt::format("{} -> {}", net_.input_dim(), net_.output_dim()));
  }
  // The context points at members: moving or copying would leave it dangling.
  generator(const generator&) = delete;
  generator& operator=(const generator&) = delete;

  /// One optimisation step on data batch x (dim × batch). A non-finite term or gradient skips
  /// the optimiser step and reports finite = false (the trainer's divergence guard acts on it).
  step_result train_step(const_view x) { return apply_gradients(compute_gradients(x)); }

  /// One optimisation step on pairs made elsewhere: source(:, j) ↔ target(:, j) (both
  /// dim × batch); the coupling is not called, and target is the step's data batch.
  step_result train_step_on_pairs(const_view source, const_view target) {
    return apply_gradients(compute_gradients_on_pairs(source, target));
  }

  /// train_step's first half: the terms' values and their gradient in net().gradients(), no
  /// update. A data-parallel policy (distributed/data_parallel.hpp) all-reduces the gradient
  /// and the values between the halves.
  step_result compute_gradients(const_view x) {
    idemgen::detail::require_dim("generator::train_step", "x", "rows", net_.input_dim(), x.rows());
    net_.zero_grad();
    context_.begin(x, net_.gradients());
    return run_terms();
  }
  step_result compute_gradients_on_pairs(const_view source, const_view target) {
    idemgen::detail::require_dim("generator::train_step_on_pairs", "target", "rows", net_.input_dim(),
                                 target.rows());
    net_.zero_grad();
    context_.begin_on_pairs(source, target, net_.gradients());
    return run_terms();
  }
  /// train_step's second half, on the gradient in net().gradients(): clipping (r.grad_norm is
  /// set here), the optimiser step and the EMA; skipped, with r.finite = false, when r.total or
  /// the gradient is not finite.
  step_result apply_gradients(step_result r) {
    r.grad_norm = options_.clip_grad_norm > 0
                      ? optim::clip_grad_norm<B>(net_.gradients(), options_.clip_grad_norm)
                      : std::sqrt(B::squared_norm(net_.gradients()));
    r.finite = std::isfinite(r.total) && std::isfinite(r.grad_norm);
    if (!r.finite) return r;
    optimizer_.set_learning_rate(lr_scale_ * (options_.lr_schedule
                                                  ? optim::learning_rate_at(*options_.lr_schedule, steps_)
                                                  : options_.optimizer.lr));
    optimizer_.step(net_.parameters(), net_.gradients());
    if (options_.ema_decay > 0) ema_.update(net_.parameters());
    ++steps_;
    return r;
  }

  /// The sources' image in the space a coupling prices pairs in: f(sources) for a one-step
  /// model (an inference pass), the sources themselves for a noised one. For couplings run
  /// outside the step (coupling::ot_pool).
  const_view image(const_view sources, view out) { return context_.image(sources, out); }

  /// The other ranks of a data-parallel run, for couplings that search or solve over the global
  /// batch (nearest_generated, minibatch_ot); null (the default): each rank couples its own part.
  void set_collective(distributed::collective* c) { context_.set_collective(c); }

  Net& net() { return net_; }
  const Net& net() const { return net_; }
  const Metric& metric() const { return metric_; }
  Losses& losses() { return losses_; }
  const Coupling& coupling() const { return context_.coupling(); }
  /// What the coupling measured in this step (minibatch_ot: costs, iterations, convergence).
  const auto& coupling_state() { return context_.coupling_state(); }
  /// Wall-clock seconds the coupling has spent making pairs, over every step so far.
  double coupling_seconds() const { return context_.coupling_seconds(); }
  optimizer_type& optimizer() { return optimizer_; }
  optim::ema<B>& ema() { return ema_; }
  bool has_ema() const { return options_.ema_decay > 0 && ema_.updates() > 0; }
  random_stream& rng() { return rng_; }
  long steps() const { return steps_; }
  void set_steps(long s) { steps_ = s; }
  const options_type& options() const { return options_; }
  /// A factor on every learning rate (the divergence guard lowers it).
  double lr_scale() const { return lr_scale_; }
  void set_lr_scale(double s) { lr_scale_ = s; }
  double learning_rate() const { return optimizer_.learning_rate(); }

 private:
  step_result run_terms() {
    step_result r;
    run_each(r, std::make_index_sequence<term_count>{});
    context_.finish();
    return r;
  }

  template <std::size_t... K>
  void run_each(step_result& r, std::index_sequence<K...>) {
    // losses::evaluate sets each term's weight on the context, which scales the term's
    // gradient; the same weight scales the term's value in the reported total here.
    ((r.terms[K] = losses::evaluate(std::get<K>(losses_.terms), context_, std::get<K>(states_)),
      r.total += std::get<K>(losses_.terms).weight * r.terms[K]),
     ...);
  }

  Net net_;
  Losses losses_;
  typename Losses::template states<context_type> states_;
  Metric metric_;
  options_type options_;
  optimizer_type optimizer_;
  optim::ema<B> ema_;
  random_stream rng_;
  context_type context_;
  long steps_ = 0;
  double lr_scale_ = 1.0;
};

}  // namespace idemgen::models
