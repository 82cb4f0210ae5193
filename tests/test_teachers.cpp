// Teachers and teacher-ODE pairs (LMM §3), the lines loss (LMM eq. 3), the Karras-grid levels,
// LMM's samplers, pair files, and LMM's composition: each a fact stated against a closed form, a
// Monte-Carlo estimate, finite differences or a written file.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include "idemgen/data/toy.hpp"
#include "idemgen/models/lmm.hpp"
#include "idemgen/samplers/lines.hpp"
#include "idemgen/samplers/model_function.hpp"
#include "idemgen/teachers/mixture.hpp"
#include "idemgen/transport/assignment.hpp"
#include "support/gradcheck.hpp"

namespace idemgen::test {
namespace {

using mixture_t = evaluation::mixture_denoiser<cpu>;
using mlp_t = nn::mlp<cpu>;
using denoiser_t = nn::denoiser<mlp_t>;

mlp_t cond_mlp(std::uint64_t seed) {
  return mlp_t({.input_dim = 2, .output_dim = 2, .hidden = {8, 8}, .act = {nn::activation::silu},
                .cond = {.dim = 4, .kind = nn::embedding_kind::fourier, .fourier_scale = 1.0}},
               seed);
}

std::string temp_path(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / "idemgen_test_teachers";
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}
}  // namespace

TEST_CASE("the analytic mixture teacher is the posterior mean E[y | y + σ n = x] (Monte Carlo)", "[teachers]") {
  // Two components in 2-D: means (−1, 0.5) and (1.5, −1), stds 0.3 and 0.6, weights 1 : 2.
  const mixture_t exact({-1, 0.5, 1.5, -1}, {0.3, 0.3, 0.6, 0.6}, {1, 2}, 2);
  random_stream rng(17);
  const index_t samples = 200000;
  matrix y(2, samples), pick(1, samples);
  cpu::fill_normal(y, rng);
  cpu::fill_uniform(pick, rng, 0.0, 1.0);
  for (index_t j = 0; j < samples; ++j) {
    const bool second = pick(0, j) < 2.0 / 3.0;
    y(0, j) = second ? 1.5 + 0.6 * y(0, j) : -1 + 0.3 * y(0, j);
    y(1, j) = second ? -1 + 0.6 * y(1, j) : 0.5 + 0.3 * y(1, j);
  }
  const double sigma = 0.8;
  const matrix x = random_matrix(2, 3, 4, 1.0);
  matrix row(1, 3), out(2, 3);
  cpu::fill(row, sigma);
  exact(x, row, out);
  for (index_t c = 0; c < 3; ++c) {
    double w_total = 0, m0 = 0, m1 = 0;  // self-normalised: weights N(x; y_i, σ² I)
    for (index_t j = 0; j < samples; ++j) {
      const double r0 = x(0, c) - y(0, j), r1 = x(1, c) - y(1, j);
      const double w = std::exp(-(r0 * r0 + r1 * r1) / (2 * sigma * sigma));
      w_total += w, m0 += w * y(0, j), m1 += w * y(1, j);
    }
    CHECK(out(0, c) == Approx(m0 / w_total).margin(0.02));
    CHECK(out(1, c) == Approx(m1 / w_total).margin(0.02));
  }
}

TEST_CASE("teacher_ode pairs are (z, Heun(σ_max z)): the closed-form Gaussian map within Heun's error", "[teachers]") {
  // One Gaussian N(μ, s²): the exact ODE map is y = μ + (σ_max z − μ) s / √(s² + σ_max²).
  const double mu = -0.4, s = 0.5;
  auto teacher = std::make_shared<mixture_t>(std::vector<double>{mu, mu}, std::vector<double>{s, s},
                                             std::vector<double>{1.0}, 2);
  const auto worst_error = [&](int steps) {
    coupling::teacher_ode<mixture_t> c{.teacher = teacher, .ode = {.grid = {.steps = steps}}};
    metric::squared_l2 m;
    random_stream rng(3);
    const mlp_t f = cond_mlp(1);
    const denoiser_t den(f);
    models::step_context<denoiser_t, metric::squared_l2, coupling::teacher_ode<mixture_t>> ctx(den, m, rng, c);
    matrix batch(2, 40), grads(den.parameter_count(), 1);
    ctx.begin(batch, grads);
    const auto z = ctx.source(), y = ctx.target();
    random_stream replay(3);
    const matrix z_again = [&] {
      matrix r(2, 40);
      cpu::fill_normal(r, replay);
      return r;
    }();
    double worst = 0;
    for (index_t e = 0; e < z.size(); ++e) {
      CHECK(z[e] == z_again.data()[e]);  // fresh unit noise from the step's stream
      const double exact = mu + (80.0 * z[e] - mu) * s / std::sqrt(s * s + 80.0 * 80.0);
      worst = std::max(worst, std::abs((y[e] - mu) / (exact - mu) - 1));
    }
    return worst;
  };
  const double e18 = worst_error(18), e100 = worst_error(100);
  CHECK(e18 < 0.06);
  CHECK(e100 < 0.002);
  CHECK(e100 < e18 / 10);  // the discretised map converges to the exact one
}

TEST_CASE("Gaussian to Gaussian (LMM App. A.2): mean ⟨z, y_π(z)⟩ under exact OT < nearest neighbour < √(2 ln n / d)",
          "[teachers][transport]") {
  const index_t n = 256;
  for (index_t d : {16, 128}) {
    const matrix z = random_matrix(d, n, 11), y = random_matrix(d, n, 12);
    matrix cost(n, n);
    cpu::pairwise_squared_distances(z, y, cost);
    transport::assignment_solver solver;
    const auto& a = solver.solve(cpu::const_view(cost));
    double ot = 0, nearest = 0;
    for (index_t j = 0; j < n; ++j) {  // target j's partner, and its best inner product
      double best = -1e300;
      for (index_t i = 0; i < n; ++i) {
        double dot = 0;
        for (index_t k = 0; k < d; ++k) dot += z(k, i) * y(k, j);
        best = std::max(best, dot / static_cast<double>(d));
        if (i == a.source_of[static_cast<std::size_t>(j)]) ot += dot / static_cast<double>(d) / static_cast<double>(n);
      }
      nearest += best / static_cast<double>(n);
    }
    CHECK(ot > 0);
    CHECK(ot < nearest);
    CHECK(nearest < std::sqrt(2 * std::log(static_cast<double>(n)) / static_cast<double>(d)));
  }
}

TEST_CASE("karras_grid levels are grid points: all N uniformly, or only the SOT index set", "[teachers][schedules]") {
  const schedule::karras_grid all{};
  const auto grid = all.grid();
  REQUIRE(grid.size() == 19);
  for (int i = 0; i < 18; ++i) CHECK(all.sigma<double>(i) == Approx(grid[static_cast<std::size_t>(i)]).epsilon(1e-12));
  random_stream rng(2);
  matrix row(1, 18000);
  all.sample_training_level<cpu>(row, rng);
  std::vector<int> count(18, 0);
  for (index_t j = 0; j < row.cols(); ++j) {
    const auto it = std::find_if(grid.begin(), grid.end() - 1, [&](double g) { return std::abs(g - row(0, j)) < 1e-9 * g; });
    REQUIRE(it != grid.end() - 1);  // every level is a grid point
    ++count[static_cast<std::size_t>(it - grid.begin())];
  }
  for (int c : count) CHECK(std::abs(c - 1000) < 150);  // uniform: 1000 ± 4.7 sd
  const schedule::karras_grid sot{.indices = {0, 3}, .index_count = 2};
  sot.sample_training_level<cpu>(row, rng);
  std::set<double> seen(row.data(), row.data() + row.size());
  CHECK(seen == std::set<double>{grid[0], sot.sigma<double>(3)});
  CHECK_THROWS_AS((schedule::karras_grid{.indices = {0, 18}, .index_count = 2}.validate()), invalid_argument);
}

TEST_CASE("lines loss: mean ‖N(y + σ z, σ) − y‖² over the pairs with σ on the grid, gradient by finite differences",
          "[teachers][gradcheck]") {
  denoiser_t den(cond_mlp(5), schedule::karras{.sigma_data = 0.8});
  const matrix z = random_matrix(2, 6, 1), y = random_matrix(2, 6, 2);
  const losses::lines<> term{.weight = 0.6, .schedule = {.steps = 6}};
  const auto run = [&](cpu::view grads) {
    metric::squared_l2 m;
    random_stream rng(8);
    models::step_context<denoiser_t, metric::squared_l2> ctx(den, m, rng);
    ctx.begin_on_pairs(z, y, grads);
    std::monostate no_state;
    const double v = losses::evaluate(term, ctx, no_state);
    ctx.finish();
    return v;
  };
  matrix grads(den.parameter_count(), 1), scratch(den.parameter_count(), 1);
  cpu::fill(grads, 0.0);
  const double value = run(grads);
  random_stream rng(8);
  matrix sigma(1, 6), x(2, 6);
  term.schedule.sample_training_level<cpu>(sigma, rng);
  term.schedule.noise<cpu>(y, z, sigma, x);
  denoiser_t::cache c;
  const auto d = den.forward(x, sigma, c);
  double expected = 0;
  for (index_t e = 0; e < 12; ++e) expected += (d[e] - y.data()[e]) * (d[e] - y.data()[e]) / 6.0;
  CHECK(value == Approx(expected).epsilon(1e-12));
  const auto numeric = numerical_gradient([&] { return 0.6 * run(scratch); }, den.parameters().data(), den.parameter_count());
  CHECK(relative_error(grads.data(), numeric) < 1e-6);
}

TEST_CASE("lines samplers: NFE is the index count, one step is N(σ_max z), and on exact lines every set returns y",
          "[teachers][samplers]") {
  const schedule::karras_grid grid{};
  const matrix z = random_matrix(2, 5, 3), y_true = random_matrix(2, 5, 4);
  // The line through y_true and the start σ_max z: x = y_true + σ w with w = z − y_true/σ_max; an
  // exact denoiser of it returns N(x; σ) = x − σ w (= y_true on the line).
  matrix w = z;
  cpu::axpy(-1.0 / grid.sigma_max, y_true, w);
  const auto on_lines = [&](cpu::const_view x, cpu::const_view sigma, cpu::view out) {
    for (index_t j = 0; j < x.cols(); ++j)
      for (index_t i = 0; i < x.rows(); ++i) out(i, j) = x(i, j) - sigma(0, j) * w(i, j);
  };
  for (auto method : {samplers::lines_method::euler, samplers::lines_method::multistep})
    for (const std::vector<int>& set : {std::vector<int>{0}, {0, 1}, {0, 3, 5}, {0, 1, 3, 5}}) {
      matrix x = z;
      random_stream rng(1);
      std::vector<matrix> states;
      const int nfe = samplers::lines_sampler<cpu>(on_lines, grid, set, method, x, rng, &states);
      CHECK(nfe == static_cast<int>(set.size()));
      CHECK(states.size() == set.size() + 1);
      // Euler moves along the predicted line, so every step returns y_true; multistep re-noises
      // with fresh η (off the line), so only a one-step set is exact.
      const bool exact = method == samplers::lines_method::euler || set.size() == 1;
      double worst = 0;
      for (index_t e = 0; e < x.size(); ++e) worst = std::max(worst, std::abs(x.data()[e] - y_true.data()[e]));
      if (exact) CHECK(worst < 1e-9);
      else CHECK(worst > 1e-3);
    }
  CHECK_THROWS_AS(([&] {
                    matrix x = z;
                    random_stream rng(1);
                    samplers::lines_sampler<cpu>(on_lines, grid, {1, 3}, samplers::lines_method::euler, x, rng);
                  }()),
                  invalid_argument);
}

TEST_CASE("pair files: written and read back bit-exactly, with their metadata, and corrupt ones rejected",
          "[teachers][io]") {
  using fcpu = backend::cpu<float>;
  fcpu::matrix z(2, 7), y(2, 7);
  random_stream rng(9);
  fcpu::fill_normal(z, rng);
  fcpu::fill_normal(y, rng, 0.0f, 3.0f);
  const std::string path = temp_path("pairs.safetensors");
  teachers::write_pairs<fcpu>(path, z, y, {{"teacher", "mixture:grid25"}, {"grid_steps", "18"}});
  const auto back = teachers::read_pairs<fcpu>(path);
  CHECK(back.size() == 7);
  CHECK(back.metadata.at("teacher") == "mixture:grid25");
  CHECK(std::equal(z.data(), z.data() + z.size(), back.z.data()));
  CHECK(std::equal(y.data(), y.data() + y.size(), back.y.data()));
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string bad = temp_path("bad.safetensors");
  for (std::size_t keep : {std::size_t{4}, bytes.size() / 2, bytes.size() - 1}) {
    std::ofstream(bad, std::ios::binary) << bytes.substr(0, keep);
    CHECK_THROWS_AS(teachers::read_pairs<fcpu>(bad), io_error);
  }
  // A checkpoint is no pair file.
  io::safetensors foreign;
  foreign.metadata["format"] = "idemgen-checkpoint-1";
  io::write_safetensors(bad, foreign);
  CHECK_THROWS_WITH(teachers::read_pairs<fcpu>(bad), Catch::Contains("idemgen-pairs-1"));
  y(1, 3) = NAN;
  CHECK_THROWS_AS(teachers::write_pairs<fcpu>(bad, z, y, {}), numeric_error);
}

TEST_CASE("stored_pairs serves stored (z, y) columns, and LMM's loss falls on the analytic grid-25 teacher",
          "[teachers][generator]") {
  auto set = std::make_shared<teachers::pair_set<cpu>>();
  set->z = random_matrix(2, 30, 1);
  set->y = random_matrix(2, 30, 2);
  models::lmm_on_pairs<mlp_t> stored(denoiser_t(cond_mlp(3)), {}, {}, {.optimizer = {.lr = 1e-3}, .seed = 2},
                                     coupling::stored_pairs<cpu>{.pairs = set});
  const matrix batch(2, 16);
  stored.train_step(batch);
  // Every served pair is a stored column: its z and y side by side.
  auto& st = stored.coupling_state();
  for (index_t j = 0; j < 16; ++j) {
    const index_t k = st.chosen.data()[j];
    CHECK(st.z(0, j) == set->z(0, k));
    CHECK(st.y(1, j) == set->y(1, k));
  }
  // Online teacher pairs on grid-25: the lines loss falls with training.
  auto teacher = std::make_shared<mixture_t>(*teachers::exact_denoiser<cpu>(data::toy::grid25));
  models::lmm<mlp_t, mixture_t> gen(denoiser_t(cond_mlp(4), schedule::karras{.sigma_data = 2.8}), {}, {},
                                    {.optimizer = {.lr = 3e-3}, .seed = 1},
                                    coupling::teacher_ode<mixture_t>{.teacher = teacher, .ode = {.grid = {.steps = 8}}});
  const matrix x(2, 128);
  double first = 0, last = 0;
  for (int k = 0; k < 400; ++k) {
    const double v = gen.train_step(x).terms[0];
    if (k < 20) first += v / 20;
    if (k >= 380) last += v / 20;
  }
  CHECK(last < 0.5 * first);  // 6.6 → 1.7 when written
}

}  // namespace idemgen::test
