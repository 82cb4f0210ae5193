#pragma once
// generator<Net, Metric, Schedule, Coupling, Losses>: every method here is one composition of
// these five policies (DESIGN §1). train_step zeroes the gradients, runs the loss terms, clips,
// steps AdamW, updates the EMA, and returns the value of every term.
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
template <class Net, class Metric, class Schedule>
struct context_for {
  using type = noised_step_context<Net, Metric, Schedule>;
};
template <class Net, class Metric>
struct context_for<Net, Metric, schedule::none> {
  using type = step_context<Net, Metric>;
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
  static_assert(std::is_same_v<Coupling, coupling::independent>,
                "generator<..., Coupling, ...>: only coupling::independent exists so far");
  using context_type = typename detail::context_for<Net, Metric, Schedule>::type;
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

  generator(Net net, Losses losses = {}, Metric metric = {}, generator_options options = {})
      : net_(std::move(net)), losses_(std::move(losses)), metric_(std::move(metric)),
        options_(options), optimizer_(options.optimizer),
        ema_(optim::ema_options{.decay = options.ema_decay > 0 ? options.ema_decay : 0.999}),
        rng_(options.seed), context_(net_, metric_, rng_) {
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
    step_result r;
    net_.zero_grad();
    context_.begin(x, net_.gradients());
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

  Net& net() { return net_; }
  const Net& net() const { return net_; }
  const Metric& metric() const { return metric_; }
  Losses& losses() { return losses_; }
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
