// Toy data, evaluation metrics and IO: facts a user relies on when reading docs/RESULTS.md.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "idemgen/data/dataset.hpp"
#include "idemgen/data/toy.hpp"
#include "idemgen/evaluation/consistency_error.hpp"
#include "idemgen/evaluation/denoiser_error.hpp"
#include "idemgen/evaluation/mixture_denoiser.hpp"
#include "idemgen/evaluation/mmd.hpp"
#include "idemgen/evaluation/mode_coverage.hpp"
#include "idemgen/evaluation/sliced_wasserstein.hpp"
#include "idemgen/evaluation/straightness.hpp"
#include "idemgen/io/csv.hpp"
#include "support/gradcheck.hpp"

namespace idemgen::test {

namespace {
matrix toy_batch(data::toy t, index_t n, std::uint64_t seed) {
  data::toy_sampler<cpu> s(t);
  matrix x(2, n);
  random_stream rng(seed);
  s.sample(x, rng);
  return x;
}
}  // namespace

TEST_CASE("every toy dataset is finite, seed-deterministic and differs between seeds", "[data]") {
  for (const auto name : data::toy_names) {
    CAPTURE(name);
    const auto t = data::parse_toy(name);
    const matrix a = toy_batch(t, 500, 1), b = toy_batch(t, 500, 1), c = toy_batch(t, 500, 2);
    CHECK(cpu::all_finite(a));
    CHECK(std::equal(a.data(), a.data() + a.size(), b.data()));
    CHECK_FALSE(std::equal(a.data(), a.data() + a.size(), c.data()));
  }
  CHECK_THROWS_AS(data::parse_toy("spirals"), invalid_argument);
}

TEST_CASE("a dataset named by a toy draws the toy's stream, csv:FILE draws only and all of its points",
          "[data]") {
  // A toy through data::dataset is the same stream as through toy_sampler: the CLI's switch to
  // datasets changes no result.
  for (const auto name : data::toy_names) {
    CAPTURE(name);
    data::dataset_sampler<cpu> s(data::dataset::parse(name));
    matrix x(2, 300);
    random_stream rng(1);
    s.sample(x, rng);
    const matrix t = toy_batch(data::parse_toy(name), 300, 1);
    CHECK(std::equal(x.data(), x.data() + x.size(), t.data()));
  }
  const auto dir = std::filesystem::temp_directory_path() / "idemgen_test_dataset";
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "four.csv").string();
  std::ofstream(path) << "x,y\n1,0\n0,1\n-1,0\n0,-1\n";
  const data::dataset cloud = data::dataset::parse("csv:" + path, 2);
  CHECK(cloud.dim() == 2);
  CHECK_FALSE(cloud.mixture());
  data::dataset_sampler<cpu> s(cloud);
  matrix x(2, 400);
  random_stream rng(3);
  s.sample(x, rng);
  int count[4] = {0, 0, 0, 0};  // (1,0), (0,1), (-1,0), (0,-1)
  for (index_t j = 0; j < x.cols(); ++j) {
    const double a = x(0, j), b = x(1, j);
    REQUIRE(std::abs(a) + std::abs(b) == 1.0);  // a stored point, exactly
    ++count[a == 1 ? 0 : b == 1 ? 1 : a == -1 ? 2 : 3];
  }
  for (int c : count) CHECK(c == Approx(100).margin(30));  // uniform with replacement
  CHECK_THROWS_AS(data::dataset::parse("csv:" + path, 3), invalid_argument);  // 2 columns, not 3
  CHECK_THROWS_AS(data::dataset::parse("csv:" + (dir / "none.csv").string()), io_error);
  CHECK_THROWS_AS(data::dataset::parse("spirals"), invalid_argument);
}

TEST_CASE("grid25 and 8gaussians samples sit on their mixture's centres", "[data][evaluation]") {
  for (auto t : {data::toy::grid25, data::toy::gaussians8}) {
    const matrix x = toy_batch(t, 5000, 3);
    const auto cov = evaluation::mode_coverage(*data::mixture_of(t), x.data(), x.cols());
    CHECK(cov.modes_hit == cov.modes);
    CHECK(cov.modes_balanced == cov.modes);
    CHECK(cov.high_quality == Approx(1 - std::exp(-4.5)).margin(0.004));  // 3 std of a 2-D Gaussian
    for (double s : cov.share) CHECK(s == Approx(1.0 / cov.modes).margin(0.015));
  }
}

