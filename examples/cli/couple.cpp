// idemgen couple: the exact or entropic optimal assignment between two point clouds of the same
// size, as a command. Reads A and B (CSV, one point a row), writes row i of A ↔ row π(i) of B
// with the pair's cost, and prints the total cost, the solver, its iterations and the seconds.
// Everything is read and checked before anything is written.

#include <chrono>
#include <cmath>
#include <cstdio>
#include <vector>

#include "cli/common.hpp"
#include "idemgen/io/csv.hpp"
#include "idemgen/metrics/metric.hpp"
#include "idemgen/transport/assignment.hpp"
#include "idemgen/transport/sinkhorn.hpp"

namespace idemgen::cli {

int couple_command(int argc, char** argv) {
  std::string source_path, target_path, out, solver = "exact", cost_name = "squared_l2";
  double epsilon = 0.05, tolerance = 1e-6;
  int max_iterations = 100000, threads = 2;
  std::uint64_t seed = 0;
  po::options_description desc(
      "idemgen couple: optimal one-to-one pairs between two point clouds of the same size\n"
      "(writes source,target,cost: row i of --source paired with row target of --target)");
  desc.add_options()("help,h", "show this help")
      ("source", po::value(&source_path)->required(), "CSV of points A, one a row (a header line is skipped)")
      ("target", po::value(&target_path)->required(), "CSV of points B, as many as A, same dimension")
      ("method", with_default(&solver), "exact (assignment) or sinkhorn (entropic plan, pairs drawn without replacement)")
      ("cost", with_default(&cost_name), "squared_l2, l2 or l1")
      ("epsilon", with_default(&epsilon), "sinkhorn: epsilon relative to the mean cost")
      ("tolerance", with_default(&tolerance), "sinkhorn: marginal error to stop at")
      ("max-iterations", with_default(&max_iterations), "sinkhorn: iteration cap")
      ("seed", with_default(&seed), "sinkhorn: seed of the pair draws")
      ("threads", with_default(&threads), "CPU threads for the cost matrix")
      ("out", po::value(&out)->required(), "output CSV of pairs");
  parse_or_exit(desc, argc, argv);
  if (solver != "exact" && solver != "sinkhorn") usage_error("--method: expected exact or sinkhorn, got " + solver);
  if (cost_name != "squared_l2" && cost_name != "l2" && cost_name != "l1")
    usage_error("--cost: expected squared_l2, l2 or l1, got " + cost_name);
  require_option(epsilon > 0 && std::isfinite(epsilon), "--epsilon", "a finite number > 0", epsilon);
  require_option(tolerance > 0 && std::isfinite(tolerance), "--tolerance", "a finite number > 0", tolerance);
  require_option(max_iterations >= 1, "--max-iterations", "an integer >= 1", max_iterations);
  require_option(threads >= 1 && threads <= 1024, "--threads", "an integer in [1, 1024]", threads);
  require_option(!std::filesystem::is_directory(out), "--out", "a file path", out + " (a directory)");
  using dbe = backend::cpu<double>;
  dbe::set_num_threads(threads);
  const io::points a = io::read_points_csv(source_path), b = io::read_points_csv(target_path);
  if (a.count != b.count || a.dim != b.dim)
    usage_error(fmt::format("--source has {} points of dimension {}, --target {} of dimension {}: expected the same",
                            a.count, a.dim, b.count, b.dim));
  const index_t n = a.count, d = a.dim;
  dbe::matrix costs(n, n);
  const dbe::const_view va(a.values.data(), d, n), vb(b.values.data(), d, n);
  if (cost_name == "squared_l2") metric::squared_l2{}.cost<dbe>(va, vb, costs);
  else if (cost_name == "l2") metric::l2{}.cost<dbe>(va, vb, costs);
  else metric::l1{}.cost<dbe>(va, vb, costs);
  // costs(i, j) = cost(a_i, b_j): rows are A's points (sources), columns B's (targets).
  const auto start = std::chrono::steady_clock::now();
  std::vector<index_t> source_of;
  long iterations = 0;
  std::string report;
  if (solver == "exact") {
    transport::assignment_solver s;
    const auto& r = s.solve(dbe::const_view(costs));
    source_of = r.source_of;
    iterations = r.augmentations;
    report = transport::assignment_solver::name;
  } else {
    transport::sinkhorn_solver s;
    const auto& plan = s.solve(dbe::const_view(costs), {.epsilon = epsilon, .tolerance = tolerance,
                                                        .max_iterations = max_iterations});
    random_stream rng(seed);
    std::vector<double> weights;
    std::vector<char> taken;
    transport::draw_pairs(dbe::const_view(costs), plan, rng, source_of, weights, taken);
    iterations = plan.iterations;
    report = fmt::format("{} (epsilon {:.4g} absolute, {}, marginal error {:.3g})", transport::sinkhorn_solver::name,
                         plan.epsilon, plan.converged ? "converged" : "NOT converged", plan.marginal_error);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::vector<index_t> target_of(static_cast<std::size_t>(n));
  for (index_t j = 0; j < n; ++j) target_of[static_cast<std::size_t>(source_of[static_cast<std::size_t>(j)])] = j;
  double total = 0;
  io::write_atomically(out, [&](std::ostream& s) {
    s << "source,target,cost\n";
    char buf[64];
    for (index_t i = 0; i < n; ++i) {
      const index_t j = target_of[static_cast<std::size_t>(i)];
      total += costs(i, j);
      std::snprintf(buf, sizeof buf, "%ld,%ld,%.9g\n", static_cast<long>(i), static_cast<long>(j), costs(i, j));
      s << buf;
    }
  });
  std::printf("idemgen: %ld pairs, total %s cost %.9g, %s, %ld iterations, %.4g s; wrote %s\n", static_cast<long>(n),
              cost_name.c_str(), total, report.c_str(), iterations, seconds, out.c_str());
  return 0;
}

}  // namespace idemgen::cli
