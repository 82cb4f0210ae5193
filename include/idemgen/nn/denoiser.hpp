#pragma once
// denoiser: D_θ(x; σ) = c_skip(σ) x + c_out(σ) F_θ(c_in(σ) x, c_noise(σ)) — EDM's preconditioning
// (Karras et al. 2022, eq. 7 and Table 1) around any network F that takes a conditioning row. σ is given per
// sample (1 × batch) as the conditioning row; the coefficients come from the Schedule
// (schedule::karras, schedule::vp). A denoiser is itself an nn::network (wrapped_network), so
// the generator trains it like any net. The gradient with respect to x includes the skip path:
//   ∂L/∂x = c_skip ∂L/∂D + c_in J_Fᵀ (c_out ∂L/∂D).

#include <cmath>
#include <cstddef>

#include "idemgen/nn/wrapped_network.hpp"
#include "idemgen/schedules/karras.hpp"

namespace idemgen::nn {

template <network Net, class Schedule = schedule::karras>
class denoiser : public wrapped_network<Net> {
 public:
  using schedule_type = Schedule;
  using backend_type = typename Net::backend_type;
  using B = backend_type;
  using scalar = typename B::scalar;
  using view = typename B::view;
  using const_view = typename B::const_view;

  struct cache {
    typename Net::cache net;
    typename B::matrix x_in, c_noise, coef, out, dx;  // coef rows: c_skip, c_out, c_in
    const_view x;
    index_t batch = 0;
  };

  explicit denoiser(Net net, Schedule schedule = {}) : wrapped_network<Net>(std::move(net)), schedule_(schedule) {
    schedule_.validate();
  }

  const Schedule& schedule() const { return schedule_; }
  using wrapped_network<Net>::dim;

  /// The architecture as JSON (see mlp::describe): EDM's preconditioning with σ_d around F.
  std::string describe() const requires requires(const Net& n, const Schedule& s) { n.describe(); s.sigma_data; s.sigma_max; s.sigma_min; s.rho; } {
    return fmt::format(R"({{"type": "edm_denoiser", "schedule": "{}", "sigma_data": {}, "sigma_min": {}, "sigma_max": {}, )"
                       R"("rho": {}, "net": {}}})",
                       Schedule::name, schedule_.sigma_data, schedule_.sigma_min, schedule_.sigma_max, schedule_.rho,
                       net_.describe());
  }

  /// D(x; σ) for x (dim × batch) and σ (1 × batch, every σ > 0).
  const_view forward(const_view x, const_view sigma, cache& c) const {
    idemgen::detail::require_shape("denoiser::forward", "sigma", 1, x.cols(), sigma.rows(), sigma.cols());
    const index_t d = x.rows(), n = x.cols();
    c.x = x;
    c.batch = n;
    c.coef.resize(3, n);
    c.c_noise.resize(1, n);
    c.x_in.resize(d, n);
    c.out.resize(d, n);
    const scalar* ps = sigma.data();
    scalar* coef = c.coef.data();
    scalar* cn = c.c_noise.data();
    const Schedule sch = schedule_;
    B::parallel_for(n, [=] IDEMGEN_HOST_DEVICE(index_t j) {
      const scalar s = ps[j];
      coef[3 * j] = sch.c_skip(s);
      coef[3 * j + 1] = sch.c_out(s);
      coef[3 * j + 2] = sch.c_in(s);
      cn[j] = sch.c_noise(s);
    });
    const scalar* px = x.data();
    scalar* xin = c.x_in.data();
    B::parallel_for_2d(d, n, [=] IDEMGEN_HOST_DEVICE(index_t i, index_t j) { xin[i + j * d] = coef[3 * j + 2] * px[i + j * d]; });
    const_view f = net_.forward(c.x_in, c.c_noise, c.net);
    const scalar* pf = f.data();
    scalar* out = c.out.data();
    B::parallel_for_2d(d, n, [=] IDEMGEN_HOST_DEVICE(index_t i, index_t j) {
      out[i + j * d] = coef[3 * j] * px[i + j * d] + coef[3 * j + 1] * pf[i + j * d];
    });
    return c.out;
  }

  const_view backward(cache& c, const_view dy, view grads) const { return backward_impl(c, dy, &grads); }
  const_view backward(cache& c, const_view dy, std::nullptr_t) const { return backward_impl(c, dy, nullptr); }

  // Public only because nvcc forbids device lambdas in private member functions.
  const_view backward_impl(cache& c, const_view dy, view* grads) const {
    const index_t d = dim(), n = c.batch;
    idemgen::detail::require_shape("denoiser::backward", "dy", d, n, dy.rows(), dy.cols());
    c.dx.resize(d, n);
    scalar* pdx = c.dx.data();  // first c_out · dy, the gradient for F's output
    const scalar* pdy = dy.data();
    const scalar* coef = c.coef.data();
    B::parallel_for_2d(d, n, [=] IDEMGEN_HOST_DEVICE(index_t i, index_t j) { pdx[i + j * d] = coef[3 * j + 1] * pdy[i + j * d]; });
    const_view dxin = grads ? net_.backward(c.net, c.dx, *grads) : net_.backward(c.net, c.dx, nullptr);
    const scalar* pin = dxin.data();
    B::parallel_for_2d(d, n, [=] IDEMGEN_HOST_DEVICE(index_t i, index_t j) {
      pdx[i + j * d] = coef[3 * j] * pdy[i + j * d] + coef[3 * j + 2] * pin[i + j * d];
    });
    return c.dx;
  }

 private:
  using wrapped_network<Net>::net_;
  Schedule schedule_;
};

}  // namespace idemgen::nn
