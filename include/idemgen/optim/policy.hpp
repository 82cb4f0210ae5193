#pragma once
// The optimiser axis of models::generator: a policy names an optimiser family, its options and
// its class for a backend. AdamW is every model's default; any model can take another:
//   models::generator<Net, Metric, Coupling, Losses, optim::use_radam> g(net, {}, {},
//       models::basic_generator_options<optim::radam_options>{.optimizer = {.lr = 1e-3}});
// (LMM trains with RAdam, LMM Table 6.) The policy's name is recorded in checkpoints.

#include <concepts>

#include "idemgen/optim/adam.hpp"
#include "idemgen/optim/radam.hpp"
#include "idemgen/optim/sgd.hpp"

namespace idemgen::optim {

struct use_adamw {
  static constexpr const char* name = "adamw";
  using options = adamw_options;
  template <numeric_backend B>
  using type = adamw<B>;
};
struct use_adam {
  static constexpr const char* name = "adam";
  using options = adam_options;
  template <numeric_backend B>
  using type = adam<B>;
};
struct use_radam {
  static constexpr const char* name = "radam";
  using options = radam_options;
  template <numeric_backend B>
  using type = radam<B>;
};
struct use_sgd {
  static constexpr const char* name = "sgd";
  using options = sgd_options;
  template <numeric_backend B>
  using type = sgd<B>;
};

/// P is an optimiser policy for backend B.
template <class P, class B>
concept policy = requires(typename P::template type<B>& opt, const typename P::options& o,
                          typename B::view params, typename B::const_view grads) {
  { P::name } -> std::convertible_to<const char*>;
  requires std::constructible_from<typename P::template type<B>, const typename P::options&>;
  opt.step(params, grads);
  opt.set_learning_rate(1.0);
  { opt.state_buffers() } -> std::convertible_to<int>;
};

}  // namespace idemgen::optim
