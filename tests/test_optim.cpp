// Optimisers against hand-computed updates; EMA, clipping and lr schedules.
#include <catch2/catch.hpp>

#include <cmath>

#include "support/gradcheck.hpp"

namespace idemgen::test {

namespace {
matrix column(std::initializer_list<double> v) {
  matrix m(static_cast<index_t>(v.size()), 1);
  std::copy(v.begin(), v.end(), m.data());
  return m;
}
}  // namespace

TEST_CASE("sgd with momentum matches hand-computed updates", "[optim]") {
  // p0 = 1, g = 0.5 every step, lr 0.1, μ 0.9: v = 0.5, 0.95, 1.355; p = 0.95, 0.855, 0.7195.
  matrix p = column({1.0}), g = column({0.5});
  optim::sgd<cpu> opt({.lr = 0.1, .momentum = 0.9});
  const double expected[] = {0.95, 0.855, 0.7195};
  for (double e : expected) {
    opt.step(p, g);
    CHECK(p(0, 0) == Approx(e).epsilon(1e-14));
  }
}

TEST_CASE("sgd with nesterov momentum matches hand-computed updates", "[optim]") {
  // d = g + μ v: d1 = 0.5 + 0.45 = 0.95 → p1 = 0.905; v2 = 0.95, d2 = 1.355 → p2 = 0.7695.
  matrix p = column({1.0}), g = column({0.5});
  optim::sgd<cpu> opt({.lr = 0.1, .momentum = 0.9, .nesterov = true});
  opt.step(p, g);
  CHECK(p(0, 0) == Approx(0.905).epsilon(1e-14));
  opt.step(p, g);
  CHECK(p(0, 0) == Approx(0.7695).epsilon(1e-14));
}

TEST_CASE("plain sgd with weight decay is gradient descent on L + wd/2 |p|^2", "[optim]") {
  matrix p = column({2.0, -1.0}), g = column({0.3, 0.1});
  optim::sgd<cpu> opt({.lr = 0.5, .weight_decay = 0.1});
  opt.step(p, g);
  CHECK(p(0, 0) == Approx(2.0 - 0.5 * (0.3 + 0.2)));
  CHECK(p(1, 0) == Approx(-1.0 - 0.5 * (0.1 - 0.1)));
}

TEST_CASE("adam and adamw match the reference update for several steps", "[optim]") {
  const double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.1;
  const double grads[4][2] = {{0.5, -0.2}, {0.1, 0.3}, {-0.4, 0.05}, {0.2, 0.2}};
  for (bool decoupled : {false, true}) {
    CAPTURE(decoupled);
    matrix p = column({1.0, -2.0});
    optim::adam<cpu> adam({.lr = lr, .beta1 = b1, .beta2 = b2, .eps = eps, .weight_decay = wd});
    optim::adamw<cpu> adamw({.lr = lr, .beta1 = b1, .beta2 = b2, .eps = eps, .weight_decay = wd});
    double ref[2] = {1.0, -2.0}, m[2] = {0, 0}, v[2] = {0, 0};
    for (int t = 1; t <= 4; ++t) {
      matrix g = column({grads[t - 1][0], grads[t - 1][1]});
      if (decoupled)
        adamw.step(p, g);
      else
        adam.step(p, g);
      for (int k = 0; k < 2; ++k) {  // Kingma & Ba Alg. 1 (+ L2 or decoupled decay)
        double gk = grads[t - 1][k];
        if (decoupled)
          ref[k] -= lr * wd * ref[k];
        else
          gk += wd * ref[k];
        m[k] = b1 * m[k] + (1 - b1) * gk;
        v[k] = b2 * v[k] + (1 - b2) * gk * gk;
        const double mhat = m[k] / (1 - std::pow(b1, t)), vhat = v[k] / (1 - std::pow(b2, t));
        ref[k] -= lr * mhat / (std::sqrt(vhat) + eps);
        CHECK(p(k, 0) == Approx(ref[k]).epsilon(1e-12));
      }
    }
  }
  // The first Adam step moves every coordinate by lr against the gradient's sign.
  matrix p = column({1.0}), g = column({123.0});
  optim::adam<cpu>({.lr = 0.1}).step(p, g);
  CHECK(p(0, 0) == Approx(0.9).epsilon(1e-7));
}

TEST_CASE("adamw's decay is decoupled: with zero gradient it is pure shrinkage", "[optim]") {
  matrix p = column({3.0}), zero = column({0.0});
  optim::adamw<cpu> adamw({.lr = 0.1, .weight_decay = 0.5});
  for (int t = 0; t < 5; ++t) adamw.step(p, zero);
  CHECK(p(0, 0) == Approx(3.0 * std::pow(1 - 0.1 * 0.5, 5)).epsilon(1e-14));
  // Coupled L2 instead feeds wd·p through the normalised moments: about lr per step.
  matrix q = column({3.0});
  optim::adam<cpu> adam({.lr = 0.1, .weight_decay = 0.5});
  for (int t = 0; t < 5; ++t) adam.step(q, zero);
  CHECK(q(0, 0) == Approx(3.0 - 5 * 0.1).epsilon(1e-3));
}

TEST_CASE("radam is bias-corrected momentum SGD until rho_t > 5, then rectified Adam", "[optim]") {
  const double lr = 0.1, b1 = 0.9, b2 = 0.999, eps = 1e-8;
  matrix p = column({1.0});
  optim::radam<cpu> opt({.lr = lr});
  double ref = 1.0, m = 0, v = 0;
  const double rho_inf = 2 / (1 - b2) - 1;
  for (int t = 1; t <= 8; ++t) {
    const double g = 0.3 + 0.1 * t;
    matrix gm = column({g});
    opt.step(p, gm);
    m = b1 * m + (1 - b1) * g;
    v = b2 * v + (1 - b2) * g * g;
    const double mhat = m / (1 - std::pow(b1, t));
    const double rho = rho_inf - 2 * t * std::pow(b2, t) / (1 - std::pow(b2, t));
    if (rho > 5) {
      const double r = std::sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho));
      ref -= lr * mhat * r * std::sqrt(1 - std::pow(b2, t)) / (std::sqrt(v) + eps);
    } else {
      ref -= lr * mhat;
    }
    CHECK(p(0, 0) == Approx(ref).epsilon(1e-12));
  }
}

