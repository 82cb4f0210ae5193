// Diffusion-side loss terms (issue 5): DSM, flow matching and CDM's consistency term, each
// against central differences in double, and the generator compositions that use them.
#include <catch2/catch.hpp>

#include <cmath>

#include "idemgen/models/diffusion.hpp"
#include "idemgen/models/flow_matching.hpp"
#include "support/gradcheck.hpp"

namespace idemgen::test {
namespace {

using mlp_t = nn::mlp<cpu>;
using denoiser_t = nn::denoiser<mlp_t>;
using velocity_t = nn::velocity<mlp_t>;

mlp_t small_mlp(std::uint64_t seed) {
  return mlp_t({.input_dim = 2, .output_dim = 2, .hidden = {8, 8}, .act = {nn::activation::silu},
                .cond = {.dim = 4, .kind = nn::embedding_kind::fourier, .fourier_scale = 1.0}},
               seed);
}

/// Value of `term` on batch y with a context seeded by `seed`, and (optionally) its gradient.
template <class Model, class Term, class Metric = metric::squared_l2>
double run_term(const Model& model, const Term& term, const matrix& y, std::uint64_t seed, cpu::view grads = {},
                Metric m = {}) {
  random_stream rng(seed);
  models::step_context<Model, Metric> ctx(model, m, rng);
  matrix scratch_grads(model.parameter_count(), 1);
  ctx.begin(y, grads.data() ? grads : cpu::view(scratch_grads));
  losses::state_t<Term, decltype(ctx)> state{};
  const double v = losses::evaluate(term, ctx, state);
  ctx.finish();
  return v;
}

template <class Model, class Term, class Metric = metric::squared_l2>
void check_term_gradient(Model& model, const Term& term, const matrix& y, Metric m = {}) {
  matrix grads(model.parameter_count(), 1);
  cpu::fill(grads, 0.0);
  const double value = run_term(model, term, y, 11, grads, m);
  CHECK(std::isfinite(value));
  const auto numeric = numerical_gradient([&] { return term.weight * run_term(model, term, y, 11, {}, m); },
                                          model.parameters().data(), model.parameter_count());
  CHECK(relative_error(grads.data(), numeric) < 1e-6);
}

/// (1/n) Σ_j λ(σ_j) Σ_i per_coordinate(D(x; σ)_ij − y_ij) with the context's draws from `seed`
/// (z first, then σ).
template <class PerCoordinate>
double dsm_by_hand(const denoiser_t& den, const matrix& y, std::uint64_t seed, PerCoordinate per_coordinate) {
  random_stream rng(seed);
  const index_t n = y.cols();
  matrix z(2, n), sigma(1, n), x(2, n);
  cpu::fill_normal(z, rng);
  den.schedule().sample_training_level<cpu>(sigma, rng);
  den.schedule().noise<cpu>(y, z, sigma, x);
  denoiser_t::cache c;
  const auto d = den.forward(x, sigma, c);
  double total = 0;
  for (index_t j = 0; j < n; ++j)
    for (index_t i = 0; i < 2; ++i)
      total += den.schedule().loss_weight(sigma(0, j)) * per_coordinate(d(i, j) - y(i, j)) / static_cast<double>(n);
  return total;
}

}  // namespace

TEST_CASE("DSM: value is mean λ(σ)‖D − y‖² and its gradient matches finite differences", "[diffusion][gradcheck]") {
  denoiser_t den(small_mlp(1), schedule::karras{.sigma_data = 0.8});
  const matrix y = random_matrix(2, 7, 2);
  check_term_gradient(den, losses::denoising_score_matching<>{.weight = 0.7}, y);
  // The value by hand, with the same draws (z first, then σ).
  const double expected = dsm_by_hand(den, y, 11, [](double r) { return r * r; });
  CHECK(run_term(den, losses::denoising_score_matching<>{}, y, 11) == Approx(expected).epsilon(1e-12));
}

TEST_CASE("DSM honours the model's metric: l1 is mean λ(σ) Σ|D − y| with a matching gradient, and l1, l2, squared_l2 differ",
          "[diffusion][gradcheck]") {
  denoiser_t den(small_mlp(1), schedule::karras{.sigma_data = 0.8});
  const matrix y = random_matrix(2, 7, 2);
  check_term_gradient(den, losses::denoising_score_matching<>{.weight = 0.7}, y, metric::l1{});
  check_term_gradient(den, losses::denoising_score_matching<>{.weight = 0.7}, y, metric::l2{.smoothing = 1e-3});
  const double l1 = dsm_by_hand(den, y, 11, [](double r) { return std::abs(r); });
  const losses::denoising_score_matching<> dsm{};
  CHECK(run_term(den, dsm, y, 11, {}, metric::l1{}) == Approx(l1).epsilon(1e-12));
  const double v1 = run_term(den, dsm, y, 11, {}, metric::l1{}), v2 = run_term(den, dsm, y, 11, {}, metric::l2{}),
               vsq = run_term(den, dsm, y, 11, {}, metric::squared_l2{});
  CHECK(v1 != v2);
  CHECK(v2 != vsq);
  CHECK(v1 != vsq);
}

TEST_CASE("DSM under the vp schedule: gradient matches finite differences", "[diffusion][gradcheck]") {
  nn::denoiser<mlp_t, schedule::vp> den(small_mlp(3));
  check_term_gradient(den, losses::denoising_score_matching<>{}, random_matrix(2, 5, 4));
}

TEST_CASE("flow matching: value is mean ‖v(x_t, t) − (y − z)‖² and the gradient matches", "[diffusion][gradcheck]") {
  velocity_t vel(small_mlp(5));
  const matrix y = random_matrix(2, 6, 6);
  check_term_gradient(vel, losses::flow_matching<>{.weight = 1.3}, y);
  random_stream rng(11);
  matrix z(2, 6), t(1, 6), x(2, 6);
  cpu::fill_normal(z, rng);
  vel.schedule().sample_training_level<cpu>(t, rng);
  for (index_t j = 0; j < 6; ++j) {
    CHECK(t(0, j) >= 0.0);
    CHECK(t(0, j) <= 1.0);
  }
  vel.schedule().noise<cpu>(y, z, t, x);
  CHECK(x(1, 2) == Approx(t(0, 2) * y(1, 2) + (1 - t(0, 2)) * z(1, 2)));
  velocity_t::cache c;
  const auto v = vel.forward(x, t, c);
  double expected = 0;
  for (index_t e = 0; e < 12; ++e) expected += std::pow(v[e] - (y.data()[e] - z.data()[e]), 2) / 6;
  CHECK(run_term(vel, losses::flow_matching<>{}, y, 11) == Approx(expected).epsilon(1e-12));
}

TEST_CASE("consistency: gradient through h1, h2 and the anchor matches finite differences with the chains fixed",
          "[diffusion][gradcheck]") {
  // CDM App. B.1: the chains x⁽¹⁾, x⁽²⁾ are constants; the gradient is that of
  //   (1/n) Σ ⟨D_θ(x⁽¹⁾; σ') − D_θ(x; σ), D_θ(x⁽²⁾; σ') − D_θ(x; σ)⟩.
  denoiser_t den(small_mlp(7), schedule::karras{.sigma_data = 0.8, .p_mean = -0.5});
  const index_t n = 6;
  const matrix y = random_matrix(2, n, 8);
  const losses::consistency<> term{.weight = 2.0, .epsilon_max = 0.3};
  random_stream rng(12);
  const metric::squared_l2 m;
  using ctx_t = models::step_context<denoiser_t, metric::squared_l2>;
  ctx_t ctx(den, m, rng);
  matrix grads(den.parameter_count(), 1);
  cpu::fill(grads, 0.0);
  ctx.begin(y, grads);
  losses::consistency<>::state<ctx_t> st;
  const double value = losses::evaluate(term, ctx, st);
  CHECK(ctx.finish() == 2);  // h1 and h2 in one call, and the anchor: one backward pass each
  matrix chains(2, 2 * n), to(1, 2 * n), x(2, n), sigma(1, n);
  cpu::copy(st.chains, chains);
  cpu::copy(st.to, to);
  cpu::copy(ctx.noised(term.schedule), x);
  cpu::copy(ctx.level(term.schedule), sigma);
  for (index_t j = 0; j < n; ++j) {
    CHECK(to(0, j) < sigma(0, j));                   // σ' < σ
    CHECK(to(0, j) >= sigma(0, j) - 0.3 - 1e-12);     // σ' >= σ − ε_max
    CHECK(to(0, j) == to(0, j + n));
    CHECK((chains(0, j) != chains(0, j + n)));        // two independent chains
  }
  const auto estimator = [&] {
    denoiser_t::cache c0, c1;
    const auto h0v = den.forward(x, sigma, c0);
    const auto h = den.forward(chains, to, c1);
    double s = 0;
    for (index_t j = 0; j < n; ++j)
      for (index_t i = 0; i < 2; ++i)
        s += (h[i + 2 * j] - h0v[i + 2 * j]) * (h[i + 2 * (j + n)] - h0v[i + 2 * j]);
    return s / static_cast<double>(n);
  };
  CHECK(value == Approx(estimator()).epsilon(1e-12));
  const auto numeric = numerical_gradient([&] { return term.weight * estimator(); }, den.parameters().data(),
                                          den.parameter_count());
  CHECK(relative_error(grads.data(), numeric) < 1e-6);
}

TEST_CASE("consistency: samples at σ <= σ_floor are left out (no upward step)", "[diffusion]") {
  // P_mean far below ln 0.002: every σ is under the floor, so the term is exactly 0 with no gradient.
  nn::denoiser<mlp_t> low(small_mlp(9), schedule::karras{.p_mean = -20, .p_std = 0.1});
  matrix grads(low.parameter_count(), 1);
  cpu::fill(grads, 0.0);
  CHECK(run_term(low, losses::consistency<>{}, random_matrix(2, 4, 1), 3, grads) == 0.0);
  CHECK(cpu::squared_norm(grads) == 0.0);
}

TEST_CASE("diffusion, cdm and flow_matching generators train: the loss falls on a Gaussian", "[diffusion][generator]") {
  const auto data = [](std::uint64_t seed) {
    matrix y = random_matrix(2, 256, seed, 0.5);
    for (index_t j = 0; j < 256; ++j) y(0, j) += 1.0;
    return y;
  };
  const models::generator_options opt{.optimizer = {.lr = 3e-3, .weight_decay = 0.0}, .seed = 1};
  SECTION("diffusion") {
    models::diffusion<mlp_t> gen(denoiser_t(small_mlp(1)), {}, {}, opt);
    double first = 0, last = 0;
    for (int s = 0; s < 200; ++s) {
      const auto r = gen.train_step(data(100 + s));
      REQUIRE(r.finite);
      if (s < 20) first += r.total;
      if (s >= 180) last += r.total;
    }
    CHECK(last < 0.8 * first);
  }
  SECTION("cdm") {
    models::cdm<mlp_t> gen(denoiser_t(small_mlp(2)), {}, {}, opt);
    CHECK(gen.term_names[1] == std::string("consistency"));
    for (int s = 0; s < 20; ++s) REQUIRE(gen.train_step(data(200 + s)).finite);
  }
  SECTION("flow matching") {
    models::flow_matching<mlp_t> gen(velocity_t(small_mlp(3)), {}, {}, opt);
    double first = 0, last = 0;
    for (int s = 0; s < 200; ++s) {
      const auto r = gen.train_step(data(300 + s));
      REQUIRE(r.finite);
      if (s < 20) first += r.total;
      if (s >= 180) last += r.total;
    }
    CHECK(last < 0.8 * first);
  }
}

}  // namespace idemgen::test
