// Diffusion building blocks (issue 5, first part): EDM schedule and preconditioning, the
// denoiser wrapper's gradients, and the PF-ODE samplers against closed forms.
#include <catch2/catch.hpp>

#include <cmath>

#include "idemgen/evaluation/mixture_denoiser.hpp"
#include "idemgen/nn/denoiser.hpp"
#include "idemgen/samplers/flow_ode.hpp"
#include "idemgen/samplers/pf_ode.hpp"
#include "idemgen/samplers/reverse_sde.hpp"
#include "idemgen/schedules/linear.hpp"
#include "idemgen/schedules/vp.hpp"
#include "support/gradcheck.hpp"

namespace idemgen::test {

TEST_CASE("karras steps match EDM's 18-step grid", "[diffusion]") {
  const auto s = schedule::karras{}.steps(18);
  REQUIRE(s.size() == 19);
  CHECK(s[0] == Approx(80.0));
  CHECK(s[1] == Approx(57.586).epsilon(1e-4));
  CHECK(s[2] == Approx(40.786).epsilon(1e-4));
  CHECK(s[5] == Approx(12.910).epsilon(1e-4));
  CHECK(s[17] == Approx(0.002));
  CHECK(s[18] == 0.0);
  CHECK(schedule::karras{}.steps(40)[1] == Approx(69.451).epsilon(1e-4));
  CHECK_THROWS_AS(schedule::karras{.sigma_min = 0}.steps(5), invalid_argument);
}

TEST_CASE("preconditioning: c_skip → 1, c_out → 0 as σ → 0, and λ = 1/c_out²", "[diffusion]") {
  const schedule::karras k;
  for (double s : {1e-6, 0.01, 0.3, 5.0, 80.0}) CHECK(k.loss_weight(s) == Approx(1 / (k.c_out(s) * k.c_out(s))));
  CHECK(k.c_skip(1e-8) == Approx(1.0));
  CHECK(k.c_out(1e-8) < 1e-7);
  CHECK(k.c_skip(0.5) == Approx(0.5));  // σ = σ_d: half skip
}

TEST_CASE("the training σ is log-normal with EDM's P_mean and P_std", "[diffusion]") {
  cpu::matrix sigma(1, 20000);
  random_stream rng(4);
  schedule::karras{}.sample_training_level<cpu>(sigma, rng);
  double m = 0, v = 0;
  for (index_t j = 0; j < sigma.cols(); ++j) m += std::log(sigma(0, j));
  m /= sigma.cols();
  for (index_t j = 0; j < sigma.cols(); ++j) v += std::pow(std::log(sigma(0, j)) - m, 2);
  CHECK(m == Approx(-1.2).margin(0.03));
  CHECK(std::sqrt(v / sigma.cols()) == Approx(1.2).margin(0.03));
}

namespace {
nn::denoiser<nn::mlp<cpu>> small_denoiser() {
  return nn::denoiser<nn::mlp<cpu>>(nn::mlp<cpu>(
      {.input_dim = 2, .output_dim = 2, .hidden = {8, 8}, .act = {nn::activation::silu}, .cond = {.dim = 4}}, 1));
}
}  // namespace

TEST_CASE("denoiser: D(x, σ) → x as σ → 0", "[diffusion]") {
  auto den = small_denoiser();
  const matrix x = random_matrix(2, 5, 1);
  matrix sigma(1, 5);
  cpu::fill(sigma, 1e-7);
  decltype(den)::cache c;
  const auto y = den.forward(x, sigma, c);
  for (index_t e = 0; e < x.size(); ++e) CHECK(y[e] == Approx(x.data()[e]).margin(1e-6));
}

TEST_CASE("denoiser: parameter and input gradients match finite differences", "[diffusion][gradcheck]") {
  auto den = small_denoiser();
  matrix x = random_matrix(2, 6, 2);
  matrix sigma(1, 6);
  for (index_t j = 0; j < 6; ++j) sigma(0, j) = 0.05 * std::pow(3.0, static_cast<double>(j));  // 0.05 … 12
  const matrix w = random_matrix(2, 6, 3);
  decltype(den)::cache c;
  den.net().zero_grad();
  den.forward(x, sigma, c);
  const auto dx = den.backward(c, w, den.net().gradients());
  matrix analytic_dx(2, 6);
  cpu::copy(dx, analytic_dx);
  const auto loss = [&] {
    decltype(den)::cache lc;
    return weighted_sum(w, den.forward(x, sigma, lc));
  };
  CHECK(relative_error(den.net().gradients().data(),
                       numerical_gradient(loss, den.net().parameters().data(), den.net().parameter_count())) < 1e-6);
  CHECK(relative_error(analytic_dx.data(), numerical_gradient(loss, x.data(), x.size())) < 1e-6);
}

TEST_CASE("mixture denoiser of one Gaussian is the linear shrinkage μ + s²/(s²+σ²)(x − μ)", "[diffusion]") {
  evaluation::mixture_denoiser<cpu> den({1.0, -2.0}, {0.5, 2.0}, {1.0}, 2);
  matrix x = random_matrix(2, 4, 5, 3.0), sigma(1, 4), out(2, 4);
  cpu::fill(sigma, 1.5);
  den(x, sigma, out);
  for (index_t j = 0; j < 4; ++j) {
    CHECK(out(0, j) == Approx(1.0 + 0.25 / (0.25 + 2.25) * (x(0, j) - 1.0)));
    CHECK(out(1, j) == Approx(-2.0 + 4.0 / (4.0 + 2.25) * (x(1, j) + 2.0)));
  }
}

TEST_CASE("Heun on an exact Gaussian denoiser converges to the closed-form PF-ODE map (2nd order)",
          "[diffusion][samplers]") {
  // Target N(μ, s²) with s = 1: the ODE map from σ_max is y = μ + (x_T − μ) s / √(s² + σ_max²)
  // (Heun-18 is off by ~4.5 %, 40 steps ~0.8 %, 100 steps ~0.1 %).
  const double mu = 0.7, s = 1.0;
  evaluation::mixture_denoiser<cpu> den({mu}, {s}, {1.0}, 1);
  const schedule::karras k;
  matrix z = random_matrix(1, 64, 6);
  const auto relative_error_at = [&](int steps, samplers::ode_method m, int* nfe) {
    matrix x(1, 64);
    for (index_t j = 0; j < 64; ++j) x(0, j) = k.sigma_max * z(0, j);
    *nfe = samplers::pf_ode<cpu>(den, k.steps(steps), m, x);
    double worst = 0;
    for (index_t j = 0; j < 64; ++j) {
      const double exact = mu + (k.sigma_max * z(0, j) - mu) * s / std::sqrt(s * s + k.sigma_max * k.sigma_max);
      worst = std::max(worst, std::abs((x(0, j) - mu) / (exact - mu) - 1));
    }
    return worst;
  };
  int nfe = 0;
  const double e18 = relative_error_at(18, samplers::ode_method::heun, &nfe);
  CHECK(nfe == 35);
  const double e40 = relative_error_at(40, samplers::ode_method::heun, &nfe);
  CHECK(nfe == 79);
  const double e100 = relative_error_at(100, samplers::ode_method::heun, &nfe);
  CHECK(e18 < 0.06);
  CHECK(e40 < 0.012);
  CHECK(e100 < 0.002);
  CHECK(e40 < e18 / 3);  // second order in the step count
  const double euler40 = relative_error_at(40, samplers::ode_method::euler, &nfe);
  CHECK(nfe == 40);
  CHECK(euler40 > 5 * e40);
}

TEST_CASE("pf_ode records the trajectory and rejects a non-decreasing σ grid", "[diffusion][samplers]") {
  evaluation::mixture_denoiser<cpu> den({0.0, 0.0}, {1.0, 1.0}, {1.0}, 2);
  matrix x = random_matrix(2, 3, 1, 80.0);
  std::vector<cpu::matrix> traj;
  samplers::pf_ode<cpu>(den, schedule::karras{}.steps(5), samplers::ode_method::heun, x, &traj);
  CHECK(traj.size() == 6);
  CHECK(traj.back()(0, 0) == x(0, 0));
  CHECK_THROWS_AS(samplers::pf_ode<cpu>(den, {1.0, 2.0, 0.0}, samplers::ode_method::euler, x), invalid_argument);
}

namespace {
/// Mean and standard deviation of a 1 × n row.
std::pair<double, double> moments(const matrix& x) {
  double m = 0, v = 0;
  for (index_t j = 0; j < x.cols(); ++j) m += x(0, j);
  m /= x.cols();
  for (index_t j = 0; j < x.cols(); ++j) v += (x(0, j) - m) * (x(0, j) - m);
  return {m, std::sqrt(v / (x.cols() - 1))};
}
}  // namespace

TEST_CASE("vp schedule: σ⁻¹(σ(t)) = t, λ = 1/c_out², D(x, σ) → x as σ → 0, grid from σ(1) down", "[diffusion]") {
  const schedule::vp v;
  for (double t : {1e-3, 0.1, 0.5, 1.0}) CHECK(v.sigma_inverse(v.sigma(t)) == Approx(t).epsilon(1e-9));
  for (double s : {0.01, 1.0, 50.0}) CHECK(v.loss_weight(s) == Approx(1 / (v.c_out(s) * v.c_out(s))));
  const auto steps = v.steps(18);
  CHECK(steps[0] == Approx(std::sqrt(std::exp(0.5 * 19.9 + 0.1) - 1)));
  CHECK(steps[17] == Approx(v.sigma(1e-3)));
  CHECK(steps[18] == 0.0);
  for (std::size_t i = 0; i + 1 < steps.size(); ++i) CHECK(steps[i] > steps[i + 1]);
  nn::denoiser<nn::mlp<cpu>, schedule::vp> den(nn::mlp<cpu>(
      {.input_dim = 2, .output_dim = 2, .hidden = {8}, .act = {nn::activation::silu}, .cond = {.dim = 4}}, 1));
  const matrix x = random_matrix(2, 3, 2);
  matrix sigma(1, 3);
  cpu::fill(sigma, 1e-7);
  decltype(den)::cache c;
  const auto y = den.forward(x, sigma, c);
  for (index_t e = 0; e < x.size(); ++e) CHECK(y[e] == Approx(x.data()[e]).margin(1e-5));
  CHECK_THROWS_AS(schedule::vp{.epsilon_s = 0}.steps(4), invalid_argument);
}

TEST_CASE("reverse SDE and EDM's stochastic sampler on an exact denoiser reach the data law", "[diffusion][samplers]") {
  const double mu = 0.7, s = 0.5;
  evaluation::mixture_denoiser<cpu> den({mu}, {s}, {1.0}, 1);
  const schedule::karras k;
  const index_t n = 4000;
  matrix z = random_matrix(1, n, 21);
  SECTION("reverse SDE, 200 steps") {
    matrix x(1, n);
    cpu::copy(z, x);
    cpu::scale(x, k.sigma_max);
    random_stream rng(22);
    std::vector<cpu::matrix> traj;
    CHECK(samplers::reverse_sde<cpu>(den, k.steps(200), x, rng, &traj) == 200);
    CHECK(traj.size() == 201);
    const auto [m, sd] = moments(x);
    CHECK(m == Approx(mu).margin(0.03));
    CHECK(sd == Approx(s).epsilon(0.05));
  }
  SECTION("EDM Alg. 2 with churn, 40 steps") {
    matrix x(1, n);
    cpu::copy(z, x);
    cpu::scale(x, k.sigma_max);
    random_stream rng(23);
    CHECK(samplers::edm_stochastic<cpu>(den, k.steps(40), {.s_churn = 40, .s_tmin = 0.05, .s_tmax = 50}, x, rng) ==
          79);
    const auto [m, sd] = moments(x);
    CHECK(m == Approx(mu).margin(0.03));
    CHECK(sd == Approx(s).epsilon(0.05));
  }
  SECTION("EDM Alg. 2 without churn is exactly deterministic Heun") {
    matrix a(1, 50), b(1, 50);
    for (index_t j = 0; j < 50; ++j) a(0, j) = b(0, j) = k.sigma_max * z(0, j);
    random_stream rng(24);
    samplers::edm_stochastic<cpu>(den, k.steps(10), {}, a, rng);
    samplers::pf_ode<cpu>(den, k.steps(10), samplers::ode_method::heun, b);
    for (index_t j = 0; j < 50; ++j) CHECK(a(0, j) == b(0, j));
  }
}

TEST_CASE("reverse_sde_subgrid moves each column only within its own σ interval", "[diffusion][samplers]") {
  evaluation::mixture_denoiser<cpu> den({0.0}, {1.0}, {1.0}, 1);
  matrix x(1, 3), from(1, 3), to(1, 3);
  x(0, 0) = x(0, 1) = x(0, 2) = 2.0;
  from(0, 0) = 1.0, to(0, 0) = 0.5;
  from(0, 1) = to(0, 1) = 0.7;  // empty interval: stays put
  from(0, 2) = 3.0, to(0, 2) = 2.9;
  random_stream rng(1);
  samplers::reverse_sde_workspace<cpu> w;
  int calls = 0;
  samplers::reverse_sde_subgrid<cpu>([&](auto in, auto lev, auto out) { ++calls; den(in, lev, out); }, from, to, 6,
                                     7.0, x, rng, w);
  CHECK(calls == 5);
  CHECK(x(0, 1) == 2.0);
  CHECK(x(0, 0) != 2.0);
}

TEST_CASE("flow ODE on the exact Gaussian velocity: midpoint is second order and maps z to μ + s z",
          "[diffusion][samplers]") {
  // y ~ N(μ, s²), z ~ N(0, 1), x_t = t y + (1 − t) z: the flow is x_t = tμ + √(t²s² + (1 − t)²) z, so
  // v(x, t) = μ + (t s² − (1 − t))/(t²s² + (1 − t)²) (x − tμ).
  const double mu = -0.4, s = 0.3;
  const auto velocity = [&](cpu::const_view x, cpu::const_view t, cpu::view out) {
    for (index_t j = 0; j < x.cols(); ++j) {
      const double tt = t.data()[j], var = tt * tt * s * s + (1 - tt) * (1 - tt);
      out.data()[j] = mu + (tt * s * s - (1 - tt)) / var * (x.data()[j] - tt * mu);
    }
  };
  const matrix z = random_matrix(1, 32, 3);
  const auto worst_error = [&](int steps, samplers::flow_method m, int* nfe) {
    matrix x(1, 32);
    cpu::copy(z, x);
    *nfe = samplers::flow_ode<cpu>(velocity, schedule::linear{}.steps(steps), m, x);
    double worst = 0;
    for (index_t j = 0; j < 32; ++j) worst = std::max(worst, std::abs(x(0, j) - (mu + s * z(0, j))));
    return worst;
  };
  int nfe = 0;
  const double mid20 = worst_error(20, samplers::flow_method::midpoint, &nfe);
  CHECK(nfe == 40);
  const double mid40 = worst_error(40, samplers::flow_method::midpoint, &nfe);
  const double euler40 = worst_error(40, samplers::flow_method::euler, &nfe);
  CHECK(nfe == 40);
  CHECK(mid40 < 1e-3);
  CHECK(mid40 < mid20 / 3);  // second order
  CHECK(euler40 > 3 * mid40);
  CHECK_THROWS_AS(samplers::flow_ode<cpu>(velocity, {0.5, 0.5}, samplers::flow_method::euler, matrix(1, 2)),
                  invalid_argument);
}

}  // namespace idemgen::test
