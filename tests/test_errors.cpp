// Bad input raises the documented exception, and its message names argument, expected, actual.
#include <catch2/catch.hpp>

#include <cmath>

#include "support/gradcheck.hpp"

namespace idemgen::test {

TEST_CASE("a network rejects input of the wrong shape with shape_error", "[errors]") {
  nn::mlp<cpu> net({.input_dim = 2, .output_dim = 2, .hidden = {4}}, 0);
  nn::mlp<cpu>::cache c;
  matrix x(3, 5);
  cpu::fill(x, 0.0);
  CHECK_THROWS_AS(net.forward(x, c), shape_error);
  CHECK_THROWS_WITH(net.forward(x, c), Catch::Contains("mlp::forward") &&
                                           Catch::Contains("argument 'x'") &&
                                           Catch::Contains("expected rows 2") &&
                                           Catch::Contains("got rows 3"));
  matrix empty(2, 0);
  CHECK_THROWS_AS(net.forward(empty, c), shape_error);
}

TEST_CASE("a network rejects NaN or Inf input with numeric_error", "[errors]") {
  nn::resmlp<cpu> net({.input_dim = 2, .output_dim = 2, .width = 4, .blocks = 1}, 0);
  nn::resmlp<cpu>::cache c;
  matrix x = random_matrix(2, 3, 1);
  x(1, 2) = std::nan("");
  CHECK_THROWS_AS(net.forward(x, {}, c), numeric_error);
  x(1, 2) = -INFINITY;
  CHECK_THROWS_WITH(net.forward(x, {}, c), Catch::Contains("argument 'x'") &&
                                               Catch::Contains("finite values"));
  // The check can be switched off for callers that validated their data once.
  nn::mlp<cpu> trusting({.input_dim = 2, .output_dim = 2, .hidden = {4}, .check_finite = false}, 0);
  nn::mlp<cpu>::cache tc;
  CHECK_NOTHROW(trusting.forward(x, tc));
}

TEST_CASE("a network rejects a wrong conditioning row", "[errors]") {
  nn::mlp<cpu> conditioned({.input_dim = 2, .output_dim = 2, .hidden = {4}, .cond = {.dim = 4}}, 0);
  nn::mlp<cpu> plain({.input_dim = 2, .output_dim = 2, .hidden = {4}}, 0);
  nn::mlp<cpu>::cache c;
  matrix x = random_matrix(2, 3, 1), two_rows = random_matrix(2, 3, 2), short_row = random_matrix(1, 2, 3);
  matrix ok = random_matrix(1, 3, 4);
  CHECK_THROWS_AS(conditioned.forward(x, c), shape_error);          // missing
  CHECK_THROWS_AS(conditioned.forward(x, two_rows, c), shape_error);  // 2 rows
  CHECK_THROWS_WITH(conditioned.forward(x, short_row, c),
                    Catch::Contains("argument 'cond'") && Catch::Contains("1x3") &&
                        Catch::Contains("1x2"));
  CHECK_THROWS_AS(plain.forward(x, ok, c), shape_error);  // takes none
  ok(0, 1) = std::nan("");
  CHECK_THROWS_AS(conditioned.forward(x, ok, c), numeric_error);
}

TEST_CASE("backward rejects a wrong dy, a wrong gradient buffer and an unused cache", "[errors]") {
  nn::mlp<cpu> net({.input_dim = 2, .output_dim = 3, .hidden = {4}}, 0);
  nn::mlp<cpu>::cache c;
  matrix x = random_matrix(2, 5, 1), dy_wrong(3, 4), dy(3, 5), small(7, 1);
  CHECK_THROWS_AS(net.backward(c, dy, net.gradients()), invalid_argument);  // no forward yet
  net.forward(x, c);
  CHECK_THROWS_AS(net.backward(c, dy_wrong, net.gradients()), shape_error);
  CHECK_THROWS_AS(net.backward(c, dy, small), shape_error);
}

TEST_CASE("bad network options raise invalid_argument", "[errors]") {
  CHECK_THROWS_AS(nn::mlp<cpu>({.input_dim = 0}, 0), invalid_argument);
  CHECK_THROWS_AS(nn::mlp<cpu>({.hidden = {8, 0}}, 0), invalid_argument);
  CHECK_THROWS_AS(nn::resmlp<cpu>({.width = 0}, 0), invalid_argument);
  CHECK_THROWS_AS(nn::parse_activation("swish"), invalid_argument);
  CHECK(nn::parse_activation("gelu") == nn::activation::gelu);
  CHECK_THROWS_AS(cpu::set_num_threads(0), invalid_argument);
}

TEST_CASE("every idemgen exception is catchable as idemgen::error with its parts", "[errors]") {
  try {
    throw shape_error("where", "arg", "2x2", "3x3");
  } catch (const error& e) {
    CHECK(e.where() == "where");
    CHECK(e.argument() == "arg");
    CHECK(e.expected() == "2x2");
    CHECK(e.actual() == "3x3");
    CHECK(std::string(e.what()) == "where: argument 'arg': expected 2x2, got 3x3");
  }
}

TEST_CASE("device_error names the idemgen function, the failing call and the runtime's message", "[errors]") {
  const device_error e("cuda::gemm", "cublasSgemm", "CUBLAS_STATUS_EXECUTION_FAILED");
  CHECK(std::string(e.what()) == "cuda::gemm: argument 'cublasSgemm': expected success, got CUBLAS_STATUS_EXECUTION_FAILED");
  const error& base = e;  // caught by `catch (const idemgen::error&)`
  CHECK(base.where() == "cuda::gemm");
}

}  // namespace idemgen::test
