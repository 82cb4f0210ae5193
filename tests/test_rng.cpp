// Philox-4x32-10 against the Random123 known-answer vectors, and the statistics and stream
// properties the rest of the library relies on.
#include <catch2/catch.hpp>

#include <cmath>
#include <set>

#include "idemgen/idemgen.hpp"

namespace idemgen::test {

TEST_CASE("philox4x32_10 reproduces the Random123 known-answer vectors", "[rng]") {
  // Random123 tests/kat_vectors, the three "philox4x32 10" lines: ctr[4] key[2] -> out[4].
  struct kat {
    philox_block ctr;
    philox_key key;
    philox_block out;
  };
  const kat vectors[] = {
      {{{0, 0, 0, 0}}, {0, 0}, {{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}}},
      {{{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}},
       {0xffffffff, 0xffffffff},
       {{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}}},
      {{{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}},
       {0xa4093822, 0x299f31d0},
       {{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}}},
  };
  for (const auto& v : vectors) {
    const philox_block out = philox4x32_10(v.ctr, v.key);
    for (int k = 0; k < 4; ++k) CHECK(out.v[k] == v.out.v[k]);
  }
}

TEST_CASE("uniform draws lie in the open interval and have mean 1/2, variance 1/12", "[rng]") {
  backend::cpu<double>::matrix u(100000, 1);
  random_stream rng(7);
  backend::cpu<double>::fill_uniform(u, rng);
  double mean = 0, var = 0;
  for (index_t i = 0; i < u.size(); ++i) {
    REQUIRE(u(i, 0) > 0.0);
    REQUIRE(u(i, 0) < 1.0);
    mean += u(i, 0);
  }
  mean /= static_cast<double>(u.size());
  for (index_t i = 0; i < u.size(); ++i) var += (u(i, 0) - mean) * (u(i, 0) - mean);
  var /= static_cast<double>(u.size() - 1);
  CHECK(std::abs(mean - 0.5) < 4 * std::sqrt(1.0 / 12 / 1e5));
  CHECK(std::abs(var - 1.0 / 12) < 0.002);
}

TEST_CASE("normal draws have the moments of N(0, 1) in float and double", "[rng]") {
  for (int pass = 0; pass < 2; ++pass) {
    std::vector<double> x(200000);
    random_stream rng(11);
    if (pass == 0) {
      backend::cpu<double>::matrix m(static_cast<index_t>(x.size()), 1);
      backend::cpu<double>::fill_normal(m, rng);
      for (std::size_t i = 0; i < x.size(); ++i) x[i] = m.data()[i];
    } else {
      backend::cpu<float>::matrix m(static_cast<index_t>(x.size()), 1);
      backend::cpu<float>::fill_normal(m, rng);
      for (std::size_t i = 0; i < x.size(); ++i) x[i] = m.data()[i];
    }
    double m1 = 0, m2 = 0, m3 = 0, m4 = 0;
    for (double v : x) {
      m1 += v;
      m2 += v * v;
      m3 += v * v * v;
      m4 += v * v * v * v;
    }
    const double n = static_cast<double>(x.size());
    CHECK(std::abs(m1 / n) < 0.01);
    CHECK(std::abs(m2 / n - 1) < 0.015);
    CHECK(std::abs(m3 / n) < 0.03);
    CHECK(std::abs(m4 / n - 3) < 0.06);
  }
}

TEST_CASE("random fills depend only on seed and position, not on the thread count", "[rng]") {
  using cpu = backend::cpu<float>;
  const int saved = cpu::num_threads();
  cpu::matrix a(300, 400), b(300, 400);  // large enough to be split over threads
  random_stream r1(3), r2(3);
  cpu::set_num_threads(1);
  cpu::fill_normal(a, r1);
  cpu::set_num_threads(2);
  cpu::fill_normal(b, r2);
  cpu::set_num_threads(saved);
  REQUIRE(std::equal(a.data(), a.data() + a.size(), b.data()));
  CHECK(r1.next_block() == r2.next_block());
  CHECK(r1.next_block() == (300 * 400 + 3) / 4);
}

TEST_CASE("consecutive fills of a stream do not overlap, and split streams differ", "[rng]") {
  using cpu = backend::cpu<double>;
  random_stream rng(5);
  cpu::matrix first(5, 1), second(5, 1), whole(10, 1);
  cpu::fill_uniform(first, rng);
  cpu::fill_uniform(second, rng);
  CHECK(rng.next_block() == 4);  // ceil(5/4) blocks per fill
  std::set<double> seen(first.data(), first.data() + 5);
  for (index_t i = 0; i < 5; ++i) CHECK(seen.count(second(i, 0)) == 0);
  // A fill is a pure function of (key, first block): replaying the stream gives the same values.
  random_stream replay(5);
  cpu::fill_uniform(whole, replay);
  for (index_t i = 0; i < 5; ++i) CHECK(whole(i, 0) == first(i, 0));
  CHECK(rng.split(1).seed() != rng.split(2).seed());
  CHECK(rng.split(1).seed() == random_stream(5).split(1).seed());
}

}  // namespace idemgen::test
