// The OT solvers on the costs couplings see, for bench/compare_ot.sh: writes each instance's
// points (float64, one point a row, d × n column-major) to DIR so that the peers
// (bench/ot_peers.py: SciPy, lap, POT) solve the same problems, then times ours and prints one
// line per run:
//   ours <instance> <solver> <n> <seconds> <cost>
// Instances (noise → data, sources N(0, I)): grid25, moons and shift (N((4, 0), 0.5² I)) in 2-D;
// clustered784 (10 clusters in [−1, 1]^784 with 0.1 noise: Fashion-MNIST's size, not its data);
// uniform (a uniform random m × n cost matrix, written whole). Costs: squared Euclidean, the
// cost of OT-CFM. Exact: transport::assignment_solver; Sinkhorn: ε = 0.05 · mean(C), L1
// marginal tolerance 1e-6. Medians of `reps` runs after one warm-up (one run, no warm-up, for n ≥ 2048).
//   bench_ot DIR [reps] [sizes...]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "idemgen/data/toy.hpp"
#include "idemgen/idemgen.hpp"
#include "idemgen/metrics/metric.hpp"

using namespace idemgen;
using be = backend::cpu<double>;

namespace {
void write_raw(const std::string& path, const double* p, std::size_t count) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(p), static_cast<std::streamsize>(count * sizeof(double)));
}

template <class F>
double median_seconds(int reps, F run, index_t n) {
  if (n >= 2048) reps = 1;  // as ot_peers.py: one timed run, no warm-up, at large n
  else run();
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    const auto start = std::chrono::steady_clock::now();
    run();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_ot DIR [reps] [sizes...]\n");
    return 2;
  }
  const std::string dir = argv[1];
  const int reps = argc > 2 ? std::atoi(argv[2]) : 3;
  std::vector<index_t> sizes;
  for (int k = 3; k < argc; ++k) sizes.push_back(std::atol(argv[k]));
  if (sizes.empty()) sizes = {256, 512, 1024, 2048, 4096};
  be::set_num_threads(1);  // the solvers are single-threaded, as are the peers'
  for (const std::string instance : {"grid25", "moons", "shift", "clustered784", "uniform"}) {
    for (const index_t n : sizes) {
      const index_t d = instance == "clustered784" ? 784 : 2;
      be::matrix costs(n, n);
      random_stream rng(static_cast<std::uint64_t>(n));
      const std::string stem = dir + "/" + instance + "_" + std::to_string(n);
      if (instance == "uniform") {
        be::fill_uniform(costs, rng);
        write_raw(stem + ".cost", costs.data(), static_cast<std::size_t>(n * n));
      } else {
        be::matrix z(d, n), x(d, n);
        be::fill_normal(z, rng);
        if (instance == "grid25") data::toy_sampler<be>(data::toy::grid25).sample(x, rng);
        if (instance == "moons") data::toy_sampler<be>(data::toy::moons).sample(x, rng);
        if (instance == "shift") {
          be::fill_normal(x, rng, 0.0, 0.5);
          for (index_t j = 0; j < n; ++j) x(0, j) += 4.0;
        }
        if (instance == "clustered784") {
          be::matrix centres(d, 10), label(1, n);
          be::fill_uniform(centres, rng, -1.0, 1.0);
          be::fill_uniform(label, rng, 0.0, 10.0);
          be::fill_normal(x, rng, 0.0, 0.1);
          for (index_t j = 0; j < n; ++j)
            for (index_t i = 0; i < d; ++i) x(i, j) += centres(i, std::min<index_t>(9, static_cast<index_t>(label(0, j))));
        }
        write_raw(stem + ".src", z.data(), static_cast<std::size_t>(d * n));
        write_raw(stem + ".tgt", x.data(), static_cast<std::size_t>(d * n));
        metric::squared_l2{}.cost<be>(z, x, costs);
      }
      transport::assignment_solver exact;
      double cost = 0;
      const double t_exact = median_seconds(reps, [&] { cost = exact.solve(be::const_view(costs)).cost; }, n);
      std::printf("ours %s exact %ld %.6g %.12g\n", instance.c_str(), static_cast<long>(n), t_exact, cost);
      std::fflush(stdout);
      if (n <= 2048) {
        transport::sinkhorn_solver sinkhorn;
        double plan_cost = 0;
        const double t_sk = median_seconds(reps, [&] {
          plan_cost = sinkhorn.solve(be::const_view(costs), {.epsilon = 0.05, .tolerance = 1e-6, .max_iterations = 100000})
                          .transport_cost;
        }, n);
        std::printf("ours %s sinkhorn %ld %.6g %.12g\n", instance.c_str(), static_cast<long>(n), t_sk,
                    plan_cost * static_cast<double>(n));
        std::fflush(stdout);
      }
    }
  }
  return 0;
}
