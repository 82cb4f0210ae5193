// backend::cpu against naive reference loops, in float and double.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "support/gradcheck.hpp"

namespace idemgen::test {

// Shapes that reach every path of the host GEMM: a single tile, edge tiles in both directions
// (the AVX2 kernel's tiles are 16 × 6), several k blocks (k > 512), several column blocks (n > 1020
// per thread), and products big enough to be split over two threads (by columns; by rows, m > n).
template <class TestType>
void check_gemm_against_loops() {
  using be = backend::cpu<TestType>;
  threads_scope two_threads(2);  // CTest runs on one thread; the splits need two
  struct shape {
    index_t m, n, k;
  };
  random_stream rng(1);
  for (const shape s : {shape{7, 5, 3}, shape{16, 6, 1}, shape{17, 13, 40}, shape{33, 70, 600},
                        shape{130, 40, 70}, shape{9, 2200, 5}, shape{1, 1, 0}})
    for (const double beta : {0.0, 1.0, 0.5})
      for (int ta = 0; ta < 2; ++ta)
        for (int tb = 0; tb < 2; ++tb) {
          const index_t m = s.m, n = s.n, k = s.k;
          typename be::matrix a(ta ? k : m, ta ? m : k), b(tb ? n : k, tb ? k : n), c(m, n), c0(m, n);
          be::fill_normal(a, rng);
          be::fill_normal(b, rng);
          be::fill_normal(c, rng);
          // β = 0 means C is not read (BLAS): NaN there must not reach the result.
          if (beta == 0.0) be::fill(c, std::numeric_limits<TestType>::quiet_NaN());
          c0 = c;
          be::gemm(static_cast<transpose>(ta), static_cast<transpose>(tb), TestType(2), a, b,
                   TestType(beta), c);
          double worst = 0;
          for (index_t i = 0; i < m; ++i)
            for (index_t j = 0; j < n; ++j) {
              double ref = 0;
              for (index_t p = 0; p < k; ++p)
                ref += double(ta ? a(p, i) : a(i, p)) * double(tb ? b(j, p) : b(p, j));
              ref = 2 * ref + (beta == 0.0 ? 0.0 : beta * double(c0(i, j)));
              // Rounding of a k-term float sum grows like √k ε per unit of |terms|.
              const double err = std::abs(double(c(i, j)) - ref) / (1 + std::sqrt(double(k)));
              worst = std::isnan(err) ? std::numeric_limits<double>::infinity() : std::max(worst, err);
            }
          INFO("m " << m << " n " << n << " k " << k << " beta " << beta << " ta " << ta << " tb " << tb);
          CHECK(worst < (sizeof(TestType) == 4 ? 1e-5 : 1e-13));
        }
}

TEMPLATE_TEST_CASE("gemm computes alpha op(A) op(B) + beta C for all four transpose pairs",
                   "[backend]", float, double) {
  // On OpenBLAS whatever the machine's automatic choice (the oneDNN case below has its own test).
  const auto saved = backend::current_host_sgemm();
  backend::set_host_sgemm(backend::host_sgemm::openblas);
  check_gemm_against_loops<TestType>();
  backend::set_host_sgemm(saved);
}

TEST_CASE("float gemm on oneDNN's sgemm computes the same products, and a build without it refuses the choice",
          "[backend]") {
  const auto saved = backend::current_host_sgemm();
  if constexpr (backend::have_onednn_sgemm()) {
    backend::set_host_sgemm(backend::host_sgemm::onednn);
    CHECK(backend::current_host_sgemm() == backend::host_sgemm::onednn);
    check_gemm_against_loops<float>();
    backend::set_host_sgemm(saved);
  } else {
    CHECK_THROWS_AS(backend::set_host_sgemm(backend::host_sgemm::onednn), invalid_argument);
    CHECK(backend::automatic_host_sgemm() == backend::host_sgemm::openblas);  // never one it lacks
  }
  CHECK(backend::current_host_sgemm() == saved);
}

TEMPLATE_TEST_CASE("silu_values (Eigen's vectorised exp) equals z / (1 + exp(-z)) to a few ulp, 0 below the cutoff, the same bits at any alignment",
                   "[backend]", float, double) {
  using S = TestType;
  using be = backend::cpu<S>;
  threads_scope two_threads(2);
  const S cutoff = nn::act::subnormal_cutoff<S>();
  std::vector<S> z;
  for (int k = -4000; k <= 4000; ++k) z.push_back(S(k) / S(40));  // [−100, 100]: both sides of the cutoff
  z.push_back(S(0));
  z.push_back(std::numeric_limits<S>::denorm_min());
  std::vector<S> y(z.size());
  be::silu_values(z.data(), y.data(), static_cast<index_t>(z.size()), cutoff);
  for (std::size_t e = 0; e < z.size(); ++e) {
    CAPTURE(z[e]);
    if (z[e] < cutoff) {
      CHECK(y[e] == S(0));
      continue;
    }
    const long double exact = static_cast<long double>(z[e]) / (1.0L + std::exp(-static_cast<long double>(z[e])));
    CHECK(std::abs(static_cast<long double>(y[e]) - exact) <=
          8 * std::numeric_limits<S>::epsilon() * std::abs(exact) + std::numeric_limits<S>::min());
  }
  // What nn::apply_activation calls for SiLU on this backend: the same values.
  std::vector<S> via_layer(z.size());
  nn::apply_activation<be>(nn::act::silu{}, z.data(), via_layer.data(), static_cast<index_t>(z.size()));
  CHECK(via_layer == y);
  // The same bits wherever the buffers lie and however many threads split them.
  std::vector<S> shifted_in(z.size() + 3), shifted_out(z.size() + 5);
  std::copy(z.begin(), z.end(), shifted_in.begin() + 3);
  threads_scope one_thread(1);
  be::silu_values(shifted_in.data() + 3, shifted_out.data() + 5, static_cast<index_t>(z.size()), cutoff);
  CHECK(std::vector<S>(shifted_out.begin() + 5, shifted_out.end()) == y);
}

TEST_CASE("gemm rejects operands whose shapes do not fit, naming the argument", "[backend]") {
  using be = backend::cpu<double>;
  be::matrix a(3, 4), b(5, 2), c(3, 2);
  CHECK_THROWS_AS(be::gemm(transpose::no, transpose::no, 1.0, a, b, 0.0, c), shape_error);
  be::matrix b2(4, 2), c2(3, 3);
  CHECK_THROWS_WITH(be::gemm(transpose::no, transpose::no, 1.0, a, b2, 0.0, c2),
                    Catch::Contains("argument 'c'") && Catch::Contains("3x2") &&
                        Catch::Contains("3x3"));
}

TEST_CASE("lane_sum adds every term of its range once, whatever the length modulo 8", "[backend]") {
  // Integers below 2^53 add exactly in double: any missed or repeated term shows.
  for (index_t begin : {0, 3})
    for (index_t end : {begin, begin + 1, begin + 7, begin + 8, begin + 9, begin + 1001}) {
      const double sum = idemgen::detail::lane_sum<double>(begin, end, [](index_t i) { return static_cast<double>(i + 1); });
      const double expected = static_cast<double>(end * (end + 1) - begin * (begin + 1)) / 2;
      CHECK(sum == expected);
    }
  // A float term accumulates in the accumulator's type.
  CHECK(idemgen::detail::lane_sum<double>(0, 3, [](index_t) { return 0.1f; }) ==
        3 * static_cast<double>(0.1f));
}

TEST_CASE("row and column sums, dot, norms and finiteness match direct loops", "[backend]") {
  using be = backend::cpu<double>;
  matrix x = random_matrix(6, 9, 2);
  be::matrix rows(6, 1), cols(1, 9);
  be::fill(rows, 1.0);
  be::row_sums(x, rows, 2.0, 3.0);
  be::column_sums(x, cols);
  double total = 0;
  for (index_t i = 0; i < 6; ++i) {
    double r = 0;
    for (index_t j = 0; j < 9; ++j) r += x(i, j);
    CHECK(rows(i, 0) == Approx(3.0 + 2.0 * r));
    total += r;
  }
  for (index_t j = 0; j < 9; ++j) {
    double c = 0;
    for (index_t i = 0; i < 6; ++i) c += x(i, j);
    CHECK(cols(0, j) == Approx(c));
  }
  CHECK(be::sum(x) == Approx(total));
  double sq = 0;
  for (index_t e = 0; e < x.size(); ++e) sq += x.data()[e] * x.data()[e];
  CHECK(be::squared_norm(x) == Approx(sq));
  CHECK(be::all_finite(x));
  x(3, 4) = std::nan("");
  CHECK_FALSE(be::all_finite(x));
  x(3, 4) = INFINITY;
  CHECK_FALSE(be::all_finite(x));
}

TEST_CASE("large reductions give the same bits on one and two threads", "[backend]") {
  using be = backend::cpu<float>;
  const int saved = be::num_threads();
  be::matrix x(512, 300), r1(512, 1), r2(512, 1);
  random_stream rng(3);
  be::fill_normal(x, rng);
  be::set_num_threads(1);
  const double s1 = be::sum(x);
  be::row_sums(x, r1);
  be::set_num_threads(2);
  const double s2 = be::sum(x);
  be::row_sums(x, r2);
  be::set_num_threads(saved);
  CHECK(s1 == s2);
  CHECK(std::equal(r1.data(), r1.data() + 512, r2.data()));
}

TEST_CASE("pairwise squared distances and per-column argmin find true nearest neighbours",
          "[backend]") {
  using be = backend::cpu<double>;
  for (index_t d : {2, 20}) {  // direct kernel (d <= 8) and the GEMM identity
    matrix a = random_matrix(d, 40, 4), b = random_matrix(d, 25, 5);
    be::matrix dist(40, 25), minv(1, 25);
    be::index_matrix idx(1, 25);
    be::pairwise_squared_distances(a, b, dist);
    be::column_argmin(dist, idx, minv);
    for (index_t j = 0; j < 25; ++j) {
      index_t best = -1;
      double best_d = INFINITY;
      for (index_t i = 0; i < 40; ++i) {
        double s = 0;
        for (index_t k = 0; k < d; ++k) s += (a(k, i) - b(k, j)) * (a(k, i) - b(k, j));
        CHECK(dist(i, j) == Approx(s).epsilon(1e-10).margin(1e-10));
        if (s < best_d) best_d = s, best = i;
      }
      CHECK(idx(0, j) == best);
      CHECK(minv(0, j) == Approx(best_d));
    }
    be::matrix gathered(d, 25);
    be::gather_columns(a, idx, gathered);
    for (index_t j = 0; j < 25; ++j)
      for (index_t k = 0; k < d; ++k) CHECK(gathered(k, j) == a(k, idx(0, j)));
  }
}

TEST_CASE("argmin takes the first of equal minima and never picks NaN", "[backend]") {
  using be = backend::cpu<double>;
  be::matrix d(4, 2);
  const double values[] = {std::nan(""), 2.0, 1.0, 1.0, 3.0, 3.0, 3.0, 3.0};
  be::copy_from_host(values, d);
  be::index_matrix idx(1, 2);
  be::column_argmin(d, idx);
  CHECK(idx(0, 0) == 2);
  CHECK(idx(0, 1) == 0);
}

TEST_CASE("gather_columns rejects an out-of-range index", "[backend]") {
  using be = backend::cpu<double>;
  be::matrix src(2, 3), dst(2, 1);
  be::index_matrix idx(1, 1);
  idx(0, 0) = 3;
  CHECK_THROWS_AS(be::gather_columns(src, idx, dst), invalid_argument);
}

}  // namespace idemgen::test
