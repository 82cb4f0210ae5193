#pragma once
// Shared pieces of the `idemgen` command-line program (examples/cli/): command-line parsing,
// pictures and the commands. The options and the training loop are in train_on.hpp (no Boost, so
// that the CUDA translation unit can include it). One-step methods (IGN, NAIGN) live in
// one_step.cpp, noised methods (diffusion, CDM, flow matching) in noised.cpp.

#include <boost/program_options.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "idemgen/data/dataset.hpp"
#include "idemgen/idemgen.hpp"
#include "idemgen/io/safetensors.hpp"
#include "idemgen/models/generator.hpp"
#include "idemgen/train/trainer.hpp"
#include "cli/methods.hpp"
#include "cli/train_on.hpp"

namespace idemgen::cli {

namespace po = boost::program_options;

[[noreturn]] void usage_error(const std::string& message);
/// Exits 2 with "OPTION: expected ALLOWED, got VALUE" unless `ok`.
void require_option(bool ok, const std::string& option, const std::string& allowed, const std::string& value);
template <class T>
void require_option(bool ok, const std::string& option, const std::string& allowed, const T& value) {
  require_option(ok, option, allowed, fmt::format("{}", value));
}
/// An option with its default shown as the shortest text that reads back to it (0.1, not
/// 0.10000000000000001).
template <class T>
po::typed_value<T>* with_default(T* target) {
  return po::value(target)->default_value(*target, fmt::format("{}", *target));
}
/// Parses argv against `desc`; --help prints it and exits 0, errors exit 2 with one line: an
/// unknown option, a stray positional argument, a negative value for an unsigned option.
po::variables_map parse_or_exit(const po::options_description& desc, int argc, char** argv);
/// argv, and with --resume DIR every option of DIR/config.json the command line does not give
/// itself (and --out DIR): a resumed run is the same run unless an option says otherwise.
std::vector<std::string> with_resumed_options(int argc, char** argv);
/// Every option of a parsed command line (but `leave_out`), defaults included, with the program's
/// version, as JSON.
std::string config_json(const std::string& command, const po::variables_map& vm,
                        const std::set<std::string>& leave_out = {});
std::vector<double> to_host(be::const_view v);


/// Scatter pictures with axes, a title and a legend: samples (red) over data (grey), and a
/// sequence of states from light blue (the first, `first_label`) to dark red (the last, `last_label`).
void write_samples_png(const std::string& path, be::const_view samples, be::const_view data, const std::string& title,
                       const std::string& samples_label);
void write_trajectory_png(const std::string& path, const std::vector<be::matrix>& states, be::const_view data,
                          bool box_from_first, const std::string& title, const std::string& first_label,
                          const std::string& last_label);



int couple_command(int argc, char** argv);
int pairs_command(int argc, char** argv);
int train_one_step(const options& o);
/// images.cpp: IGN/NAIGN/NAIGN− with nn::conv_net on an image --dataset; `idemgen restore`; and
/// `idemgen sample` of an image model (samples.png).
int train_one_step_images(const options& o);
int restore_command(int argc, char** argv);
int sample_images(const io::safetensors& file, const std::string& checkpoint, index_t n, int steps,
                  const std::string& weights, std::uint64_t seed, const std::string& out, const std::string& config);
/// IGN's idempotence weight on images: --idem-weight, or NAIGN's image baseline 0.125 (NAIGN §4).
double image_idem_weight(const options& o);
/// sign_images.cpp: SIGN with an unconditioned nn::unet on an image --dataset (its checkpoints
/// sample and restore through images.cpp).
int train_sign_images(const options& o);
int train_noised(const options& o);
/// noised_images.cpp: diffusion, cdm and fm with nn::unet on an image --dataset, and `idemgen
/// sample` of such a checkpoint (samples.png).
int train_noised_images(const options& o);
int sample_noised_images(const io::safetensors& file, const std::string& checkpoint, index_t n, int steps,
                         const std::string& sampler, const std::string& weights, std::uint64_t seed,
                         const std::string& out, const std::string& config);
/// `idemgen sample`: checks everything, then start_output_directory(out, config), then writes.
int sample_one_step(const io::safetensors& file, const std::string& checkpoint, index_t n, int steps,
                    const std::string& sampler, const std::string& weights, std::uint64_t seed, const std::string& out,
                    const std::string& config, bool save_noise);
int sample_noised(const io::safetensors& file, const std::string& checkpoint, index_t n, int steps,
                  const std::string& sampler, const std::string& weights, std::uint64_t seed, const std::string& out,
                  const std::string& config, bool save_noise);
/// metrics.json: `metrics` as indented JSON (non-finite numbers as null).
void write_metrics(const std::string& path, const io::ordered_json& metrics);
/// Creates the output directory and writes its config.json (io_error on any failure).
void start_output_directory(const std::string& out, const std::string& config);

}  // namespace idemgen::cli

