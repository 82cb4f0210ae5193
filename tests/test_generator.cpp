// The generator template, end to end on toy data: short versions of the papers' quality facts
// (fixed seeds, test-sized budgets) and the divergence guard.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>


#include "idemgen/data/toy.hpp"
#include "idemgen/evaluation/mode_coverage.hpp"
#include "idemgen/evaluation/projection_errors.hpp"
#include "idemgen/models/ign.hpp"
#include "idemgen/models/naign.hpp"
#include "idemgen/train/trainer.hpp"
#include "support/gradcheck.hpp"

namespace idemgen::test {

namespace {
using fcpu = backend::cpu<float>;
using net_t = nn::mlp<fcpu>;

net_t toy_net(index_t width, std::uint64_t seed) {
  return net_t({.input_dim = 2, .output_dim = 2, .hidden = {width, width, width}}, seed);
}

std::vector<double> host(fcpu::const_view v) {
  return std::vector<double>(v.data(), v.data() + v.size());
}
}  // namespace

TEST_CASE("NAIGN covers all 8 modes of 8gaussians within a test-sized budget", "[generator][quality]") {
  models::naign<net_t> gen(toy_net(64, 1), {}, {}, {.optimizer = {.lr = 2e-3, .weight_decay = 0}, .seed = 2});
  data::toy_sampler<fcpu> data(data::toy::gaussians8);
  random_stream data_rng(3);
  train::train(gen, 256, [&](fcpu::view x) { data.sample(x, data_rng); },
               {.steps = 600, .progress = false});
  fcpu::matrix z(2, 2000);
  random_stream eval_rng(4);
  fcpu::fill_normal(z, eval_rng);
  const auto it = samplers::recursive(gen.net(), z, 2);
  const auto cov = evaluation::mode_coverage(*data::mixture_of(data::toy::gaussians8), host(it[0]).data(), 2000);
  CHECK(cov.modes_hit == 8);
  CHECK(cov.modes_balanced == 8);
  CHECK(cov.high_quality > 0.2);  // well above chance for this budget; quality runs live in examples/
  // Recursive sampling: a second application is no worse and barely moves the samples.
  const auto cov2 = evaluation::mode_coverage(*data::mixture_of(data::toy::gaussians8), host(it[1]).data(), 2000);
  CHECK(cov2.high_quality >= cov.high_quality - 0.02);
  CHECK(evaluation::idempotence_error(gen.net(), z) < 0.5);  // vs a data spread of ~4
}

TEST_CASE("IGN and NAIGN steps report every term, and NAIGN's terms fall with training", "[generator]") {
  models::ign<net_t> ign(toy_net(32, 1));
  models::naign<net_t> naign(toy_net(32, 1), {}, {}, {.optimizer = {.lr = 3e-3, .weight_decay = 0}});
  CHECK(std::string(models::ign<net_t>::term_names[2]) == "tight");
  CHECK(std::string(models::naign<net_t>::term_names[1]) == "pair");  // IMLE: the pairs of nearest_generated
  data::toy_sampler<fcpu> data(data::toy::moons);
  random_stream rng(5);
  fcpu::matrix x(2, 128);
  data.sample(x, rng);
  const auto r = ign.train_step(x);
  CHECK(r.finite);
  CHECK(r.terms[2] == Approx(-r.terms[1]));  // tight = −idem in value: same D(f(z), f(f(z)))
  CHECK(r.total == Approx(r.terms[0] + r.terms[1] + 0.1 * r.terms[2]));
  const auto first = naign.train_step(x);
  models::naign<net_t>::step_result last;
  for (int k = 0; k < 300; ++k) {
    data.sample(x, rng);
    last = naign.train_step(x);
  }
  CHECK(last.terms[0] < 0.5 * first.terms[0]);  // reconstruction
  CHECK(last.terms[1] < 0.5 * first.terms[1]);  // IMLE
  CHECK(naign.steps() == 301);
}

TEST_CASE("the generator steps its lr schedule: step k uses schedule.at(k), scaled by the guard", "[generator]") {
  const optim::cosine_lr cosine{.lr = 1e-2, .total_steps = 20, .warmup_steps = 4, .min_lr = 1e-4};
  models::ign<net_t> gen(toy_net(16, 1), {}, {}, {.optimizer = {.lr = 5.0, .weight_decay = 0}, .lr_schedule = cosine});
  data::toy_sampler<fcpu> data(data::toy::moons);
  random_stream rng(5);
  fcpu::matrix x(2, 64);
  for (long k = 0; k < 20; ++k) {
    data.sample(x, rng);
    gen.train_step(x);
    CHECK(gen.learning_rate() == Approx(cosine.at(k)));  // the optimizer's own lr (5.0) is not used
  }
  gen.set_lr_scale(0.5);
  gen.train_step(x);
  CHECK(gen.learning_rate() == Approx(0.5 * cosine.at(20)));
}

TEST_CASE("generator rejects data of the wrong dimension and networks that cannot be f", "[generator][errors]") {
  models::naign<net_t> gen(toy_net(8, 1));
  fcpu::matrix x(3, 4);
  CHECK_THROWS_AS(gen.train_step(x), shape_error);
  CHECK_THROWS_AS(models::naign<net_t>(net_t({.input_dim = 2, .output_dim = 3, .hidden = {4}}, 0)),
                  invalid_argument);
  CHECK_THROWS_AS(models::naign<net_t>(net_t({.input_dim = 2, .output_dim = 2, .hidden = {4}, .cond = {.dim = 4}}, 0)),
                  invalid_argument);
}

namespace {
models::ign<net_t> guarded_ign() {
  return models::ign<net_t>(toy_net(8, 1), {}, {}, {.optimizer = {.lr = 1e-3, .weight_decay = 0}});
}
}  // namespace

TEST_CASE("divergence guard: a non-finite step is not applied, state is restored, then it stops",
          "[generator][train]") {
  models::ign<net_t> gen = guarded_ign();
  random_stream rng(1);
  long calls = 0;
  // Good data for 30 steps, then a finite but huge point whose distances overflow float: every
  // later step has a non-finite loss (NaN input itself would be rejected by the network).
  const auto next = [&](fcpu::view out) {
    fcpu::fill_normal(out, rng);
    if (++calls > 30) out[0] = 3e38f;
  };
  CHECK_THROWS_AS(train::train(gen, 16, next, {.steps = 100, .progress = false, .snapshot_every = 10,
                                               .max_recoveries = 3}),
                  numeric_error);
  CHECK(fcpu::all_finite(gen.net().parameters()));  // no NaN reached the weights
  CHECK(gen.steps() == 30);                          // restored to the last good snapshot
  CHECK(gen.lr_scale() == Approx(0.125));            // halved on each of 3 recoveries
}

TEST_CASE("divergence guard: a divergence before the first snapshot restores the optimiser to its zero start",
          "[generator][train]") {
  // The step-0 snapshot is taken before the optimiser has state; restoring it must clear the
  // moments the good and the diverged steps left (they once survived, and the huge gradient in
  // Adam's first moment made every retry diverge whatever the learning rate).
  models::ign<net_t> gen = guarded_ign();
  const fcpu::matrix initial = [&] {
    fcpu::matrix p(gen.net().parameter_count(), 1);
    fcpu::copy(gen.net().parameters(), p);
    return p;
  }();
  random_stream rng(1);
  long calls = 0;
  const auto next = [&](fcpu::view out) {
    fcpu::fill_normal(out, rng);
    if (++calls > 2) out[0] = 3e38f;  // two good steps, then non-finite losses
  };
  CHECK_THROWS_AS(train::train(gen, 16, next, {.steps = 20, .progress = false, .snapshot_every = 10,
                                               .max_recoveries = 0}),
                  numeric_error);
  CHECK(gen.steps() == 0);
  CHECK(gen.optimizer().steps() == 0);
  const auto params = gen.net().parameters();
  double moved = 0, moments = 0;
  for (index_t i = 0; i < params.size(); ++i) moved = std::max(moved, std::abs(double(params[i] - initial.data()[i])));
  for (auto& [name, buffer] : gen.optimizer().named_state())
    for (index_t i = 0; i < buffer.size(); ++i) moments = std::max(moments, std::abs(double(buffer[i])));
  CHECK(moved == 0);
  CHECK(moments == 0);
}

TEST_CASE("divergence guard: a finite loss that explodes by orders of magnitude is a divergence too",
          "[generator][train]") {
  models::ign<net_t> gen = guarded_ign();
  random_stream rng(1);
  long calls = 0;
  // Unit data for 30 steps, then data 10^4 times larger: every loss is finite, and ~10^8 times
  // the last good one.
  const auto next = [&](fcpu::view out) {
    fcpu::fill_normal(out, rng);
    if (++calls > 30) fcpu::scale(out, 1e4f);
  };
  CHECK_THROWS_WITH(train::train(gen, 16, next, {.steps = 100, .progress = false, .snapshot_every = 10,
                                                 .max_recoveries = 2}),
                    Catch::Contains("a loss of") && Catch::Contains("lower the learning rate"));
  CHECK(gen.steps() == 30);
  CHECK(gen.lr_scale() == Approx(0.25));
  // Off (explode_factor 0), the same run trains to the end on the huge data.
  models::ign<net_t> off = guarded_ign();
  rng = random_stream(1);
  calls = 0;
  const auto report = train::train(off, 16, next, {.steps = 40, .progress = false, .snapshot_every = 10,
                                                   .explode_factor = 0});
  CHECK(report.recoveries == 0);
  CHECK(off.steps() == 40);
}

}  // namespace idemgen::test

