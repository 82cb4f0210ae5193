// Each loss term's parameter gradient equals central finite differences of a reference
// formulation in double, where θ' (the frozen copy) is a separate network held at θ and
// stop-gradient values are computed once at θ (IGN eq. 4–5, NAIGN eq. 6–8).
#include <catch2/catch.hpp>

#include "idemgen/models/ign.hpp"
#include "idemgen/models/naign.hpp"
#include "support/gradcheck.hpp"

namespace idemgen::test {

namespace {
using net_t = nn::mlp<cpu>;

net_t small_net() {
  return net_t({.input_dim = 2, .output_dim = 2, .hidden = {7, 6}, .act = {nn::activation::tanh}}, 3);
}



// Runs `term` once through a fresh context seeded with `seed` (pairs from `coupling`); returns
// the analytic gradient.
template <class Term, class Coupling = coupling::independent>
matrix analytic_gradient(net_t& net, const Term& term, const matrix& x, std::uint64_t seed,
                         double* value = nullptr, Coupling coupling = {}) {
  metric::l2 m;
  random_stream rng(seed);
  models::step_context<net_t, metric::l2, Coupling> ctx(net, m, rng, coupling);
  net.zero_grad();
  ctx.begin(x, net.gradients());
  losses::state_t<Term, decltype(ctx)> state{};
  const double v = losses::evaluate(term, ctx, state);
  ctx.finish();
  if (value) *value = v;
  matrix g(net.parameter_count(), 1);
  cpu::copy(net.gradients(), g);
  return g;
}

// Reference loss as a function of θ (perturbed in place by numerical_gradient).
template <class Loss>
double check(net_t& net, const matrix& analytic, Loss loss) {
  const auto num = numerical_gradient(loss, net.parameters().data(), net.parameter_count());
  return relative_error(analytic.data(), num);
}

matrix draw_normal(index_t rows, index_t cols, random_stream& rng) {
  matrix z(rows, cols);
  cpu::fill_normal(z, rng);
  return z;
}
}  // namespace

TEST_CASE("reconstruction: gradient of mean D(f(x), x)", "[losses][gradcheck]") {
  net_t net = small_net();
  const matrix x = random_matrix(2, 9, 1);
  double value = 0;
  const matrix g = analytic_gradient(net, losses::reconstruction{.weight = 1.5}, x, 7, &value);
  CHECK(value == Approx(mean_l2(eval(net, x), x)));
  CHECK(check(net, g, [&] { return 1.5 * mean_l2(eval(net, x), x); }) < 1e-6);
}

TEST_CASE("idempotence (IGN): inner call trained, outer call frozen but passing dx",
          "[losses][gradcheck]") {
  net_t net = small_net();
  const matrix x = random_matrix(2, 9, 1);
  const matrix g = analytic_gradient(net, losses::idempotence<losses::idem_kind::ign>{}, x, 7);
  random_stream rng(7);
  const matrix z = draw_normal(2, 9, rng);  // the context's first draw
  const net_t frozen = net;                 // θ' = θ, gradients blocked
  CHECK(check(net, g, [&] {
          const matrix u = eval(net, z);
          return mean_l2(u, eval(frozen, u));
        }) < 1e-6);
  // Trap T1: detaching u before the outer call drops the J_fᵀ path — a different gradient.
  const matrix zz = z;
  const double detached_error = check(net, g, [&] {
    const matrix u = eval(net, zz);
    const matrix u0 = eval(frozen, zz);
    return mean_l2(u, eval(frozen, u0));
  });
  CHECK(detached_error > 1e-3);
}

TEST_CASE("tightness: outer call trained, inner value constant, sign negative",
          "[losses][gradcheck]") {
  net_t net = small_net();
  const matrix x = random_matrix(2, 9, 1);
  double value = 0;
  const matrix g = analytic_gradient(net, losses::tightness{.weight = 0.7}, x, 7, &value);
  random_stream rng(7);
  const matrix z = draw_normal(2, 9, rng);
  const matrix y = eval(net, z);  // stopgrad f(z)
  CHECK(value == Approx(-mean_l2(eval(net, y), y)));
  CHECK(value < 0);
  CHECK(check(net, g, [&] { return -0.7 * mean_l2(eval(net, y), y); }) < 1e-6);
  // Trap T2: the gradient is not identically zero.
  CHECK(std::sqrt(cpu::squared_norm(g)) > 1e-6);
}

TEST_CASE("tightness with the IGN clamp: gradient of -tanh(raw/(a rec)) a rec, rec constant",
          "[losses][gradcheck]") {
  net_t net = small_net();
  const matrix x = random_matrix(2, 9, 1);
  const matrix g = analytic_gradient(net, losses::tightness{.weight = 1.0, .clamp_ratio = 1.5}, x, 7);
  random_stream rng(7);
  const matrix z = draw_normal(2, 9, rng);
  const matrix y = eval(net, z);
  const double rec = mean_l2(eval(net, x), x);  // held constant
  CHECK(check(net, g, [&] {
          return -std::tanh(mean_l2(eval(net, y), y) / (1.5 * rec)) * 1.5 * rec;
        }) < 1e-6);
}

TEST_CASE("modified idempotence (NAIGN supp. 7): both halves with their routings",
          "[losses][gradcheck]") {
  net_t net = small_net();
  const matrix x = random_matrix(2, 9, 1);
  const matrix g = analytic_gradient(net, losses::idempotence<losses::idem_kind::modified>{}, x, 7);
  random_stream rng(7);
  const matrix z = draw_normal(2, 9, rng);
  const net_t frozen = net;
  const matrix q = eval(frozen, z);  // stopgrad f(z)
  CHECK(check(net, g, [&] {
          const matrix u = eval(net, z);
          const matrix fq = eval(net, q);
          return 0.5 * (mean_l2(u, eval(frozen, u)) + mean_l2(fq, eval(frozen, fq)));
        }) < 1e-6);
}

TEST_CASE("imle = pair_regression over nearest_generated: gradient of the mean over data of the min over candidates",
          "[losses][gradcheck]") {
  net_t net = small_net();
  const matrix x = random_matrix(2, 6, 1, 2.0);
  const losses::pair_regression term{.weight = 1.0};
  double value = 0;
  const matrix g = analytic_gradient(net, term, x, 7, &value, coupling::nearest_generated{.candidates_per_sample = 5});
  random_stream rng(7);
  const matrix candidates = draw_normal(2, 30, rng);  // M = 5 N, drawn first
  const auto loss = [&] {
    const matrix f = eval(net, candidates);
    double total = 0;
    for (index_t i = 0; i < x.cols(); ++i) {  // for each data point, the nearest sample (T6)
      double best = INFINITY;
      for (index_t j = 0; j < f.cols(); ++j)
        best = std::min(best, std::hypot(f(0, j) - x(0, i), f(1, j) - x(1, i)));
      total += best;
    }
    return total / static_cast<double>(x.cols());
  };
  CHECK(value == Approx(loss()));
  CHECK(check(net, g, loss) < 1e-6);
}

TEST_CASE("metrics: values and gradients of l1, l2, squared_l2 and pseudo_huber", "[losses][gradcheck]") {
  matrix a = random_matrix(3, 4, 1), b = random_matrix(3, 4, 2), per(1, 4), g(3, 4);
  const auto check_metric = [&](const auto& m, auto reference) {
    const double total = m.template evaluate<cpu>(a, b, per, g, 1.0);
    double ref_total = 0;
    for (index_t j = 0; j < 4; ++j) ref_total += reference(j);
    CHECK(total == Approx(ref_total));
    const auto num = numerical_gradient([&] {
      double s = 0;
      for (index_t j = 0; j < 4; ++j) s += reference(j);
      return s;
    }, a.data(), a.size());
    CHECK(relative_error(g.data(), num) < 1e-6);
  };
  const auto r = [&](index_t i, index_t j) { return a(i, j) - b(i, j); };
  check_metric(metric::l2{}, [&](index_t j) { return std::sqrt(r(0, j) * r(0, j) + r(1, j) * r(1, j) + r(2, j) * r(2, j)); });
  check_metric(metric::squared_l2{}, [&](index_t j) { return r(0, j) * r(0, j) + r(1, j) * r(1, j) + r(2, j) * r(2, j); });
  check_metric(metric::l1{}, [&](index_t j) { return std::abs(r(0, j)) + std::abs(r(1, j)) + std::abs(r(2, j)); });
  check_metric(metric::pseudo_huber{.c = 0.1}, [&](index_t j) {
    return std::sqrt(r(0, j) * r(0, j) + r(1, j) * r(1, j) + r(2, j) * r(2, j) + 0.01) - 0.1;
  });
  // At zero distance the gradient is finite (zero subgradient for l2, l1).
  const double zero = metric::l2{}.evaluate<cpu>(a, a, per, g, 1.0);
  CHECK(zero == 0.0);
  CHECK(cpu::all_finite(g));
  CHECK(cpu::squared_norm(g) == 0.0);
}

TEST_CASE("l1 pairwise distances are exact L1 and its argmin can differ from l2's", "[losses]") {
  matrix a(2, 2), b(2, 1), out(2, 1);
  // a0 = (1, 1): l1 2, l2 1.41; a1 = (1.8, 0): l1 1.8, l2 1.8 → l1 picks a1, l2 picks a0.
  a(0, 0) = 1, a(1, 0) = 1, a(0, 1) = 1.8, a(1, 1) = 0, b(0, 0) = 0, b(1, 0) = 0;
  metric::l1{}.pairwise<cpu>(a, b, out);
  CHECK(out(0, 0) == Approx(2.0));
  CHECK(out(1, 0) == Approx(1.8));
  cpu::index_matrix idx(1, 1);
  cpu::column_argmin(out, idx);
  CHECK(idx(0, 0) == 1);
  metric::l2{}.pairwise<cpu>(a, b, out);
  cpu::column_argmin(out, idx);
  CHECK(idx(0, 0) == 0);
}

}  // namespace idemgen::test
