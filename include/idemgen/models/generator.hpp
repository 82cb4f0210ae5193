#pragma once
// generator<Net, Metric, Schedule, Coupling, Losses>: every method here is one composition of
// these five policies. train_step zeroes the gradients, runs the loss terms, clips, steps AdamW,
// updates the EMA, and returns the value of every term. The terms take the step's (source,
// target) pairs from the Coupling (couplings/coupling.hpp), made at first use in the step;
// train_step_on_pairs hands the step pairs made elsewhere.
// With schedule::none, Net is f itself and the terms see a step_context (f(x), f(z), f(f(z))…);
// with a noise schedule, Net is a model that carries that schedule — nn::denoiser<F, karras|vp>
// or nn::velocity<F, linear> — and the terms see a noised_step_context (y, z, σ or t, the anchor
// call). Named methods are aliases: models/ign.hpp, naign.hpp, diffusion.hpp, flow_matching.hpp.

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
#include "idemgen/models/noised_step_context.hpp"
#include "idemgen/models/step_context.hpp"
#include "idemgen/nn/network.hpp"
#include "idemgen/optim/adam.hpp"
#include "idemgen/optim/clipping.hpp"
#include "idemgen/optim/ema.hpp"
#include "idemgen/optim/lr_schedule.hpp"
#include "idemgen/schedules/none.hpp"

namespace idemgen::models {

struct generator_options {
  optim::adamw_options optimizer = {.lr = 1e-4, .weight_decay = 0.0};
  /// Learning rate per step; when unset, optimizer.lr throughout.
  std::optional<optim::lr_schedule> lr_schedule = {};
  double clip_grad_norm = 0.0;  // 0 = no clipping (the norm is still computed and reported)
  double ema_decay = 0.0;       // 0 = no EMA of the weights
  std::uint64_t seed = 0;       // the step's random stream (z, IMLE candidates)
};

template <class Net, class Metric, class Schedule, class Coupling, class Losses>
class generator;

namespace detail {
template <class Net, class Metric, class Schedule, class Coupling>
struct context_for {
  using type = noised_step_context<Net, Metric, Schedule, Coupling>;
};
template <class Net, class Metric, class Coupling>
struct context_for<Net, Metric, schedule::none, Coupling> {
  using type = step_context<Net, Metric, Coupling>;
};

template <class Net, class Schedule>
constexpr bool carries_schedule() {
  if constexpr (std::is_same_v<Schedule, schedule::none>) return true;
  else if constexpr (requires { typename Net::schedule_type; })
    return std::is_same_v<typename Net::schedule_type, Schedule>;
  else return false;
}

template <class Ctx, class Losses>
struct all_terms_valid : std::false_type {};
template <class Ctx, class... Terms>
struct all_terms_valid<Ctx, losses::set<Terms...>>
    : std::bool_constant<(losses::term<Terms, Ctx> && ...)> {};
}  // namespace detail

template <class Net, class Metric, class Schedule, class Coupling, class Losses>
class generator {
  static_assert(nn::network<Net>,
                "generator<Net, ...>: Net must satisfy idemgen::nn::network (forward, backward, "
                "parameters, gradients; see include/idemgen/nn/network.hpp)");
  using B = typename Net::backend_type;
  static_assert(metric::distance<Metric, B>,
                "generator<Net, Metric, ...>: Metric must satisfy idemgen::metric::distance "
                "(evaluate and pairwise; see include/idemgen/metrics/metric.hpp)");
  static_assert(detail::carries_schedule<Net, Schedule>(),
                "generator<Net, Metric, Schedule, ...>: with a noise schedule, Net must be a model "
                "that carries that same schedule — nn::denoiser<F, Schedule> (schedule::karras, "
                "schedule::vp) or nn::velocity<F, Schedule> (schedule::linear); see "
                "include/idemgen/nn/denoiser.hpp and velocity.hpp");
  using context_type = typename detail::context_for<Net, Metric, Schedule, Coupling>::type;
  static_assert(idemgen::coupling::policy<Coupling, context_type>,
                "generator<..., Coupling, ...>: Coupling must be a coupling — a static name, a "
                "state<B> template and pairing<B> operator()(context&, state<B>&) const; see "
                "include/idemgen/couplings/coupling.hpp (independent, nearest_generated, minibatch_ot)");
  static_assert(detail::all_terms_valid<context_type, Losses>::value,
                "generator<..., Losses>: Losses must be losses::set<Terms...> where every term "
                "has a static name and double operator()(context&) const for this schedule's "
                "context — step_context for schedule::none (IGN/NAIGN terms), "
                "noised_step_context otherwise (dsm, fm, consistency); see "
                "include/idemgen/losses/loss_set.hpp");

