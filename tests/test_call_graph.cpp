// The step's call graph (models/call_graph.hpp): each route's parameter gradient against central
// differences of the function it states, in double; pass counts; and noise schedules as values
// held by the terms (a term's own schedule, the model's, an unconditioned f over noise levels).
#include <catch2/catch.hpp>

#include <cmath>

#include "idemgen/models/diffusion.hpp"
#include "idemgen/models/step_context.hpp"
#include "support/gradcheck.hpp"

namespace idemgen::test {
namespace {

using net_t = nn::mlp<cpu>;
using models::route;

net_t small_net() { return net_t({.input_dim = 2, .output_dim = 2, .hidden = {5}, .act = {nn::activation::tanh}}, 4); }


/// Runs one graph over u = f(z), v = f(u) (and w = f(v) with a params_only edge when `with_w`),
/// adds gradient `g` at the last call under route `r`, sweeps, and returns dL/dθ and the passes.
std::pair<matrix, int> graph_gradient(net_t& net, const matrix& z, const matrix& g, route r, bool with_w = false) {
  models::call_graph<net_t> graph;
  net.zero_grad();
  const auto u = graph.add(net, z, {});
  const auto v = graph.add(net, u.value, {}, u.id);
  const auto last = with_w ? graph.add(net, v.value, {}, v.id, route::params_only) : v;
  graph.add_gradient(last.id, r, g);
  const int passes = graph.backward(net, net.gradients());
  matrix out(net.parameter_count(), 1);
  cpu::copy(net.gradients(), out);
  return {out, passes};
}

double relative(const matrix& analytic, const std::vector<double>& numeric) {
  return relative_error(analytic.data(), numeric);
}
}  // namespace

TEST_CASE("call graph: each route is the gradient of the function it states (f(f(z)), frozen and stopped)",
          "[call_graph][gradcheck]") {
  net_t net = small_net();
  const matrix z = random_matrix(2, 6, 1), g = random_matrix(2, 6, 2);
  const net_t frozen = net;  // θ′: θ's values, no parameter gradient
  const auto loss = [&](const std::function<double()>& f) {
    return numerical_gradient(f, net.parameters().data(), net.parameter_count());
  };
  // full: both calls are trained — d/dθ ⟨g, f_θ(f_θ(z))⟩.
  const auto [full, full_passes] = graph_gradient(net, z, g, route::full);
  CHECK(relative(full, loss([&] { return weighted_sum(g, eval(net, eval(net, z))); })) < 1e-7);
  CHECK(full_passes == 2);
  // params_only: the input f(z) is a constant — d/dθ ⟨g, f_θ(c)⟩, c = f(z) at θ.
  const matrix c = eval(net, z);
  const auto [params, params_passes] = graph_gradient(net, z, g, route::params_only);
  CHECK(relative(params, loss([&] { return weighted_sum(g, eval(net, c)); })) < 1e-7);
  CHECK(params_passes == 1);  // the input gradient is never computed for the producer
  // input_only: the outer call is θ′ — d/dθ ⟨g, f_θ′(f_θ(z))⟩ (IGN eq. 4's routing).
  const auto [input, input_passes] = graph_gradient(net, z, g, route::input_only);
  CHECK(relative(input, loss([&] { return weighted_sum(g, eval(frozen, eval(net, z))); })) < 1e-7);
  CHECK(input_passes == 2);
  // A params_only edge: w = f_θ′(v) passes its input gradient to v = f_θ(q) and no further
  // (q = stopgrad f(z)) — d/dθ ⟨g, f_θ′(f_θ(c))⟩.
  const auto [edge, edge_passes] = graph_gradient(net, z, g, route::input_only, /*with_w=*/true);
  CHECK(relative(edge, loss([&] { return weighted_sum(g, eval(frozen, eval(net, c))); })) < 1e-7);
  CHECK(edge_passes == 2);
  // The routes differ: the test above would not pass for a graph that ignored them.
  CHECK(relative(full, loss([&] { return weighted_sum(g, eval(net, c)); })) > 1e-3);
  CHECK(relative(input, loss([&] { return weighted_sum(g, eval(net, eval(net, z))); })) > 1e-3);
}

TEST_CASE("call graph: gradients from several terms at one call add up, in one pass when all are full",
          "[call_graph][gradcheck]") {
  net_t net = small_net();
  const matrix z = random_matrix(2, 5, 3), g1 = random_matrix(2, 5, 4), g2 = random_matrix(2, 5, 5);
  models::call_graph<net_t> graph;
  net.zero_grad();
  const auto u = graph.add(net, z, {});
  graph.add_gradient(u.id, route::full, g1);
  graph.add_gradient(u.id, route::full, g2, 0.5);
  CHECK(graph.backward(net, net.gradients()) == 1);
  matrix analytic(net.parameter_count(), 1);
  cpu::copy(net.gradients(), analytic);
  const auto numeric = numerical_gradient(
      [&] {
        const matrix y = eval(net, z);
        return weighted_sum(g1, y) + 0.5 * weighted_sum(g2, y);
      },
      net.parameters().data(), net.parameter_count());
  CHECK(relative(analytic, numeric) < 1e-7);
  // A call whose only gradient is input_only of a constant input is frozen and passes nothing on.
  models::call_graph<net_t> frozen_leaf;
  const auto w = frozen_leaf.add(net, z, {});
  frozen_leaf.add_gradient(w.id, route::input_only, g1);
  CHECK(frozen_leaf.backward(net, net.gradients()) == 0);
  CHECK_THROWS_AS(frozen_leaf.add(net, z, {}, 7), invalid_argument);  // no such producer
}

TEST_CASE("schedules are values: a DSM term with its own schedule draws its levels and weights from it",
          "[call_graph][schedules]") {
  using mlp_t = nn::mlp<cpu>;
  const mlp_t f({.input_dim = 2, .output_dim = 2, .hidden = {6}, .act = {nn::activation::silu},
                 .cond = {.dim = 4, .kind = nn::embedding_kind::fourier, .fourier_scale = 1.0}},
                9);
  const schedule::karras model_schedule{.sigma_data = 0.8};
  const nn::denoiser<mlp_t> den(f, model_schedule);
  const schedule::karras term_schedule{.sigma_data = 0.8, .p_mean = 0.7, .p_std = 0.3};
  const matrix y = random_matrix(2, 7, 2);
  const auto value = [&](const auto& term) {
    metric::squared_l2 m;
    random_stream rng(11);
    models::step_context<nn::denoiser<mlp_t>, metric::squared_l2> ctx(den, m, rng);
    matrix grads(den.parameter_count(), 1);
    ctx.begin(y, grads);
    return term(ctx);
  };
  // By hand: z first, then σ from the term's schedule; preconditioning is the denoiser's.
  random_stream rng(11);
  matrix z(2, 7), sigma(1, 7), x(2, 7);
  cpu::fill_normal(z, rng);
  term_schedule.sample_training_level<cpu>(sigma, rng);
  term_schedule.noise<cpu>(y, z, sigma, x);
  nn::denoiser<mlp_t>::cache c;
  const auto d = den.forward(x, sigma, c);
  double expected = 0;
  for (index_t j = 0; j < 7; ++j)
    for (index_t i = 0; i < 2; ++i)
      expected += term_schedule.loss_weight(sigma(0, j)) * std::pow(d(i, j) - y(i, j), 2) / 7.0;
  const losses::denoising_score_matching<schedule::karras> own{.schedule = term_schedule};
  CHECK(value(own) == Approx(expected).epsilon(1e-12));
  // schedule::of_model (the alias's default) takes the denoiser's levels instead: another value.
  CHECK(value(losses::denoising_score_matching<>{}) != Approx(expected).epsilon(1e-6));
}

TEST_CASE("schedules are values: two terms of one step share the noised point only under one schedule",
          "[call_graph][schedules]") {
  using mlp_t = nn::mlp<cpu>;
  const nn::denoiser<mlp_t> den(
      mlp_t({.input_dim = 2, .output_dim = 2, .hidden = {4}, .cond = {.dim = 4}}, 1), schedule::karras{});
  metric::squared_l2 m;
  random_stream rng(3);
  models::step_context<nn::denoiser<mlp_t>, metric::squared_l2> ctx(den, m, rng);
  const matrix y = random_matrix(2, 5, 1);
  matrix grads(den.parameter_count(), 1);
  ctx.begin(y, grads);
  const auto first = ctx.anchor(schedule::of_model{});
  CHECK(ctx.anchor(schedule::of_model{}).id == first.id);  // memoised: one call per step
  const schedule::karras other{.p_mean = 1.0};
  CHECK_THROWS_AS(ctx.level(other), invalid_argument);
}

TEST_CASE("schedules are values: an unconditioned f over noise levels (SIGN's f(x + σ n)) is one call of the graph",
          "[call_graph][schedules]") {
  // The capability SIGN's flow and denoise terms need: f takes no σ, the term holds the schedule.
  net_t f = small_net();
  metric::l2 m;
  random_stream rng(5);
  models::step_context<net_t, metric::l2> ctx(f, m, rng);
  const matrix x = random_matrix(2, 6, 8);
  ctx.begin(x, f.gradients());
  const schedule::karras levels{.sigma_data = 1.0, .p_mean = -1.0, .p_std = 0.5};
  const auto f_noised = ctx.anchor(levels);
  random_stream replay(5);
  matrix z(2, 6), sigma(1, 6), noised(2, 6);
  cpu::fill_normal(z, replay);  // the independent coupling's source, then σ
  levels.sample_training_level<cpu>(sigma, replay);
  levels.noise<cpu>(x, z, sigma, noised);
  const matrix expected = eval(f, noised);
  for (index_t e = 0; e < expected.size(); ++e) CHECK(f_noised.value[e] == Approx(expected.data()[e]).epsilon(1e-14));
}

}  // namespace idemgen::test