TEST_CASE("mode coverage counts one mode when every sample is at one centre", "[evaluation]") {
  const auto mix = *data::mixture_of(data::toy::grid25);
  std::vector<double> pts(200);
  for (std::size_t j = 0; j < 100; ++j) pts[2 * j] = 2.0, pts[2 * j + 1] = -2.0;
  const auto cov = evaluation::mode_coverage(mix, pts.data(), 100);
  CHECK(cov.modes_hit == 1);
  CHECK(cov.high_quality == 1.0);
}

TEST_CASE("unbiased MMD² is near 0 for two samples of one distribution and grows with a shift",
          "[evaluation]") {
  const matrix a = toy_batch(data::toy::moons, 1000, 1), b = toy_batch(data::toy::moons, 1000, 2);
  const double same = evaluation::mmd2_unbiased<cpu>(a, b);
  CHECK(std::abs(same) < 0.005);
  matrix shifted = b;
  for (index_t j = 0; j < shifted.cols(); ++j) shifted(0, j) += 0.5;
  const double apart = evaluation::mmd2_unbiased<cpu>(a, shifted);
  CHECK(apart > 0.03);
  CHECK(apart > 10 * std::abs(same));
  // Against a direct double loop over all pairs.
  const matrix x = random_matrix(2, 30, 4), y = random_matrix(2, 20, 5);
  const auto k = [](const matrix& p, index_t i, const matrix& q, index_t j) {
    const double d2 = std::pow(p(0, i) - q(0, j), 2) + std::pow(p(1, i) - q(1, j), 2);
    double s = 0;
    for (double bw : {0.1, 0.2, 0.5, 1.0, 2.0}) s += std::exp(-d2 / (2 * bw * bw));
    return s;
  };
  double xx = 0, yy = 0, xy = 0;
  for (index_t i = 0; i < 30; ++i)
    for (index_t j = 0; j < 30; ++j) xx += i == j ? 0 : k(x, i, x, j);
  for (index_t i = 0; i < 20; ++i)
    for (index_t j = 0; j < 20; ++j) yy += i == j ? 0 : k(y, i, y, j);
  for (index_t i = 0; i < 30; ++i)
    for (index_t j = 0; j < 20; ++j) xy += k(x, i, y, j);
  CHECK(evaluation::mmd2_unbiased<cpu>(x, y) ==
        Approx(xx / (30 * 29) + yy / (20 * 19) - 2 * xy / (30 * 20)).epsilon(1e-10));
}

TEST_CASE("sliced W2 is 0 for identical sets and |a|/√2 for a 2-D shift by a", "[evaluation]") {
  const matrix a = random_matrix(2, 400, 1);
  CHECK(evaluation::sliced_wasserstein2(a.data(), a.data(), 2, 400) == 0.0);
  matrix b = a;
  for (index_t j = 0; j < 400; ++j) b(0, j) += 1.0;
  // Each projection shifts by cos θ; the mean of cos² over random directions is ½.
  CHECK(evaluation::sliced_wasserstein2(a.data(), b.data(), 2, 400, 4000) ==
        Approx(std::sqrt(0.5)).epsilon(0.03));
}

TEST_CASE("samples CSV has the header and one row per sample, written atomically", "[io]") {
  const auto dir = std::filesystem::temp_directory_path() / "idemgen_test_csv";
  std::filesystem::create_directories(dir);
  const double pts[] = {1.5, -2.0, 3.25, 4.0};
  io::write_samples_csv((dir / "s.csv").string(), pts, 2, 2);
  std::ifstream in(dir / "s.csv");
  std::string l1, l2, l3, extra;
  std::getline(in, l1), std::getline(in, l2), std::getline(in, l3);
  CHECK(l1 == "x0,x1");
  CHECK(l2 == "1.5,-2");
  CHECK(l3 == "3.25,4");
  CHECK_FALSE(std::getline(in, extra));
  CHECK_FALSE(std::filesystem::exists(dir / "s.csv.tmp"));
  CHECK_THROWS_AS(io::write_samples_csv((dir / "missing" / "s.csv").string(), pts, 2, 2), io_error);
  std::filesystem::remove_all(dir);
}

