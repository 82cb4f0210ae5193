#pragma once
// Checkpoints as safetensors: the network's parameter blocks by name, AdamW's moments,
// the EMA, and in the metadata the step, the optimiser's step, the random stream (seed, next
// block) and the caller's options — everything needed to resume exactly or to sample again.
//
// A rows × cols column-major block is stored as the row-major tensor [cols, rows] (vectors as
// [rows]): the bytes are our memory order, and the shape says so honestly. A PyTorch Linear
// weight [out, in] therefore corresponds to our "….weight" tensor transposed.

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "idemgen/io/safetensors.hpp"
#include "idemgen/nn/network.hpp"

namespace idemgen::train {

using metadata = std::map<std::string, std::string>;
inline constexpr const char* checkpoint_format = "idemgen-checkpoint-1";

namespace detail {
template <numeric_backend B>
io::tensor to_tensor(typename B::const_view v, std::vector<std::int64_t> shape) {
  std::vector<typename B::scalar> host(static_cast<std::size_t>(v.size()));
  B::copy_to_host(v, host.data());
  return io::tensor::from(host.data(), std::move(shape));
}
template <numeric_backend B>
void from_tensor(const io::tensor& t, typename B::view v, const std::string& name, const std::string& path) {
  if (t.elements() != v.size())
    throw io_error("train::load", path, fmt::format("{} values for '{}'", v.size(), name),
                   fmt::format("{}", t.elements()));
  const auto values = t.values<typename B::scalar>();
  B::copy_from_host(values.data(), v);
}
inline const io::tensor& require_tensor(const io::safetensors& f, const std::string& name, const std::string& path) {
  const auto it = f.tensors.find(name);
  if (it == f.tensors.end()) throw io_error("train::load", path, "a tensor named '" + name + "'", "none");
  return it->second;
}
}  // namespace detail

/// Metadata lookups with the checks a checkpoint reader needs: a missing key or a value that is
/// not what it should be throws io_error naming the file, the key and the value.
inline const std::string& metadata_string(const metadata& m, const std::string& key, const std::string& path) {
  const auto it = m.find(key);
  if (it == m.end()) throw io_error("train::load", path, "metadata '" + key + "'", "none");
  return it->second;
}
inline long long metadata_integer(const metadata& m, const std::string& key, const std::string& path,
                                  long long min_value = 0) {
  const std::string& text = metadata_string(m, key, path);
  try {
    std::size_t used = 0;
    const long long v = std::stoll(text, &used);
    if (used == text.size() && v >= min_value) return v;
  } catch (const std::logic_error&) {
  }
  throw io_error("train::load", path, fmt::format("an integer >= {} for metadata '{}'", min_value, key), text);
}

/// A full-range unsigned 64-bit value (seeds, counters).
inline std::uint64_t metadata_unsigned(const metadata& m, const std::string& key, const std::string& path) {
  const std::string& text = metadata_string(m, key, path);
  try {
    std::size_t used = 0;
    const unsigned long long v = std::stoull(text, &used);
    if (used == text.size() && !text.empty() && text[0] != '-') return v;
  } catch (const std::logic_error&) {
  }
  throw io_error("train::load", path, "an unsigned integer for metadata '" + key + "'", text);
}

/// A finite real number greater than `min_value` (schedule and model options).
inline double metadata_real(const metadata& m, const std::string& key, const std::string& path, double min_value) {
  const std::string& text = metadata_string(m, key, path);
  try {
    std::size_t used = 0;
    const double v = std::stod(text, &used);
    if (used == text.size() && std::isfinite(v) && v > min_value) return v;
  } catch (const std::logic_error&) {
  }
  throw io_error("train::load", path, fmt::format("a finite number > {} for metadata '{}'", min_value, key), text);
}

/// Adds every parameter block of `net` (named "params.<block>") to `file`.
template <nn::network Net>
void add_parameters(io::safetensors& file, const Net& net, typename Net::backend_type::const_view values) {
  using B = typename Net::backend_type;
  for (const auto& b : net.parameter_blocks()) {
    std::vector<std::int64_t> shape = b.cols > 1 ? std::vector<std::int64_t>{b.cols, b.rows}
                                                 : std::vector<std::int64_t>{b.rows};
    file.tensors["params." + b.name] = detail::to_tensor<B>(
        typename B::const_view(values.data() + b.offset, b.size(), 1), std::move(shape));
  }
}

/// Throws io_error unless `file` has every "params.<block>" tensor of `net` with the right size.
template <nn::network Net>
void check_parameters(const io::safetensors& file, const Net& net, const std::string& path) {
  for (const auto& b : net.parameter_blocks()) {
    const auto n = detail::require_tensor(file, "params." + b.name, path).elements();
    if (n != b.size())
      throw io_error("train::load", path, fmt::format("{} values for 'params.{}'", b.size(), b.name),
                     fmt::format("{}", n));
  }
}

/// Loads "params.<block>" tensors into `net`'s parameters; every block must be present with the
/// right number of values (a checkpoint of another architecture is rejected, not half-loaded).
template <nn::network Net>
void load_parameters(const io::safetensors& file, Net& net, const std::string& path) {
  using B = typename Net::backend_type;
  check_parameters(file, net, path);
  for (const auto& b : net.parameter_blocks())
    detail::from_tensor<B>(detail::require_tensor(file, "params." + b.name, path),
                           typename B::view(net.parameters().data() + b.offset, b.size(), 1),
                           "params." + b.name, path);
}

/// Loads the weights for inference: the EMA copy when `prefer_ema` and the file has one (then
/// returns true), the raw parameters otherwise.
template <nn::network Net>
bool load_weights(const io::safetensors& file, Net& net, const std::string& path, bool prefer_ema) {
  using B = typename Net::backend_type;
  load_parameters(file, net, path);
  if (!prefer_ema || file.tensors.count("ema") == 0) return false;
  detail::from_tensor<B>(file.tensors.at("ema"), net.parameters(), "ema", path);
  return true;
}

/// Writes weights, optimiser state, EMA, step and random stream, plus `extra` metadata.
template <class Generator>
void save_checkpoint(const std::string& path, Generator& gen, const metadata& extra = {}) {
  using B = typename Generator::backend_type;
  io::safetensors f;
  f.metadata = extra;
  f.metadata["format"] = checkpoint_format;
  f.metadata["step"] = std::to_string(gen.steps());
  f.metadata["optimizer"] = Generator::optimizer_policy::name;
  f.metadata["optimizer_steps"] = std::to_string(gen.optimizer().steps());
  f.metadata["ema_updates"] = std::to_string(gen.ema().updates());
  f.metadata["rng_seed"] = std::to_string(gen.rng().seed());
  f.metadata["rng_next_block"] = std::to_string(gen.rng().next_block());
  f.metadata["lr_scale"] = fmt::format("{}", gen.lr_scale());
  add_parameters(f, gen.net(), gen.net().parameters());
  const std::int64_t p = gen.net().parameter_count();
  for (auto& [name, buffer] : gen.optimizer().named_state())
    f.tensors["optimizer." + name] = detail::to_tensor<B>(buffer, {p});
  if (gen.ema().updates() > 0) f.tensors["ema"] = detail::to_tensor<B>(gen.ema().average(), {p});
  io::write_safetensors(path, f);
}

/// Restores a generator saved by save_checkpoint; returns the metadata. The file is read and
/// checked completely before the generator is touched.
template <class Generator>
metadata load_checkpoint(const std::string& path, Generator& gen) {
  using B = typename Generator::backend_type;
  const io::safetensors f = io::read_safetensors(path);
  const auto fmt_it = f.metadata.find("format");
  if (fmt_it == f.metadata.end() || fmt_it->second != checkpoint_format)
    throw io_error("train::load_checkpoint", path, checkpoint_format,
                   fmt_it == f.metadata.end() ? "no format" : fmt_it->second);
  const long long step = metadata_integer(f.metadata, "step", path);
  const long long opt_steps = metadata_integer(f.metadata, "optimizer_steps", path);
  const long long ema_updates = metadata_integer(f.metadata, "ema_updates", path);
  const auto seed = metadata_unsigned(f.metadata, "rng_seed", path);
  const auto next_block = metadata_unsigned(f.metadata, "rng_next_block", path);
  const index_t p = gen.net().parameter_count();
  check_parameters(f, gen.net(), path);
  // Checkpoints before the optimiser axis were all AdamW's.
  const auto opt_it = f.metadata.find("optimizer");
  const std::string saved_optimizer = opt_it == f.metadata.end() ? "adamw" : opt_it->second;
  if (saved_optimizer != Generator::optimizer_policy::name)
    throw io_error("train::load_checkpoint", path,
                   fmt::format("a checkpoint of a {} optimiser", Generator::optimizer_policy::name),
                   fmt::format("one of a {} optimiser", saved_optimizer));
  const int buffers = gen.optimizer().state_buffers();
  if (opt_steps > 0)  // an optimiser that never stepped has no state to save
    for (const auto& name : gen.optimizer().state_names(buffers))
      if (detail::require_tensor(f, "optimizer." + name, path).elements() != p)
        throw io_error("train::load_checkpoint", path, fmt::format("{} values for 'optimizer.{}'", p, name),
                       "another size");
  if (ema_updates > 0 && detail::require_tensor(f, "ema", path).elements() != p)
    throw io_error("train::load_checkpoint", path, fmt::format("{} values for 'ema'", p), "another size");
  load_parameters(f, gen.net(), path);
  if (opt_steps > 0) {
    gen.optimizer().prepare(p, buffers);
    for (auto& [name, buffer] : gen.optimizer().named_state())
      detail::from_tensor<B>(f.tensors.at("optimizer." + name), buffer, name, path);
  }
  gen.optimizer().set_steps(static_cast<long>(opt_steps));
  if (ema_updates > 0) {
    gen.ema().update(gen.net().parameters());  // sizes the average
    detail::from_tensor<B>(f.tensors.at("ema"), gen.ema().average(), "ema", path);
    gen.ema().set_updates(static_cast<long>(ema_updates));
  }
  gen.set_steps(static_cast<long>(step));
  gen.rng() = random_stream(seed, next_block);
  if (const auto it = f.metadata.find("lr_scale"); it != f.metadata.end()) {
    char* end = nullptr;
    const double scale = std::strtod(it->second.c_str(), &end);
    if (end == it->second.c_str() || *end != '\0' || !(scale > 0))
      throw io_error("train::load_checkpoint", path, "a positive lr_scale", it->second);
    gen.set_lr_scale(scale);
  }
  return f.metadata;
}

}  // namespace idemgen::train