TEST_CASE("optimisers reject mismatched buffers and bad options", "[optim][errors]") {
  matrix p(3, 1), g(2, 1);
  optim::adamw<cpu> opt;
  CHECK_THROWS_AS(opt.step(p, g), shape_error);
  CHECK_THROWS_AS(optim::adamw<cpu>({.lr = -1}), invalid_argument);
  CHECK_THROWS_AS(optim::adam<cpu>({.beta1 = 1.0}), invalid_argument);
  CHECK_THROWS_AS(optim::sgd<cpu>({.nesterov = true}), invalid_argument);
  // Once sized, the state does not silently follow a network of another size.
  matrix p3(3, 1), g3(3, 1), p4(4, 1), g4(4, 1);
  cpu::fill(g3, 0.1);
  cpu::fill(g4, 0.1);
  opt.step(p3, g3);
  CHECK_THROWS_AS(opt.step(p4, g4), shape_error);
}

TEST_CASE("ema starts at the weights and then follows d*avg + (1-d)*p", "[optim]") {
  matrix p = column({1.0});
  optim::ema<cpu> avg({.decay = 0.9});
  avg.update(p);
  CHECK(avg.average()[0] == 1.0);
  p(0, 0) = 2.0;
  avg.update(p);
  CHECK(avg.average()[0] == Approx(0.9 * 1.0 + 0.1 * 2.0));
  optim::ema<cpu> warm({.decay = 0.999, .warmup = true});
  CHECK(warm.current_decay() == Approx(0.1));  // (1 + 0) / (10 + 0)
  matrix target(1, 1);
  CHECK_THROWS_AS(optim::ema<cpu>().copy_to(target), invalid_argument);
}

TEST_CASE("clip_grad_norm rescales to max_norm only when the norm exceeds it", "[optim]") {
  matrix g = column({3.0, 4.0});
  CHECK(optim::clip_grad_norm<cpu>(g, 10.0) == Approx(5.0));
  CHECK(g(0, 0) == 3.0);
  CHECK(optim::clip_grad_norm<cpu>(g, 1.0) == Approx(5.0));
  CHECK(std::hypot(g(0, 0), g(1, 0)) == Approx(1.0).epsilon(1e-6));
  CHECK(g(0, 0) / g(1, 0) == Approx(0.75));
  matrix bad = column({std::nan(""), 1.0});
  CHECK(std::isnan(optim::clip_grad_norm<cpu>(bad, 1.0)));
  CHECK(bad(1, 0) == 1.0);  // left for the divergence guard, not scaled into NaN
}

TEST_CASE("lr schedules: warm-up is linear, cosine ends at min_lr", "[optim]") {
  const optim::linear_warmup w{.lr = 1.0, .warmup_steps = 4};
  CHECK(w.at(0) == Approx(0.25));
  CHECK(w.at(3) == Approx(1.0));
  CHECK(w.at(100) == 1.0);
  const optim::cosine_lr c{.lr = 1.0, .total_steps = 110, .warmup_steps = 10, .min_lr = 0.1};
  CHECK(c.at(10) == Approx(1.0));
  CHECK(c.at(60) == Approx(0.55));
  CHECK(c.at(110) == Approx(0.1));
  CHECK(c.at(1000) == Approx(0.1));
  const optim::lr_schedule s = optim::constant_lr{0.3};
  CHECK(optim::learning_rate_at(s, 5) == 0.3);
}

}  // namespace idemgen::test
