// A training step in steady state allocates nothing. Every heap allocation in the
// process is counted — operator new and the C allocator that OpenBLAS, libgomp and aligned
// buffers use — by replacing them with counting wrappers around glibc's own.
// CTest runs it with OPENBLAS_CORETYPE=HASWELL: OpenBLAS 0.3.21's AVX-512 small-matrix sgemm
// kernels malloc on every call (docs/RELIABILITY.md); run by hand on an AVX-512 machine without
// it, the counts include theirs, and each check says so.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <malloc.h>
#include <new>
#include <string>
#if defined(IDEMGEN_USE_CBLAS)
#include <cblas.h>
#endif

#include "idemgen/idemgen.hpp"
#include "idemgen/models/diffusion.hpp"
#include "idemgen/models/flow_matching.hpp"
#include "idemgen/models/lmm.hpp"
#include "idemgen/models/naign.hpp"
#include "idemgen/models/sign.hpp"
#include "idemgen/samplers/model_function.hpp"
#include "idemgen/teachers/mixture.hpp"

namespace {
std::atomic<long> allocations{0};
std::atomic<bool> counting{false};
inline void count() {
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace

extern "C" {
void* __libc_malloc(size_t);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void* __libc_memalign(size_t, size_t);
void __libc_free(void*);

void* malloc(size_t n) {
  count();
  return __libc_malloc(n);
}
void* calloc(size_t n, size_t s) {
  count();
  return __libc_calloc(n, s);
}
void* realloc(void* p, size_t n) {
  count();
  return __libc_realloc(p, n);
}
void* memalign(size_t a, size_t n) {
  count();
  return __libc_memalign(a, n);
}
void* aligned_alloc(size_t a, size_t n) {
  count();
  return __libc_memalign(a, n);
}
int posix_memalign(void** out, size_t a, size_t n) {
  count();
  *out = __libc_memalign(a, n);
  return *out ? 0 : ENOMEM;
}
void free(void* p) { __libc_free(p); }
}

void* operator new(std::size_t n) {
  void* p = malloc(n);  // counted there
  if (!p) throw std::bad_alloc();
  return p;
}
void* operator new[](std::size_t n) { return operator new(n); }
void operator delete(void* p) noexcept { free(p); }
void operator delete[](void* p) noexcept { free(p); }
void operator delete(void* p, std::size_t) noexcept { free(p); }
void operator delete[](void* p, std::size_t) noexcept { free(p); }

namespace idemgen::test {

using be = backend::cpu<float>;

/// OpenBLAS's kernel family, for the checks' messages.
inline std::string openblas_core() {
#if defined(IDEMGEN_USE_CBLAS)
  return openblas_get_corename();
#else
  return "(no OpenBLAS)";
#endif
}

// The contract is OpenBLAS's with its AVX2 kernels: IDEMGEN_GEMM in the environment must not
// change what these tests measure.
template <class Net, class Optimizer>
long allocations_in_steady_state(Net& net, Optimizer& opt, index_t batch, int threads,
                                 backend::host_sgemm kernel = backend::host_sgemm::openblas) {
  backend::set_host_sgemm(kernel);
  UNSCOPED_INFO("OpenBLAS kernels: " << openblas_core() << " (AVX-512 ones malloc; CTest sets OPENBLAS_CORETYPE=HASWELL)");
  be::set_num_threads(threads);
  be::matrix x(net.input_dim(), batch), dy(net.output_dim(), batch), cond(1, batch);
  random_stream rng(1);
  typename Net::cache c1, c2;
  optim::ema<be> average;
  const auto step = [&] {
    be::fill_normal(x, rng);
    be::fill_uniform(cond, rng);
    be::fill_normal(dy, rng);
    net.zero_grad();
    // Two calls per step, as the IGN losses do: f(x) trained, then f(f(x)) through a frozen
    // outer call.
    const auto cv = net.cond_rows() ? be::const_view(cond) : be::const_view{};
    const auto u = net.forward(x, cv, c1);
    net.forward(u, cv, c2);
    const auto du = net.backward(c2, dy, nullptr);
    net.backward(c1, du, net.gradients());
    optim::clip_grad_norm<be>(net.gradients(), 1.0);
    opt.step(net.parameters(), net.gradients());
    average.update(net.parameters());
  };
  for (int k = 0; k < 3; ++k) step();  // warm-up: caches, optimiser state, thread pools
  allocations = 0;
  counting = true;
  for (int k = 0; k < 5; ++k) step();
  counting = false;
  return allocations.load();
}

TEST_CASE("an mlp training step (forward x2, backward x2, clip, adamw, ema) allocates nothing",
          "[allocations]") {
  nn::mlp<be> net({.input_dim = 2, .output_dim = 2, .hidden = {512, 512, 512}}, 0);
  optim::adamw<be> opt;
  for (int threads : {1, 2}) {
    CAPTURE(threads);
    CHECK(allocations_in_steady_state(net, opt, 512, threads) == 0);
  }
}

#if defined(IDEMGEN_HAVE_ONEDNN_SGEMM)
// oneDNN's sgemm (IDEMGEN_GEMM=onednn) mallocs its packing buffers on every call: why it is not
// the default. The count is fixed: the same in every step.
TEST_CASE("on oneDNN's sgemm an mlp training step allocates a fixed count, the same every step", "[allocations]") {
  nn::mlp<be> net({.input_dim = 2, .output_dim = 2, .hidden = {512, 512, 512}}, 0);
  optim::adamw<be> opt;
  for (int threads : {1, 2}) {
    CAPTURE(threads);
    const long first = allocations_in_steady_state(net, opt, 512, threads, backend::host_sgemm::onednn);
    const long second = allocations_in_steady_state(net, opt, 512, threads, backend::host_sgemm::onednn);
    CHECK(first > 0);  // oneDNN's sgemm ran
    CHECK(second == first);
  }
  backend::set_host_sgemm(backend::host_sgemm::openblas);
}
#endif

TEST_CASE("a conditioned resmlp training step allocates nothing", "[allocations]") {
  nn::resmlp<be> net({.input_dim = 8, .output_dim = 8, .width = 128, .blocks = 2,
                      .cond = {.dim = 16, .kind = nn::embedding_kind::fourier}},
                     0);
  optim::sgd<be> opt({.lr = 1e-3, .momentum = 0.9});
  CHECK(allocations_in_steady_state(net, opt, 256, 2) == 0);
}

TEST_CASE("a conditioned unet training step allocates nothing on the im2col path", "[allocations]") {
  nn::unet<be> net({.channels_in = 1, .height = 8, .width = 8, .channels = {16, 32}, .groups = 4, .embedding_width = 16,
                    .cond = {.dim = 4, .kind = nn::embedding_kind::fourier, .fourier_scale = 1, .seed = 3}},
                   0);
  optim::adamw<be> opt;
#if defined(IDEMGEN_USE_DNNL)
  const bool saved = backend::dnnl_conv::enabled();
  backend::dnnl_conv::set_enabled(false);
#endif
  for (int threads : {1, 2}) {
    CAPTURE(threads);
    CHECK(allocations_in_steady_state(net, opt, 32, threads) == 0);
  }
#if defined(IDEMGEN_USE_DNNL)
  backend::dnnl_conv::set_enabled(saved);
#endif
}

#if defined(IDEMGEN_USE_DNNL)
// oneDNN 2.6 builds a map of its arguments on every primitive call (its exec_args_t), so its
// calls allocate: a fixed number a step. Our plans (buffers, scratchpads) are made once.
TEST_CASE("on oneDNN, a unet training step allocates only oneDNN's per-call argument maps, the same count every step",
          "[allocations]") {
  nn::unet<be> net({.channels_in = 1, .height = 8, .width = 8, .channels = {16, 32}, .groups = 4, .embedding_width = 16,
                    .cond = {.dim = 4, .kind = nn::embedding_kind::fourier, .fourier_scale = 1, .seed = 3}},
                   0);
  optim::adamw<be> opt;
  for (int threads : {1, 2}) {
    CAPTURE(threads);
    const long first = allocations_in_steady_state(net, opt, 32, threads);
    const long second = allocations_in_steady_state(net, opt, 32, threads);
    CHECK(first > 0);  // the oneDNN path ran
    CHECK(second == first);
  }
}
#endif

template <class Generator>
long generator_allocations(Generator& gen) {
  backend::set_host_sgemm(backend::host_sgemm::openblas);
  UNSCOPED_INFO("OpenBLAS kernels: " << openblas_core() << " (AVX-512 ones malloc; CTest sets OPENBLAS_CORETYPE=HASWELL)");
  be::set_num_threads(2);
  be::matrix x(2, 256);
  random_stream rng(2);
  for (int k = 0; k < 3; ++k) {
    be::fill_normal(x, rng);
    gen.train_step(x);
  }
  allocations = 0;
  counting = true;
  for (int k = 0; k < 3; ++k) {
    be::fill_normal(x, rng);
    gen.train_step(x);
  }
  counting = false;
  return allocations.load();
}

TEST_CASE("a generator's training step allocates nothing: NAIGN, EDM, CDM, flow matching, OT couplings, LMM, SIGN, reflow", "[allocations]") {
  using net_t = nn::mlp<be>;
  const auto conditioned = [] {
    return net_t({.input_dim = 2, .output_dim = 2, .hidden = {64, 64}, .cond = {.dim = 8}}, 0);
  };
  const models::generator_options opt{.ema_decay = 0.99};
  SECTION("naign") {
    models::naign<net_t> gen(net_t({.input_dim = 2, .output_dim = 2, .hidden = {64, 64}}, 0), {}, {}, opt);
    CHECK(generator_allocations(gen) == 0);
  }
  SECTION("diffusion") {
    models::diffusion<net_t> gen(nn::denoiser<net_t>(conditioned()), {}, {}, opt);
    CHECK(generator_allocations(gen) == 0);
  }
  SECTION("cdm") {
    models::cdm<net_t> gen(nn::denoiser<net_t>(conditioned()), {}, {}, opt);
    CHECK(generator_allocations(gen) == 0);
  }
  SECTION("flow matching") {
    models::flow_matching<net_t> gen(nn::velocity<net_t>(conditioned()), {}, {}, opt);
    CHECK(generator_allocations(gen) == 0);
  }
  SECTION("OT-coupled naign, M = 2 N (rectangular exact assignment)") {
    models::ot_naign<net_t> gen(net_t({.input_dim = 2, .output_dim = 2, .hidden = {64, 64}}, 0), {}, {}, opt,
                                {.candidates_per_sample = 2});
    CHECK(generator_allocations(gen) == 0);
  }
  SECTION("LMM over online teacher-ODE pairs, SIGN, 2-rectified flow") {
    using mixture_t = evaluation::mixture_denoiser<be>;
    const auto teacher = std::make_shared<mixture_t>(*teachers::exact_denoiser<be>(data::toy::grid25));
    const schedule::karras_grid grid{.steps = 6};
    models::lmm<net_t, mixture_t> lmm(nn::denoiser<net_t>(conditioned()), models::lmm_losses({.schedule = grid}), {},
                                      {.ema_decay = 0.99}, {.teacher = teacher, .ode = {.grid = grid}});
    CHECK(generator_allocations(lmm) == 0);
    models::sign<net_t, mixture_t> sign(
        net_t({.input_dim = 2, .output_dim = 2, .hidden = {64, 64}}, 0),
        models::sign_losses<mixture_t>({}, {}, {.teacher = teacher, .schedule = grid}, {.schedule = grid}), {},
        {.ema_decay = 0.99, .source_scale = 80.0});
    CHECK(generator_allocations(sign) == 0);
    const nn::velocity<net_t> first(conditioned());
    using previous_t = decltype(samplers::model_function(first));
    models::rectified_flow<net_t, previous_t> rf2(nn::velocity<net_t>(conditioned()), {}, {}, opt,
                                                  {.previous = std::make_shared<previous_t>(samplers::model_function(first)),
                                                   .steps = 4});
    CHECK(generator_allocations(rf2) == 0);
  }
  SECTION("OT-CFM, exact and sinkhorn") {
    models::ot_flow_matching<net_t> exact(nn::velocity<net_t>(conditioned()), {}, {}, opt);
    CHECK(generator_allocations(exact) == 0);
    models::ot_flow_matching<net_t, coupling::sinkhorn> entropic(nn::velocity<net_t>(conditioned()), {}, {}, opt);
    CHECK(generator_allocations(entropic) == 0);
  }
}

TEST_CASE("the counter sees allocations (the test above can fail)", "[allocations]") {
  allocations = 0;
  counting = true;
  be::matrix grown(1000, 1000);
  void* raw = std::malloc(16);
  counting = false;
  std::free(raw);
  CHECK(allocations.load() >= 2);
}

}  // namespace idemgen::test
