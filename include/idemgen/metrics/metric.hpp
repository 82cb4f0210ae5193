#pragma once
// The distance D(a, b) used in every loss term (IGN/NAIGN eq. 3–8: D is every term's distance; the batch takes the mean), per sample (column):
//   l2            ‖a − b‖           (NAIGN/SIGN "ℓ2" for 2-D data; unit-direction gradient)
//   l1            Σ|a − b|          (NAIGN's image metric)
//   squared_l2    ‖a − b‖²          (the IGN code's MSE up to the 1/D factor)
//   pseudo_huber  √(‖a − b‖² + c²) − c   (iCT)
// All four are functions of r = a − b and say so (`of_difference = true`), so ∂D/∂b = −∂D/∂a and
// each gives only ∂D/∂a; a term that needs ∂D/∂b (idempotence) requires metric::of_difference.
// Over the batch a loss takes the mean (T5); `per_dim` divides by D as PyTorch's mean would.

#include <cmath>
#include <concepts>

#include "idemgen/core/concepts.hpp"
#include "idemgen/core/errors.hpp"

namespace idemgen::metric {

/// A per-sample distance on feature columns.
///
/// Requires of M (for every backend B):
///   M::name                                           a short name for logs ("l2")
///   m.evaluate<B>(a, b, per_sample, grad_a, scale)    per_sample(j) = D(a_j, b_j) (1 × n);
///                                                     grad_a = scale · ∂D(a_j, b_j)/∂a_j
///                                                     (d × n; may alias neither a nor b);
///                                                     returns Σ_j D(a_j, b_j)
///   m.pairwise<B>(a, b, out)                          out(i, j) = a value that orders like
///                                                     D(a_i, b_j) (for nearest-neighbour search)
/// Ensures: D ≥ 0, D(a, a) = 0, finite gradient at a = b (zero subgradient or smoothing).
///
/// A metric that is also a transport cost (what minibatch-OT couplings minimise: a sum of D
/// over pairs, so the exact value matters, not only its order) adds
///   m.cost<B>(a, b, out)                              out(i, j) = D(a_i, b_j), ≥ 0 exactly
/// All four metrics here are. Squared distances come from the backend's
/// pairwise_squared_distances: exact differences for d ≤ 8, the GEMM identity clamped at 0 above.
template <class M, class B>
concept distance = numeric_backend<B> &&
    requires(const M m, typename B::const_view a, typename B::view v, typename B::scalar s) {
  { M::name } -> std::convertible_to<const char*>;
  { m.template evaluate<B>(a, a, v, v, s) } -> std::convertible_to<double>;
  m.template pairwise<B>(a, a, v);
};

/// A distance that is a function of a − b (it declares `static constexpr bool of_difference =
/// true`): ∂D/∂b = −∂D/∂a, the shortcut a term may take only for such a metric.
template <class M>
concept of_difference = requires { requires M::of_difference; };

/// A distance that can price an assignment (see above).
template <class M, class B>
concept transport_cost = distance<M, B> && requires(const M m, typename B::const_view a, typename B::view v) {
  m.template cost<B>(a, a, v);
};

namespace detail {
/// out = (√(out + ε²) − ε) · scale elementwise (ε = 0: the root of squared distances).
template <class B>
void root_of_squares(typename B::view out, double smoothing, double scale) {
  using S = typename B::scalar;
  S* p = out.data();
  const S eps = static_cast<S>(smoothing), k = static_cast<S>(scale);
  B::parallel_for(out.size(), [=] IDEMGEN_HOST_DEVICE(index_t e) { p[e] = (std::sqrt(p[e] + eps * eps) - eps) * k; });
}
inline double per_dim_scale(bool per_dim, index_t d) { return per_dim ? 1.0 / static_cast<double>(d) : 1.0; }

template <class B>
void check_pair(const char* where, typename B::const_view a, typename B::const_view b,
                typename B::const_view per_sample, typename B::const_view grad_a) {
  idemgen::detail::require_shape(where, "b", a.rows(), a.cols(), b.rows(), b.cols());
  idemgen::detail::require_dim(where, "per_sample", "size", a.cols(), per_sample.size());
  idemgen::detail::require_shape(where, "grad_a", a.rows(), a.cols(), grad_a.rows(), grad_a.cols());
}

/// Runs body(r, d, inv_dim) per column where r points at grad_a's column holding a − b; the body
/// returns D and overwrites r with ∂D/∂a (unscaled); then scales and reduces.
template <class B, class Body>
double per_column(const char* where, typename B::const_view a, typename B::const_view b,
                  typename B::view per_sample, typename B::view grad_a, typename B::scalar scale,
                  bool per_dim, Body body) {
  using S = typename B::scalar;
  check_pair<B>(where, a, b, per_sample, grad_a);
  const index_t d = a.rows();
  const S* pa = a.data();
  const S* pb = b.data();
  S* pg = grad_a.data();
  S* ps = per_sample.data();
  const S norm = per_dim ? S(1) / S(d) : S(1);
  B::parallel_for(a.cols(), [=] IDEMGEN_HOST_DEVICE(index_t j) {
    S* r = pg + j * d;
    for (index_t i = 0; i < d; ++i) r[i] = pa[i + j * d] - pb[i + j * d];
    ps[j] = norm * body(r, d);
    for (index_t i = 0; i < d; ++i) r[i] *= scale * norm;
  });
  return B::sum(per_sample);
}
// The per-column bodies (value, and ∂D/∂a written over r = a − b), as named functors: nvcc
// accepts no function-local lambda type in a kernel's template arguments.
template <class S>
struct l2_column {
  S eps;
  IDEMGEN_HOST_DEVICE S operator()(S* r, index_t d) const {
    S sq = 0;
    for (index_t i = 0; i < d; ++i) sq += r[i] * r[i];
    const S n = std::sqrt(sq + eps * eps);
    const S inv = n > S(0) ? S(1) / n : S(0);
    for (index_t i = 0; i < d; ++i) r[i] *= inv;
    return n - eps;
  }
};
template <class S>
struct squared_l2_column {
  IDEMGEN_HOST_DEVICE S operator()(S* r, index_t d) const {
    S sq = 0;
    for (index_t i = 0; i < d; ++i) sq += r[i] * r[i];
    for (index_t i = 0; i < d; ++i) r[i] *= S(2);
    return sq;
  }
};
template <class S>
struct l1_column {
  IDEMGEN_HOST_DEVICE S operator()(S* r, index_t d) const {
    S s = 0;
    for (index_t i = 0; i < d; ++i) {
      s += std::abs(r[i]);
      r[i] = r[i] > S(0) ? S(1) : (r[i] < S(0) ? S(-1) : S(0));
    }
    return s;
  }
};
}  // namespace detail

struct l2 {
  static constexpr const char* name = "l2";
  static constexpr bool of_difference = true;  // D(a, b) = φ(a − b): ∂D/∂b = −∂D/∂a
  double smoothing = 0.0;  // ε > 0: √(‖r‖² + ε²) − ε, smooth at 0; ε = 0: exact, zero subgradient
  bool per_dim = false;

