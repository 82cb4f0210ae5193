// Toy data, evaluation metrics and IO: facts a user relies on when reading docs/RESULTS.md.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "idemgen/data/toy.hpp"
#include "idemgen/evaluation/mmd.hpp"
#include "idemgen/evaluation/mode_coverage.hpp"
#include "idemgen/evaluation/sliced_wasserstein.hpp"
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

}  // namespace idemgen::test
