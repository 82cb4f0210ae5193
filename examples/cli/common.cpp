// Shared pieces of the idemgen command-line program (see common.hpp).

#include "cli/common.hpp"

#include <array>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <cstdlib>
#include <iostream>

#include "idemgen/evaluation/mmd.hpp"
#include "idemgen/evaluation/mode_coverage.hpp"
#include "idemgen/evaluation/sliced_wasserstein.hpp"
#include "idemgen/io/json.hpp"
#include "idemgen/io/read_file.hpp"
#include "idemgen/io/scatter_png.hpp"

#ifndef IDEMGEN_COMMIT
#define IDEMGEN_COMMIT "unknown"  // examples/CMakeLists.txt passes the commit at configure time
#endif

namespace idemgen::cli {

bool is_noised(const std::string& method) { return find_method(method).noised(); }

/// LMM's index set for K network evaluations on the 18-point grid: the paper's {0}, {0, 1},
/// {0, 3, 5}, {0, 1, 3, 5} (LMM Table 7) for K ≤ 4, else K points spread over the grid.
std::vector<int> lines_indices(int k, int grid_points) {
  if (k == 1) return {0};
  if (k == 2) return {0, 1};
  if (k == 3 && grid_points > 5) return {0, 3, 5};
  if (k == 4 && grid_points > 5) return {0, 1, 3, 5};
  std::vector<int> set;
  for (int i = 0; i < k; ++i) set.push_back(i * grid_points / k);
  return set;
}

std::string coupling_of(const options& o) {
  return o.coupling.empty() ? find_method(o.method).couplings.front() : o.coupling;
}

std::vector<std::pair<std::string, std::string>> coupling_metadata(const options& o) {
  const std::string c = coupling_of(o);
  std::vector<std::pair<std::string, std::string>> meta = {{"coupling", c}};
  if (c == "nearest") meta.emplace_back("imle_ratio", fmt::format("{}", o.imle_ratio));
  if (c == "ot" || c == "sinkhorn") meta.emplace_back("ot_ratio", fmt::format("{}", o.ot_ratio));
  if (c == "sinkhorn") meta.emplace_back("sinkhorn_epsilon", fmt::format("{}", o.sinkhorn_epsilon));
  if (uses_ot_pool(o)) {  // only then: checkpoints of in-step couplings keep their metadata
    meta.emplace_back("ot_batch", std::to_string(o.ot_batch == 0 ? o.batch : o.ot_batch));
    meta.emplace_back("ot_passes", std::to_string(o.ot_passes));
  }
  return meta;
}

models::generator_options generator_options_for(const options& o, double ema_decay) {
  models::generator_options g{.optimizer = {.lr = o.lr, .weight_decay = 0.0}, .clip_grad_norm = o.clip,
                              .ema_decay = ema_decay, .seed = o.seed};
  if (o.lr_schedule == "cosine")
    g.lr_schedule = optim::cosine_lr{.lr = o.lr, .total_steps = o.steps, .warmup_steps = o.warmup};
  else if (o.warmup > 0)
    g.lr_schedule = optim::linear_warmup{.lr = o.lr, .warmup_steps = o.warmup};
  return g;
}

void usage_error(const std::string& message) {
  std::cerr << "idemgen: " << message << "\n";
  std::exit(2);
}

void require_option(bool ok, const std::string& option, const std::string& allowed, const std::string& value) {
  if (!ok) usage_error(option + ": expected " + allowed + ", got " + value);
}

namespace {
/// The option description behind "--name" or "--name=value", or nullptr.
const po::option_description* described(const po::options_description& desc, std::string_view arg) {
  if (arg.size() < 3 || arg.substr(0, 2) != "--") return nullptr;
  const std::string name(arg.substr(2, arg.find('=') == std::string_view::npos ? std::string_view::npos : arg.find('=') - 2));
  return desc.find_nothrow(name, false);
}
}  // namespace

po::variables_map parse_or_exit(const po::options_description& desc, int argc, char** argv) {
  for (int a = 1; a < argc; ++a) {
    const std::string_view arg = argv[a];
    // Boost 1.74 loops forever formatting an unknown option whose name holds '%'.
    const std::string_view name = arg.substr(0, arg.find('='));
    if (arg.size() > 1 && arg[0] == '-' && name.find('%') != std::string_view::npos)
      usage_error("unknown option " + std::string(name) + " (idemgen " + std::string(argv[0]) + " --help lists them)");
    // Boost reads "-1" into an unsigned option as 2^64 - 1: refuse a sign there.
    if (const po::option_description* d = described(desc, arg);
        d && dynamic_cast<const po::typed_value<std::uint64_t>*>(d->semantic().get())) {
      const std::string_view value = arg.find('=') != std::string_view::npos ? arg.substr(arg.find('=') + 1)
                                     : a + 1 < argc                          ? std::string_view(argv[a + 1])
                                                                             : std::string_view();
      if (!value.empty() && (value[0] == '-' || value[0] == '+'))
        usage_error("--" + d->long_name() + ": expected an integer in [0, 2^64), got " + std::string(value));
    }
  }
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(desc).positional({}).run(), vm);
    if (vm.count("help")) {
      std::cout << desc << "\n";
      std::exit(0);
    }
    po::notify(vm);
  } catch (const po::too_many_positional_options_error&) {
    usage_error("unexpected argument: every value follows its --option (idemgen " + std::string(argv[0]) +
                " --help lists them)");
  } catch (const po::error& e) {
    usage_error(e.what());
  }
  return vm;
}

