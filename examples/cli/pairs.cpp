// idemgen pairs: teacher-ODE pairs (LMM §3, App. A.4) generated once, in batches, and stored:
// z ~ N(0, I) from --seed's stream and y = Heun_teacher(σ_max z) over the teacher's Karras grid.
// The teacher is a model of points (mixture:DATASET, an mlp diffusion/cdm checkpoint) or of
// images (a unet diffusion/cdm checkpoint: pairs of its images, 250 at a time, the file records
// their shape). The file (teachers/pair_file.hpp) names the teacher, the sampler and z's stream;
// train on it with idemgen train --method lmm --pairs FILE (or SIGN's regression term: --method
// sign --pairs FILE). Everything is checked before anything is written.

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>

#include <unistd.h>

#include "cli/common.hpp"
#include "cli/teachers.hpp"
#include "cli/unet_net.hpp"
#include "idemgen/teachers/teacher.hpp"
#include "idemgen/teachers/pair_file.hpp"

namespace idemgen::cli {

int pairs_command(int argc, char** argv) {
  options o;
  std::string out;
  long n = 200000;
  const long chunk = 4096;
  po::options_description desc("idemgen pairs: teacher-ODE pairs (z, Heun(sigma_max z)) into a safetensors file");
  desc.add_options()("help,h", "show this help")
      ("teacher", po::value(&o.teacher)->required(),
       "mixture:DATASET (the analytic denoiser of a mixture dataset) or a diffusion/cdm checkpoint (its EMA weights) "
       "of points (mlp) or of images (unet)")
      ("teacher-steps", with_default(&o.teacher_steps),
       "the teacher's Heun grid points (18 = EDM's 35-NFE sampler)")
      ("sigma-max", with_default(&o.sigma_max), "the grid's sigma_max: y = Heun(sigma_max z)")
      ("n", with_default(&n), "number of pairs")
      ("seed", with_default(&o.seed), "seed of z's random stream")
      ("threads", with_default(&o.threads), "CPU threads")
      ("out", po::value(&out)->required(), "output pair file (.safetensors)");
  parse_or_exit(desc, argc, argv);
  require_option(n >= 1 && n <= (1L << 28), "--n", "an integer in [1, 2^28]", n);
  require_option(o.teacher_steps >= 2 && o.teacher_steps <= 10000, "--teacher-steps", "an integer in [2, 10000]",
                 o.teacher_steps);
  require_option(o.threads >= 1 && o.threads <= 1024, "--threads", "an integer in [1, 1024]", o.threads);
  require_option(o.sigma_max > 0 && std::isfinite(o.sigma_max), "--sigma-max", "a finite number > 0", o.sigma_max);
  require_option(!std::filesystem::is_directory(out), "--out", "a file path", out + " (a directory)");
  be::set_num_threads(o.threads);
  const teachers::ode_options ode{.grid = {.sigma_max = o.sigma_max, .steps = o.teacher_steps}};
  // dim: the teacher's points (2) or image pixels; columns: what one teacher pass takes at once.
  const auto write = [&](auto teacher, const std::string& name, index_t dim, long columns,
                         std::map<std::string, std::string> metadata) {
    const double bytes = 8.0 * static_cast<double>(dim) * static_cast<double>(n),  // z and y in float
        machine = static_cast<double>(::sysconf(_SC_PHYS_PAGES)) * static_cast<double>(::sysconf(_SC_PAGE_SIZE));
    if (machine > 0 && bytes > machine / 2)
      throw invalid_argument("idemgen", "--n", fmt::format("at most {:.0f} pairs of dimension {} on this machine",
                                                            std::floor(machine / 2 / (8.0 * dim)), dim),
                             std::to_string(n));
    const auto grid = ode.grid.grid();
    random_stream rng = random_stream(o.seed).split(11);
    const std::uint64_t first_block = rng.next_block();
    be::matrix z(dim, n), y(dim, n);
    be::fill_normal(z, rng);  // one draw: the file's z is the stream from first_block on
    const auto start = std::chrono::steady_clock::now();
    for (long first = 0; first < n; first += columns) {
      const index_t count = static_cast<index_t>(std::min(columns, n - first));
      teachers::ode_endpoints<be>(*teacher, ode, grid, be::const_view(z).columns(first, count),
                                  be::view(y).columns(first, count));
      std::fprintf(stderr, "\ridemgen: %ld / %ld pairs", first + count, n);
    }
    std::fprintf(stderr, "\n");
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    metadata.insert({{"teacher", name},
                     {"teacher_steps", std::to_string(o.teacher_steps)},
                     {"sigma_min", fmt::format("{}", ode.grid.sigma_min)},
                     {"sigma_max", fmt::format("{}", ode.grid.sigma_max)},
                     {"rho", fmt::format("{}", ode.grid.rho)},
                     {"sampler", "heun"},
                     {"seed", std::to_string(o.seed)},
                     {"seconds", fmt::format("{:.4g}", seconds)},
                     {"z_stream", "random_stream(seed).split(11), first block " + std::to_string(first_block)}});
    teachers::write_pairs<be>(out, z, y, std::move(metadata));
    std::printf("idemgen: %ld pairs from %s, Heun %d points (%d NFE each), %.3g s on %d threads; wrote %s\n", n,
                name.c_str(), o.teacher_steps, ode.nfe(), seconds, o.threads, out.c_str());
    return 0;
  };
  if (!o.teacher.empty() && o.teacher.rfind("mixture:", 0) != 0) {
    const io::safetensors file = io::read_safetensors(o.teacher);
    if (file.metadata.count("net") && file.metadata.at("net") == "unet") {
      const data::image_shape shape = unet_config_of(file.metadata, o.teacher).shape;
      // 250 images a pass, as idemgen sample draws them: the U-Net's caches for more take gigabytes.
      return write(load_image_teacher(o.teacher, shape), o.teacher, shape.size(), 250,
                   {{"image_shape", shape_text(shape)}});
    }
  }
  return with_chosen_teacher(
      o, [&](auto teacher, const std::string& name) { return write(std::move(teacher), name, 2, chunk, {}); });
}

}  // namespace idemgen::cli