namespace idemgen::test {
namespace {
// One NAIGN step under optimiser policy P: the parameters move exactly as P's optimiser, built
// from the generator's options, moves them for the gradient the step computed.
template <class P>
void check_policy_step(const typename P::options& opt) {
  using dnet = nn::mlp<cpu>;
  using gen_t = models::generator<dnet, metric::l2, coupling::nearest_generated, models::naign_losses, P>;
  gen_t gen(dnet({.input_dim = 2, .output_dim = 2, .hidden = {8}}, 3), {}, {},
            models::basic_generator_options<typename P::options>{.optimizer = opt, .seed = 4});
  const matrix x = random_matrix(2, 16, 5);
  typename P::template type<cpu> reference(opt);
  matrix before(gen.net().parameter_count(), 1), expected(gen.net().parameter_count(), 1);
  for (int step = 0; step < 3; ++step) {
    cpu::copy(gen.net().parameters(), before);
    const auto r = gen.train_step(x);
    REQUIRE(r.finite);
    cpu::copy(before, expected);
    reference.step(expected, gen.net().gradients());  // the step's gradient is still there
    for (index_t k = 0; k < expected.size(); ++k) CHECK(gen.net().parameters()[k] == expected.data()[k]);
  }
  CHECK(std::string(gen_t::optimizer_policy::name) == P::name);
}
}  // namespace

TEST_CASE("the optimiser is a policy: every model steps with AdamW, Adam, RAdam or SGD as chosen", "[generator][optim]") {
  check_policy_step<optim::use_adamw>({.lr = 1e-2, .weight_decay = 0.01});
  check_policy_step<optim::use_adam>({.lr = 1e-2, .weight_decay = 0.01});
  check_policy_step<optim::use_radam>({.lr = 1e-2});
  check_policy_step<optim::use_sgd>({.lr = 1e-2, .momentum = 0.9});
  check_policy_step<optim::use_sgd>({.lr = 1e-2});
}

}  // namespace idemgen::test
