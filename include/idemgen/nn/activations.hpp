#pragma once
// Pointwise nonlinearities as small functors usable on host and device. Each gives its value and
// its derivative from the pre-activation z and the output y = value(z) (whichever is cheaper),
// so a fused layer computes y and, in backward, dz = dy · derivative(z, y) in one pass each.

#include <cmath>
#include <string>
#include <string_view>
#include <type_traits>

#include "idemgen/core/config.hpp"
#include "idemgen/core/errors.hpp"

namespace idemgen::nn {

enum class activation { identity, relu, leaky_relu, silu, gelu, tanh, sigmoid };

/// An activation with its parameter (the negative slope is used by leaky_relu only).
struct activation_spec {
  activation kind = activation::relu;
  double negative_slope = 0.01;  // PyTorch's LeakyReLU default
};

namespace act {
struct identity {
  template <class S> IDEMGEN_HOST_DEVICE S value(S z) const { return z; }
  template <class S> IDEMGEN_HOST_DEVICE S derivative(S, S) const { return S(1); }
};
struct relu {
  template <class S> IDEMGEN_HOST_DEVICE S value(S z) const { return z > S(0) ? z : S(0); }
  // Subgradient 0 at z = 0, as in PyTorch.
  template <class S> IDEMGEN_HOST_DEVICE S derivative(S z, S) const { return z > S(0) ? S(1) : S(0); }
};
struct leaky_relu {
  double slope;
  template <class S> IDEMGEN_HOST_DEVICE S value(S z) const { return z > S(0) ? z : S(slope) * z; }
  template <class S> IDEMGEN_HOST_DEVICE S derivative(S z, S) const { return z > S(0) ? S(1) : S(slope); }
};
/// Below this z, σ(z) ≈ e^z is under 1e−34 (float) or 1e−304 (double): σ and SiLU return 0
/// there rather than a subnormal, whose arithmetic — and that of every GEMM it enters — runs
/// many times slower on x86 (inputs of scale σ_max·ε, as SIGN's f gets, reach this range).
template <class S>
IDEMGEN_HOST_DEVICE constexpr S subnormal_cutoff() { return sizeof(S) == 4 ? S(-78) : S(-700); }
struct sigmoid {
  template <class S> IDEMGEN_HOST_DEVICE S value(S z) const {
    return z < subnormal_cutoff<S>() ? S(0) : S(1) / (S(1) + std::exp(-z));
  }
  template <class S> IDEMGEN_HOST_DEVICE S derivative(S, S y) const { return y * (S(1) - y); }
};
struct silu {  // z·σ(z), also called swish
  template <class S> IDEMGEN_HOST_DEVICE S value(S z) const {
    return z < subnormal_cutoff<S>() ? S(0) : z / (S(1) + std::exp(-z));
  }
  // f′ = σ(1 + z(1 − σ)) = σ + y(1 − σ), with σ = y / z from the forward's y: no second exp
  // (a scalar libm call a value; the division vectorises). z = 0: σ = 1/2.
  template <class S> IDEMGEN_HOST_DEVICE S derivative(S z, S y) const {
    if (z < subnormal_cutoff<S>()) return S(0);
    const S s = z == S(0) ? S(0.5) : y / z;
    return s + y * (S(1) - s);
  }
};
struct gelu {  // exact form z·Φ(z) (PyTorch's default, not the tanh approximation)
  template <class S> IDEMGEN_HOST_DEVICE S value(S z) const {
    return S(0.5) * z * (S(1) + std::erf(z * S(0.7071067811865476)));
  }
  template <class S> IDEMGEN_HOST_DEVICE S derivative(S z, S) const {
    const S half_square = S(0.5) * z * z;  // the density term, 0 where it would be subnormal
    const S density = -half_square < subnormal_cutoff<S>() ? S(0) : std::exp(-half_square);
    return S(0.5) * (S(1) + std::erf(z * S(0.7071067811865476))) + z * S(0.3989422804014327) * density;
  }
};
struct tanh {
  template <class S> IDEMGEN_HOST_DEVICE S value(S z) const { return std::tanh(z); }
  template <class S> IDEMGEN_HOST_DEVICE S derivative(S, S y) const { return S(1) - y * y; }
};
}  // namespace act

/// Calls fn(functor) with the functor type for `spec`, so that kernels are instantiated per
/// activation and the switch happens once per layer call, not per element.
template <class Fn>
decltype(auto) dispatch_activation(const activation_spec& spec, Fn&& fn) {
  switch (spec.kind) {
    case activation::identity: return fn(act::identity{});
    case activation::relu: return fn(act::relu{});
    case activation::leaky_relu: return fn(act::leaky_relu{spec.negative_slope});
    case activation::silu: return fn(act::silu{});
    case activation::gelu: return fn(act::gelu{});
    case activation::tanh: return fn(act::tanh{});
    case activation::sigmoid: return fn(act::sigmoid{});
  }
  throw invalid_argument("dispatch_activation", "kind", "a known activation",
                         std::to_string(static_cast<int>(spec.kind)));
}

inline constexpr std::string_view activation_names[] = {"identity", "relu", "leaky_relu", "silu",
                                                         "gelu",     "tanh", "sigmoid"};

inline std::string_view to_string(activation a) { return activation_names[static_cast<int>(a)]; }

/// Parses a name as written by to_string; throws invalid_argument naming the valid ones.
inline activation parse_activation(std::string_view name) {
  for (int i = 0; i < 7; ++i)
    if (activation_names[i] == name) return static_cast<activation>(i);
  throw invalid_argument("parse_activation", "name",
                         "one of identity, relu, leaky_relu, silu, gelu, tanh, sigmoid",
                         std::string(name));
}

/// y = f(z) and dz = dy · f'(z, y) elementwise on backend B — one pass each; free functions
/// because nvcc allows no device lambda inside a generic lambda (dispatch_activation's callback).
template <numeric_backend B, class F>
void apply_activation(F f, const typename B::scalar* z, typename B::scalar* y, index_t n) {
  using S = typename B::scalar;
  if constexpr (std::is_same_v<F, act::silu> && requires { B::silu_values(z, y, n, S(0)); })
    B::silu_values(z, y, n, act::subnormal_cutoff<S>());  // the backend's vectorised exp (backend::cpu)
  else
    B::parallel_for(n, [=] IDEMGEN_HOST_DEVICE(index_t e) { y[e] = f.value(z[e]); });
}
template <numeric_backend B, class F>
void apply_activation_derivative(F f, const typename B::scalar* dy, const typename B::scalar* z,
                                 const typename B::scalar* y, typename B::scalar* dz, index_t n) {
  B::parallel_for(n, [=] IDEMGEN_HOST_DEVICE(index_t e) { dz[e] = dy[e] * f.derivative(z[e], y[e]); });
}

}  // namespace idemgen::nn