TEST_CASE("straightness: 0 for a line at constant speed, > 0 for a bend or a speed change, normalised is scale-free",
          "[evaluation][straightness]") {
  const auto trajectory = [](auto point, int k, double scale) {
    std::vector<cpu::matrix> t;
    for (int i = 0; i <= k; ++i) {
      t.emplace_back(2, 1);
      const auto [a, b] = point(static_cast<double>(i) / k);
      t.back()(0, 0) = scale * a;
      t.back()(1, 0) = scale * b;
    }
    return t;
  };
  std::vector<double> times(21);
  for (int i = 0; i <= 20; ++i) times[static_cast<std::size_t>(i)] = i / 20.0;
  const auto line = [](double u) { return std::pair{1 + 2 * u, -u}; };
  const auto slow_start = [](double u) { return std::pair{1 + 2 * u * u, -u * u}; };
  const auto arc = [](double u) { return std::pair{std::cos(u * 1.5707963), std::sin(u * 1.5707963)}; };
  CHECK(evaluation::straightness<cpu>(trajectory(line, 20, 1), times).p2 == Approx(0).margin(1e-20));
  CHECK(evaluation::straightness<cpu>(trajectory(slow_start, 20, 1), times).p1 > 0.1);
  const auto a1 = evaluation::straightness<cpu>(trajectory(arc, 20, 1), times);
  const auto a80 = evaluation::straightness<cpu>(trajectory(arc, 20, 80), times);
  CHECK(a1.p1 > 0.1);
  CHECK(a80.p1 == Approx(80 * a1.p1));
  CHECK(a80.p2 == Approx(6400 * a1.p2));
  CHECK(a80.p1_normalized == Approx(a1.p1_normalized));
  CHECK(a80.p2_normalized == Approx(a1.p2_normalized));
  const auto t = evaluation::times_from_sigmas({80, 40, 0});
  CHECK(t[1] == Approx(0.5));
  CHECK(t[2] == 1.0);
  CHECK_THROWS_AS(evaluation::straightness<cpu>(trajectory(line, 20, 1), {0.0, 1.0}), invalid_argument);
}

TEST_CASE("consistency error: ~0 for an exact mixture denoiser, large for an inconsistent one",
          "[evaluation][consistency]") {
  // CDM Lemma 3.1: the exact denoiser of a distribution is a reverse martingale along its own SDE.
  evaluation::mixture_denoiser<cpu> exact({-1.0, 1.0}, {0.3, 0.3}, {1.0, 1.0}, 1);
  const auto inconsistent = [&](cpu::const_view x, cpu::const_view sigma, cpu::view out) {
    exact(x, sigma, out);
    for (index_t j = 0; j < x.cols(); ++j) out.data()[j] *= 1 + sigma.data()[j];
  };
  matrix x = random_matrix(1, 200, 7);
  for (index_t j = 0; j < 200; ++j) x(0, j) = (j % 2 ? 1.0 : -1.0) + 1.5 * x(0, j);  // states at σ ≈ 1.5
  const evaluation::consistency_error_options opt{.chains = 32, .steps = 100};
  random_stream rng(8);
  const auto good = evaluation::consistency_error<cpu>(exact, x, 1.5, 0.3, rng, opt);
  const auto bad = evaluation::consistency_error<cpu>(inconsistent, x, 1.5, 0.3, rng, opt);
  CHECK(std::abs(good.value) < 3 * good.standard_error + 1e-3);
  INFO("good " << good.value << " ± " << good.standard_error << ", bad " << bad.value << " ± " << bad.standard_error);
  CHECK(bad.value > 4 * bad.standard_error);
  CHECK(bad.value > 10 * std::max(std::abs(good.value), good.standard_error));
  const auto to_zero = evaluation::consistency_error<cpu>(exact, x, 1.5, 0.0, rng, opt);
  CHECK(std::abs(to_zero.value) < 3 * to_zero.standard_error + 2e-3);
  CHECK_THROWS_AS(evaluation::consistency_error<cpu>(exact, x, 1.0, 1.0, rng, opt), invalid_argument);
}

TEST_CASE("denoiser error: 0 against itself, and the closed form for a shifted Gaussian denoiser", "[evaluation]") {
  evaluation::mixture_denoiser<cpu> exact({0.0, 0.0}, {1.0, 1.0}, {1.0}, 2);
  evaluation::mixture_denoiser<cpu> shifted({0.5, 0.0}, {1.0, 1.0}, {1.0}, 2);
  const matrix x = random_matrix(2, 10, 3);
  CHECK(evaluation::denoiser_error<cpu>(exact, exact, x, 0.7) == 0.0);
  // D differs by the mean shift times σ²/(1 + σ²) in the first coordinate, for every x.
  const double sigma = 0.7, gap = 0.5 * sigma * sigma / (1 + sigma * sigma);
  CHECK(evaluation::denoiser_error<cpu>(shifted, exact, x, sigma) == Approx(gap * gap));
  CHECK_THROWS_AS(evaluation::denoiser_error<cpu>(exact, exact, x, 0.0), invalid_argument);
}

}  // namespace idemgen::test