  template <numeric_backend B>
  double evaluate(typename B::const_view a, typename B::const_view b, typename B::view per_sample,
                  typename B::view grad_a, typename B::scalar scale) const {
    using S = typename B::scalar;
    const S eps = static_cast<S>(smoothing);
    return detail::per_column<B>("metric::l2", a, b, per_sample, grad_a, scale, per_dim,
                                 detail::l2_column<S>{eps});
  }
  template <numeric_backend B>
  void pairwise(typename B::const_view a, typename B::const_view b, typename B::view out) const {
    B::pairwise_squared_distances(a, b, out);  // monotone in ‖·‖
  }
  template <numeric_backend B>
  void cost(typename B::const_view a, typename B::const_view b, typename B::view out) const {
    B::pairwise_squared_distances(a, b, out);
    detail::root_of_squares<B>(out, smoothing, detail::per_dim_scale(per_dim, a.rows()));
  }
};

struct squared_l2 {
  static constexpr const char* name = "squared_l2";
  static constexpr bool of_difference = true;  // D(a, b) = φ(a − b): ∂D/∂b = −∂D/∂a
  bool per_dim = false;

  template <numeric_backend B>
  double evaluate(typename B::const_view a, typename B::const_view b, typename B::view per_sample,
                  typename B::view grad_a, typename B::scalar scale) const {
    using S = typename B::scalar;
    return detail::per_column<B>("metric::squared_l2", a, b, per_sample, grad_a, scale, per_dim,
                                 detail::squared_l2_column<S>{});
  }
  template <numeric_backend B>
  void pairwise(typename B::const_view a, typename B::const_view b, typename B::view out) const {
    B::pairwise_squared_distances(a, b, out);
  }
  template <numeric_backend B>
  void cost(typename B::const_view a, typename B::const_view b, typename B::view out) const {
    B::pairwise_squared_distances(a, b, out);
    if (per_dim) B::scale(out, static_cast<typename B::scalar>(detail::per_dim_scale(per_dim, a.rows())));
  }
};

/// iCT's pseudo-Huber distance is the smoothed l2 with ε = c.
struct pseudo_huber {
  static constexpr const char* name = "pseudo_huber";
  static constexpr bool of_difference = true;  // D(a, b) = φ(a − b): ∂D/∂b = −∂D/∂a
  double c = -1.0;  // < 0: iCT's rule c = 0.00054 √D
  bool per_dim = false;

