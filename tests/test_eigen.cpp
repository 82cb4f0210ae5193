// Eigen at the API (idemgen/eigen.hpp): a user's Eigen matrices as views without copies, in both
// layouts; training batches from Eigen points equal to the same points as a CSV data set; samples
// written straight into an Eigen matrix.
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>

#include "idemgen/backend/cpu.hpp"
#include "idemgen/data/dataset.hpp"
#include "idemgen/eigen.hpp"
#include "idemgen/models/naign.hpp"
#include "idemgen/nn/mlp.hpp"
#include "idemgen/train/trainer.hpp"

namespace idemgen::test {

namespace {
using dcpu = backend::cpu<double>;
using net_t = nn::mlp<dcpu>;

// 40 points of a ring (d = 2), column-major d × N.
eigen::matrix<double> ring_points() {
  eigen::matrix<double> p(2, 40);
  for (int j = 0; j < 40; ++j) {
    p(0, j) = std::cos(0.157 * j) * (1 + 0.01 * j);
    p(1, j) = std::sin(0.157 * j) * (1 - 0.005 * j);
  }
  return p;
}
}  // namespace

TEST_CASE("eigen::view is the Eigen matrix's own storage in either layout", "[eigen]") {
  eigen::matrix<float> by_column = eigen::matrix<float>::Random(3, 7);
  auto v = eigen::view(by_column);
  CHECK(v.data() == by_column.data());
  CHECK(v.rows() == 3);
  CHECK(v.cols() == 7);
  v(2, 5) = 42.0f;  // a mutable view writes into the Eigen matrix
  CHECK(by_column(2, 5) == 42.0f);

  eigen::row_samples<float> by_row = by_column.transpose();  // 7 samples, one a row
  const auto& const_rows = by_row;
  auto rv = eigen::view(const_rows);
  static_assert(std::is_const_v<std::remove_pointer_t<decltype(rv.data())>>);
  CHECK(rv.data() == by_row.data());
  CHECK(rv.rows() == 3);
  CHECK(rv.cols() == 7);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 7; ++j) CHECK(rv(i, j) == by_column(i, j));

  // A range of samples is contiguous; a range of features is not and is refused.
  auto last_four = eigen::view(by_column.rightCols(4));
  CHECK(last_four.data() == by_column.data() + 3 * 3);
  CHECK(last_four.cols() == 4);
  CHECK_THROWS_AS(eigen::view(by_column.topRows(2)), invalid_argument);
  CHECK_THROWS_AS(eigen::view(by_row.leftCols(2)), invalid_argument);
}

TEST_CASE("eigen::map sees a host_matrix's storage as an Eigen matrix", "[eigen]") {
  backend::host_matrix<double> m(4, 3);
  eigen::map(m).setConstant(0.5);
  eigen::map(m).col(1).array() += 1.0;
  CHECK(m(2, 1) == 1.5);
  CHECK(m(2, 2) == 0.5);
  const auto& cm = m;
  CHECK(eigen::map(cm).data() == m.data());
  CHECK(eigen::map(cm)(3, 1) == 1.5);
  CHECK(eigen::map(dcpu::const_view(m)).data() == m.data());
}

TEST_CASE("eigen::sampler draws the batches data::dataset draws from the same points as a CSV file",
          "[eigen]") {
  const eigen::matrix<double> points = ring_points();
  const std::string csv = "test_eigen_points.csv";
  {
    std::ofstream out(csv);
    out.precision(17);
    for (int j = 0; j < points.cols(); ++j) out << points(0, j) << ',' << points(1, j) << '\n';
  }
  data::dataset_sampler<dcpu> from_file(data::dataset::parse("csv:" + csv, 2));
  std::remove(csv.c_str());
  eigen::sampler<dcpu> from_columns(points, 11);
  const eigen::row_samples<double> rows = points.transpose();
  eigen::sampler<dcpu> from_rows(rows, 11);
  CHECK(from_columns.count() == 40);
  CHECK(from_rows.dim() == 2);

  random_stream file_rng(11);
  dcpu::matrix a(2, 64), b(2, 64), c(2, 64);
  for (int draw = 0; draw < 3; ++draw) {
    from_file.sample(a, file_rng);
    from_columns(b);
    from_rows(c);
    CHECK(eigen::map(a) == eigen::map(b));
    CHECK(eigen::map(b) == eigen::map(c));
  }
  // Every drawn sample is one of the points.
  for (int j = 0; j < 64; ++j) {
    const Eigen::Index nearest = [&] {
      Eigen::Index k;
      (points.colwise() - eigen::map(b).col(j)).colwise().squaredNorm().minCoeff(&k);
      return k;
    }();
    CHECK(points.col(nearest) == eigen::map(b).col(j));
  }
}

TEST_CASE("A NAIGN trained from Eigen points equals one trained from a host copy, and samples land in an Eigen matrix",
          "[eigen]") {
  const eigen::matrix<double> points = ring_points();
  const auto make = [] {
    return models::naign<net_t>(net_t({.input_dim = 2, .output_dim = 2, .hidden = {16, 16}}, 3), {}, {},
                                {.optimizer = {.lr = 1e-3, .weight_decay = 0}, .seed = 5});
  };
  auto from_eigen = make();
  auto from_host = make();
  eigen::sampler<dcpu> batches(points, 1);
  train::trainer_options opt{.steps = 20, .log_every = 10, .progress = false, .snapshot_every = 10};
  train::train(from_eigen, 32, batches, opt);

  // The same draws by hand, into the backend's own matrix.
  backend::host_matrix<double> host_points(2, points.cols());
  eigen::map(host_points) = points;
  random_stream rng(1);
  dcpu::matrix x(2, 32);
  for (int step = 0; step < 20; ++step) {
    const std::uint64_t first = rng.reserve(32);
    for (index_t j = 0; j < 32; ++j) {
      const double u = uniform_open01<double>(philox_block_at(rng.key(), first + static_cast<std::uint64_t>(j)).v[0]);
      const index_t k = std::min<index_t>(39, static_cast<index_t>(u * 40));
      x(0, j) = host_points(0, k);
      x(1, j) = host_points(1, k);
    }
    from_host.train_step(x);
  }
  CHECK(eigen::map(from_eigen.net().parameters()) == eigen::map(from_host.net().parameters()));

  // f(z) written into an Eigen matrix, the same as into a host matrix.
  eigen::matrix<double> z = eigen::matrix<double>::Random(2, 50);
  eigen::matrix<double> samples(2, 50);
  from_eigen.image(eigen::view(z), eigen::view(samples));
  dcpu::matrix expected(2, 50);
  from_host.image(eigen::view(z), expected);
  CHECK(samples == eigen::map(expected));
  CHECK(samples.allFinite());
}

TEST_CASE("eigen::sampler refuses empty and non-finite points", "[eigen][errors]") {
  eigen::matrix<double> empty(2, 0);
  CHECK_THROWS_AS(eigen::sampler<dcpu>(empty, 0), invalid_argument);
  eigen::matrix<double> bad = ring_points();
  bad(1, 7) = std::nan("");
  CHECK_THROWS_AS(eigen::sampler<dcpu>(bad, 0), invalid_argument);
  const eigen::matrix<double> good = ring_points();
  eigen::sampler<dcpu> ok(good, 0);
  dcpu::matrix wrong(3, 4);
  CHECK_THROWS_AS(ok(wrong), invalid_argument);
}

}  // namespace idemgen::test