 public:
  using backend_type = B;
  using net_type = Net;
  using const_view = typename B::const_view;
  static constexpr std::size_t term_count = Losses::size;
  static constexpr std::array<const char*, term_count> term_names = Losses::names;

  struct step_result {
    std::array<double, term_count> terms{};  // unweighted value of each term
    double total = 0;                        // Σ weight · term
    double grad_norm = 0;                    // before clipping
    bool finite = true;                      // false: the optimiser step was skipped
  };

  generator(Net net, Losses losses = {}, Metric metric = {}, generator_options options = {},
            Coupling coupling = {})
      : net_(std::move(net)), losses_(std::move(losses)), metric_(std::move(metric)),
        options_(options), optimizer_(options.optimizer),
        ema_(optim::ema_options{.decay = options.ema_decay > 0 ? options.ema_decay : 0.999}),
        rng_(options.seed), context_(net_, metric_, rng_, std::move(coupling)) {
    if constexpr (std::is_same_v<Schedule, schedule::none>)
      idemgen::detail::require_option(net_.cond_rows() == 0, "generator", "net",
                                      "an unconditioned network (schedule::none)",
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
  step_result train_step(const_view x) {
    idemgen::detail::require_dim("generator::train_step", "x", "rows", net_.input_dim(), x.rows());
    net_.zero_grad();
    context_.begin(x, net_.gradients());
    return run_terms();
  }

  /// One optimisation step on pairs made elsewhere: source(:, j) ↔ target(:, j) (both
  /// dim × batch); the coupling is not called, and target is the step's data batch.
  step_result train_step_on_pairs(const_view source, const_view target) {
    idemgen::detail::require_dim("generator::train_step_on_pairs", "target", "rows", net_.input_dim(),
                                 target.rows());
    net_.zero_grad();
    context_.begin_on_pairs(source, target, net_.gradients());
    return run_terms();
  }

  Net& net() { return net_; }
  const Net& net() const { return net_; }
  const Metric& metric() const { return metric_; }
  Losses& losses() { return losses_; }
  const Coupling& coupling() const { return context_.coupling(); }
  /// What the coupling measured in this step (minibatch_ot: costs, iterations, convergence).
  const auto& coupling_state() { return context_.coupling_state(); }
  optim::adamw<B>& optimizer() { return optimizer_; }
  optim::ema<B>& ema() { return ema_; }
  bool has_ema() const { return options_.ema_decay > 0 && ema_.updates() > 0; }
  random_stream& rng() { return rng_; }
  long steps() const { return steps_; }
  void set_steps(long s) { steps_ = s; }
  const generator_options& options() const { return options_; }
  /// A factor on every learning rate (the divergence guard lowers it).
  double lr_scale() const { return lr_scale_; }
  void set_lr_scale(double s) { lr_scale_ = s; }
  double learning_rate() const { return optimizer_.learning_rate(); }

 private:
  step_result run_terms() {
    step_result r;
    std::size_t k = 0;
    std::apply(
        [&](const auto&... term) {
          ((r.terms[k] = term(context_), r.total += term.weight * r.terms[k], ++k), ...);
        },
        losses_.terms);
    if constexpr (requires { context_.finish(); }) context_.finish();
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

  Net net_;
  Losses losses_;
  Metric metric_;
  generator_options options_;
  optim::adamw<B> optimizer_;
  optim::ema<B> ema_;
  random_stream rng_;
  context_type context_;
  long steps_ = 0;
  double lr_scale_ = 1.0;
};

}  // namespace idemgen::models
