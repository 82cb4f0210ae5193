#pragma once
// What the one-step image models (IGN, NAIGN, NAIGN−: cli/images.cpp; SIGN: cli/sign_images.cpp)
// write after training and idemgen restore writes: the sample grid, the restoration grids and
// scores, and NAIGN Table 1's scores as JSON.

#include <algorithm>
#include <string>
#include <vector>

#include "cli/common.hpp"
#include "idemgen/data/degradations.hpp"
#include "idemgen/evaluation/one_step_images.hpp"
#include "idemgen/evaluation/restoration.hpp"
#include "idemgen/io/image_grid.hpp"
#include "idemgen/samplers/recursive.hpp"

namespace idemgen::cli {

/// The degradations NAIGN supp. §8 restores from (noise σ = 1, blur, lines-rows, salt & pepper),
/// a random mask (inpainting) and SIGN's checkerboard.
inline const std::vector<std::string>& standard_degradations() {
  static const std::vector<std::string> specs = {"noise:1", "noise:0.5", "blur:1.5", "lines:0.2",
                                                 "salt-pepper:0.2", "mask:0.3", "checkerboard:4"};
  return specs;
}

inline std::string file_name_of(std::string spec) {
  for (char& c : spec) c = c == ':' ? '_' : c;
  return spec;
}

/// Restores the first n images of `clean` under each degradation: DIR/restore_<spec>.png (rows:
/// clean, degraded, f(degraded), 16 images) and the scores as JSON rows.
template <class Net>
io::ordered_json write_restorations(const Net& net, const data::image_set& clean_set, index_t n,
                                    const std::vector<std::string>& specs, std::uint64_t seed, const std::string& out) {
  const data::image_shape shape = clean_set.shape;
  const index_t d = shape.size(), shown = std::min<index_t>(16, n);
  std::vector<double> clean(static_cast<std::size_t>(d * n));
  for (index_t j = 0; j < n; ++j) clean_set.image_to(j, clean.data() + j * d);
  io::ordered_json rows = io::ordered_json::array();
  for (const std::string& spec : specs) {
    const evaluation::restoration r =
        evaluation::restore_degraded(net, shape, clean, n, data::degradation::parse(spec), random_stream(seed).split(4));
    std::vector<double> grid(clean.begin(), clean.begin() + shown * d);
    grid.insert(grid.end(), r.degraded.begin(), r.degraded.begin() + shown * d);
    grid.insert(grid.end(), r.restored.begin(), r.restored.begin() + shown * d);
    io::write_image_grid_png(out + "/restore_" + file_name_of(spec) + ".png", grid.data(), shape, 3 * shown, shown, 2);
    const evaluation::restoration_scores& q = r.scores;
    rows.push_back({{"degradation", spec}, {"images", n}, {"mae_degraded", q.mae_degraded}, {"mae_restored", q.mae_restored},
                    {"psnr_degraded", q.psnr_degraded}, {"psnr_restored", q.psnr_restored},
                    {"ssim_degraded", q.ssim_degraded}, {"ssim_restored", q.ssim_restored}});
  }
  return rows;
}

/// samples.png: 32 samples f(z), and f(f(z)) of the same z below them; z ~ N(0, source_scale² I)
/// (SIGN's f generates from σ_max ε).
template <class Net>
void write_sample_grid(const Net& net, const data::image_shape& shape, std::uint64_t seed, const std::string& out,
                       double source_scale = 1) {
  constexpr index_t shown = 32;
  be::matrix z(shape.size(), shown);
  random_stream rng = random_stream(seed).split(2);
  be::fill_normal(z, rng, 0.0f, static_cast<float>(source_scale));
  const auto iterates = samplers::recursive(net, z, 2);
  std::vector<double> grid = to_host(iterates[0]);
  const std::vector<double> twice = to_host(iterates[1]);
  grid.insert(grid.end(), twice.begin(), twice.end());
  io::write_image_grid_png(out + "/samples.png", grid.data(), shape, 2 * shown, 16, 2);
}

inline io::ordered_json scores_json(const evaluation::one_step_image_scores& q) {
  return {{"fld_f_z", q.fld_f_z}, {"fld_f_f_z", q.fld_f_f_z}, {"coverage_f_z", q.f_z.coverage},
          {"density_f_z", q.f_z.density}, {"coverage_f_f_z", q.f_f_z.coverage}, {"density_f_f_z", q.f_f_z.density}};
}

}  // namespace idemgen::cli