std::vector<std::string> with_resumed_options(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  std::string dir;
  std::set<std::string> given;
  for (std::size_t a = 1; a < args.size(); ++a) {
    const std::string& arg = args[a];
    if (arg.rfind("--", 0) != 0) continue;
    const std::string name = arg.substr(2, arg.find('=') == std::string::npos ? std::string::npos : arg.find('=') - 2);
    given.insert(name);
    if (name == "resume") dir = arg.find('=') != std::string::npos ? arg.substr(arg.find('=') + 1)
                                : a + 1 < args.size()             ? args[a + 1]
                                                                  : "";
  }
  if (dir.empty()) return args;
  const std::string path = dir + "/config.json";
  io::json config;
  try {
    config = io::parse_json(io::read_regular_file(path, "--resume"), path);
  } catch (const error& e) {
    usage_error("--resume " + dir + ": expected a run directory with a readable config.json, got " + e.actual());
  }
  if (!config.is_object() || !config.contains("options") || !config["options"].is_object())
    usage_error("--resume " + dir + ": expected a config.json with \"options\", got another file");
  for (const auto& [name, value] : config["options"].items()) {
    if (given.count(name) || name == "resume" || name == "force" || name == "out" || name == "help") continue;
    if (value.is_boolean()) {
      if (value.get<bool>()) args.push_back("--" + name);
    } else if (value.is_string()) {
      args.insert(args.end(), {"--" + name, value.get<std::string>()});
    } else if (value.is_number_unsigned()) {
      args.insert(args.end(), {"--" + name, fmt::format("{}", value.get<std::uint64_t>())});
    } else if (value.is_number_integer()) {
      args.insert(args.end(), {"--" + name, fmt::format("{}", value.get<std::int64_t>())});
    } else if (value.is_number()) {
      args.insert(args.end(), {"--" + name, fmt::format("{}", value.get<double>())});
    }
  }
  if (!given.count("out")) args.insert(args.end(), {"--out", dir});
  return args;
}

std::string config_json(const std::string& command, const po::variables_map& vm, const std::set<std::string>& leave_out) {
  io::ordered_json config = {{"program", "idemgen " + command},
                             {"version", fmt::format("{}.{}.{}", IDEMGEN_VERSION_MAJOR, IDEMGEN_VERSION_MINOR, IDEMGEN_VERSION_PATCH)},
                             {"commit", IDEMGEN_COMMIT},
                             {"options", io::ordered_json::object()}};
  auto& options = config["options"];
  for (const auto& [name, entry] : vm) {
    if (leave_out.count(name)) continue;
    const boost::any& v = entry.value();
    if (const auto* s = boost::any_cast<std::string>(&v)) options[name] = *s;
    else if (const auto* b = boost::any_cast<bool>(&v)) options[name] = *b;
    else if (const auto* i = boost::any_cast<int>(&v)) options[name] = *i;
    else if (const auto* l = boost::any_cast<long>(&v)) options[name] = *l;
    else if (const auto* u = boost::any_cast<std::uint64_t>(&v))  // past 2^53 a JSON number loses digits
      options[name] = *u <= (std::uint64_t{1} << 53) ? io::ordered_json(*u) : io::ordered_json(std::to_string(*u));
    else if (const auto* d = boost::any_cast<double>(&v)) options[name] = std::isfinite(*d) ? io::ordered_json(*d) : nullptr;
  }
  return config.dump(2, ' ', false, io::json::error_handler_t::replace) + "\n";
}

void start_output_directory(const std::string& out, const std::string& config) {
  io::create_output_directory(out);
  io::write_atomically(out + "/config.json", [&](std::ostream& s) { s << config; });
}

std::vector<double> to_host(be::const_view v) {
  std::vector<double> h(static_cast<std::size_t>(v.size()));
  for (index_t e = 0; e < v.size(); ++e) h[static_cast<std::size_t>(e)] = v[e];
  return h;
}

io::ordered_json sample_quality::json() const {
  io::ordered_json q = {{"mmd2", mmd2}, {"sliced_w2", sliced_w2}};
  if (modes > 0) q.update({{"modes", modes}, {"modes_hit", modes_hit}, {"modes_balanced", modes_balanced}, {"high_quality", high_quality}});
  return q;
}

void write_metrics(const std::string& path, const io::ordered_json& metrics) {
  io::write_atomically(path, [&](std::ostream& s) { s << metrics.dump(2, ' ', false, io::json::error_handler_t::replace) << '\n'; });
}

std::string sample_quality::summary() const {
  std::string s = fmt::format("MMD² {:.4g}", mmd2);
  if (modes > 0) s += fmt::format(", modes {}/{} (balanced {})", modes_hit, modes, modes_balanced);
  return s;
}