  template <numeric_backend B>
  double evaluate(typename B::const_view a, typename B::const_view b, typename B::view per_sample,
                  typename B::view grad_a, typename B::scalar scale) const {
    const double cc = c >= 0 ? c : 0.00054 * std::sqrt(static_cast<double>(a.rows()));
    return l2{.smoothing = cc, .per_dim = per_dim}.evaluate<B>(a, b, per_sample, grad_a, scale);
  }
  template <numeric_backend B>
  void pairwise(typename B::const_view a, typename B::const_view b, typename B::view out) const {
    B::pairwise_squared_distances(a, b, out);  // monotone in ‖·‖
  }
  template <numeric_backend B>
  void cost(typename B::const_view a, typename B::const_view b, typename B::view out) const {
    const double cc = c >= 0 ? c : 0.00054 * std::sqrt(static_cast<double>(a.rows()));
    l2{.smoothing = cc, .per_dim = per_dim}.cost<B>(a, b, out);
  }
};

struct l1 {
  static constexpr const char* name = "l1";
  static constexpr bool of_difference = true;  // D(a, b) = φ(a − b): ∂D/∂b = −∂D/∂a
  bool per_dim = false;

  template <numeric_backend B>
  double evaluate(typename B::const_view a, typename B::const_view b, typename B::view per_sample,
                  typename B::view grad_a, typename B::scalar scale) const {
    using S = typename B::scalar;
    return detail::per_column<B>("metric::l1", a, b, per_sample, grad_a, scale, per_dim,
                                 detail::l1_column<S>{});
  }
  /// Direct O(n·m·d) kernel: the GEMM identity serves only squared ℓ2 (‖a‖² + ‖b‖² − 2aᵀb holds for it alone).
  template <numeric_backend B>
  void pairwise(typename B::const_view a, typename B::const_view b, typename B::view out) const {
    using S = typename B::scalar;
    idemgen::detail::require_dim("metric::l1::pairwise", "b", "rows", a.rows(), b.rows());
    idemgen::detail::require_shape("metric::l1::pairwise", "out", a.cols(), b.cols(), out.rows(), out.cols());
    const index_t d = a.rows(), m = a.cols();
    const S* pa = a.data();
    const S* pb = b.data();
    S* po = out.data();
    B::parallel_for_2d(m, b.cols(), [=] IDEMGEN_HOST_DEVICE(index_t i, index_t j) {
      S s = 0;
      for (index_t k = 0; k < d; ++k) s += std::abs(pa[k + i * d] - pb[k + j * d]);
      po[i + j * m] = s;
    });
  }
  template <numeric_backend B>
  void cost(typename B::const_view a, typename B::const_view b, typename B::view out) const {
    pairwise<B>(a, b, out);
    if (per_dim) B::scale(out, static_cast<typename B::scalar>(detail::per_dim_scale(per_dim, a.rows())));
  }
};

}  // namespace idemgen::metric