sample_quality measure(be::const_view samples, be::const_view data, const data::dataset& dataset) {
  sample_quality q;
  const auto h = to_host(samples), d = to_host(data);
  const index_t n = std::min(samples.cols(), data.cols());
  q.mmd2 = evaluation::mmd2_unbiased<be>(samples, data);
  q.sliced_w2 = evaluation::sliced_wasserstein2(h.data(), d.data(), 2, n);
  if (const auto mix = dataset.mixture()) {
    const auto c = evaluation::mode_coverage(*mix, h.data(), samples.cols());
    q.modes = c.modes;
    q.modes_hit = c.modes_hit;
    q.modes_balanced = c.modes_balanced;
    q.high_quality = c.high_quality;
  }
  return q;
}

void write_samples_png(const std::string& path, be::const_view samples, be::const_view data, const std::string& title,
                       const std::string& samples_label) {
  const auto d = to_host(data), s = to_host(samples);
  const io::scatter_layer data_layer{d.data(), data.cols(), {190, 190, 190}, 1, "data"};
  io::write_scatter_png(path, {data_layer, {s.data(), samples.cols(), {214, 39, 40}, 1, samples_label}},
                        io::bounding_box(data_layer, 0.25), title);
}

void write_loss_curve_png(const std::string& log_csv, const std::string& path, const std::string& title) {
  // log.csv: "step,<terms…>,total,grad_norm,lr,steps_per_s", one row every --log-every steps.
  std::istringstream lines(io::read_regular_file(log_csv, "cli::write_loss_curve_png"));
  std::string line;
  std::getline(lines, line);
  const auto fields = [](const std::string& row) {
    std::vector<std::string> out;
    std::stringstream cells(row);
    for (std::string cell; std::getline(cells, cell, ',');) out.push_back(cell);
    return out;
  };
  const std::vector<std::string> header = fields(line);
  const auto total = std::find(header.begin(), header.end(), "total");
  if (header.empty() || header[0] != "step" || total == header.end())
    throw io_error("cli::write_loss_curve_png", log_csv, "a header step,...,total,...", line);
  const std::size_t column = static_cast<std::size_t>(total - header.begin());
  std::vector<double> points;  // (step, total) pairs
  bool positive = true;
  while (std::getline(lines, line)) {
    const std::vector<std::string> row = fields(line);
    if (row.size() <= column) continue;
    const double step = std::strtod(row[0].c_str(), nullptr), value = std::strtod(row[column].c_str(), nullptr);
    if (!std::isfinite(value)) continue;
    points.insert(points.end(), {step, value});
    positive = positive && value > 0;
  }
  if (points.empty()) return;
  if (positive)  // losses that are positive span decades: plotted as log10
    for (std::size_t k = 1; k < points.size(); k += 2) points[k] = std::log10(points[k]);
  const io::scatter_layer layer{points.data(), static_cast<index_t>(points.size() / 2), {31, 119, 180}, 2, ""};
  io::write_scatter_png(path, {layer}, io::bounding_box(layer, 0.05),
                        title + (positive ? ": log10 of the loss against the step" : ": the loss against the step"));
}

void write_trajectory_png(const std::string& path, const std::vector<be::matrix>& states, be::const_view data,
                          bool box_from_first, const std::string& title, const std::string& first_label,
                          const std::string& last_label) {
  const auto d = to_host(data);
  std::vector<std::vector<double>> hosts;
  for (const auto& s : states) hosts.push_back(to_host(s));
  std::vector<io::scatter_layer> layers = {{d.data(), data.cols(), {190, 190, 190}, 1, "data"}};
  // From light blue (first state) through orange to dark red (last).
  const std::array<std::array<double, 3>, 3> ramp = {{{158, 202, 225}, {253, 141, 60}, {103, 0, 13}}};
  for (std::size_t k = 0; k < hosts.size(); ++k) {
    const double u = hosts.size() > 1 ? static_cast<double>(k) / static_cast<double>(hosts.size() - 1) : 1.0;
    const std::size_t seg = u < 0.5 ? 0 : 1;
    const double v = u < 0.5 ? 2 * u : 2 * u - 1;
    io::rgb c{};
    for (int i = 0; i < 3; ++i)
      c[static_cast<std::size_t>(i)] =
          static_cast<unsigned char>(ramp[seg][static_cast<std::size_t>(i)] * (1 - v) + ramp[seg + 1][static_cast<std::size_t>(i)] * v);
    const std::string label = k == 0 ? first_label : k + 1 == hosts.size() ? last_label : "";
    layers.push_back({hosts[k].data(), states[k].cols(), c, 1, label});
  }
  io::write_scatter_png(path, layers, io::bounding_box(box_from_first ? layers[1] : layers[0], box_from_first ? 0.05 : 0.25),
                        title);
}

eval_set::eval_set(std::uint64_t seed, const data::dataset& dataset, index_t n) : z(2, n), data(2, n) {
  random_stream rng = random_stream(seed).split(4);
  be::fill_normal(z, rng);
  data::dataset_sampler<be>(dataset).sample(data, rng);
}

}  // namespace idemgen::cli
