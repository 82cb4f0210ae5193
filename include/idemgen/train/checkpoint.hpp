#pragma once
// Checkpoints as safetensors: the parameters, the optimiser's moments and the EMA, one tensor per
// parameter in PyTorch's layout (train/checkpoint_layout.hpp), the network's buffers, and in the
// metadata the network's architecture ("network", JSON, when the network can describe itself),
// the step, the optimiser's step, the random stream (seed, next block) and the caller's options —
// everything needed to resume exactly, to sample again, or to load the model in PyTorch
// (python/idemgen_torch.py). Every read checks the whole file before the network is touched.

#include <string>
#include <vector>

#include "idemgen/io/safetensors.hpp"
#include "idemgen/nn/network.hpp"
#include "idemgen/train/checkpoint_layout.hpp"
#include "idemgen/train/checkpoint_metadata.hpp"

namespace idemgen::train {

namespace detail {
template <numeric_backend B>
std::vector<typename B::scalar> to_host(typename B::const_view v) {
  std::vector<typename B::scalar> host(static_cast<std::size_t>(v.size()));
  B::copy_to_host(v, host.data());
  return host;
}
/// io_error unless the file's "network" description (when both it and `net` have one) is
/// `net`'s: a checkpoint of another architecture, or of a denoiser relabelled as a flow.
template <nn::network Net>
void check_network(const io::safetensors& f, const Net& net, const std::string& path) {
  if constexpr (requires { net.describe(); }) {
    const auto it = f.metadata.find("network");
    if (it != f.metadata.end() && it->second != net.describe())
      throw io_error("train::load", path, "a checkpoint of the network " + net.describe(), it->second);
  }
}
}  // namespace detail

/// Adds `net`'s parameters (or any flat state of its size, e.g. the EMA) as "<prefix>.<block>"
/// tensors, and with prefix "params" its buffers and description too.
template <nn::network Net>
void add_parameters(io::safetensors& file, const Net& net, typename Net::backend_type::const_view values,
                    const std::string& prefix = "params") {
  using B = typename Net::backend_type;
  add_state(file, net.parameter_blocks(), detail::to_host<B>(values), prefix);
  if (prefix != "params") return;
  if constexpr (requires { net.buffers(); })
    for (const auto& [name, buffer] : net.buffers()) {
      const auto host = detail::to_host<B>(buffer);
      file.tensors["buffers." + name] = io::tensor::from(host.data(), {static_cast<std::int64_t>(host.size())});
    }
  if constexpr (requires { net.describe(); }) file.metadata["network"] = net.describe();
}

/// Loads the parameters of `net` from a checkpoint of either format: every block must be
/// there with the right shape and finite values (a checkpoint of another architecture is
/// rejected, not half-loaded). With `prefer_ema` and an EMA in the file, loads the EMA instead
/// and returns true.
template <nn::network Net>
bool load_weights(const io::safetensors& file, Net& net, const std::string& path, bool prefer_ema) {
  using B = typename Net::backend_type;
  using S = typename B::scalar;
  const int version = checkpoint_version(file, path);
  detail::check_network(file, net, path);
  const bool has_ema = version == 1 ? file.tensors.count("ema") > 0
                                    : file.tensors.count("ema." + net.parameter_blocks().front().name) > 0;
  const bool use_ema = prefer_ema && has_ema;
  // The raw weights are read (and checked) even when the EMA is used: a file with NaN weights is
  // refused whichever copy is asked for.
  auto values = read_state<S>(file, net.parameter_blocks(), net.parameter_count(), "params", version, path);
  if (use_ema) values = read_state<S>(file, net.parameter_blocks(), net.parameter_count(), "ema", version, path);
  B::copy_from_host(values.data(), net.parameters());
  return use_ema;
}

/// Writes weights, optimiser state, EMA, step and random stream, plus `extra` metadata.
template <class Generator>
void save_checkpoint(const std::string& path, Generator& gen, const metadata& extra = {}) {
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
  for (auto& [name, buffer] : gen.optimizer().named_state()) add_parameters(f, gen.net(), buffer, "optimizer." + name);
  if (gen.ema().updates() > 0) add_parameters(f, gen.net(), gen.ema().average(), "ema");
  io::write_safetensors(path, f);
}

/// Restores a generator saved by save_checkpoint (either format); returns the metadata. The file
/// is read and checked completely before the generator is touched.
template <class Generator>
metadata load_checkpoint(const std::string& path, Generator& gen) {
  using B = typename Generator::backend_type;
  using S = typename B::scalar;
  const io::safetensors f = io::read_safetensors(path);
  const int version = checkpoint_version(f, path);
  const long long step = metadata_integer(f.metadata, "step", path);
  const long long opt_steps = metadata_integer(f.metadata, "optimizer_steps", path);
  const long long ema_updates = metadata_integer(f.metadata, "ema_updates", path);
  const auto seed = metadata_unsigned(f.metadata, "rng_seed", path);
  const auto next_block = metadata_unsigned(f.metadata, "rng_next_block", path);
  double lr_scale = 1;
  if (f.metadata.count("lr_scale")) lr_scale = metadata_real(f.metadata, "lr_scale", path, 0);
  // Checkpoints before the optimiser axis were all AdamW's.
  const auto opt_it = f.metadata.find("optimizer");
  const std::string saved_optimizer = opt_it == f.metadata.end() ? "adamw" : opt_it->second;
  if (saved_optimizer != Generator::optimizer_policy::name)
    throw io_error("train::load_checkpoint", path,
                   fmt::format("a checkpoint of a {} optimiser", Generator::optimizer_policy::name),
                   fmt::format("one of a {} optimiser", saved_optimizer));
  detail::check_network(f, gen.net(), path);
  const auto& blocks = gen.net().parameter_blocks();
  const index_t p = gen.net().parameter_count();
  const auto params = read_state<S>(f, blocks, p, "params", version, path);
  const int buffers = gen.optimizer().state_buffers();
  std::vector<std::vector<S>> moments;
  if (opt_steps > 0)  // an optimiser that never stepped has no state to save
    for (const auto& name : gen.optimizer().state_names(buffers))
      moments.push_back(read_state<S>(f, blocks, p, "optimizer." + name, version, path));
  std::vector<S> ema;
  if (ema_updates > 0) ema = read_state<S>(f, blocks, p, "ema", version, path);

  B::copy_from_host(params.data(), gen.net().parameters());
  if (opt_steps > 0) {
    gen.optimizer().prepare(p, buffers);
    std::size_t k = 0;
    for (auto& [name, buffer] : gen.optimizer().named_state()) B::copy_from_host(moments[k++].data(), buffer);
  }
  gen.optimizer().set_steps(static_cast<long>(opt_steps));
  if (ema_updates > 0) {
    gen.ema().update(gen.net().parameters());  // sizes the average
    B::copy_from_host(ema.data(), gen.ema().average());
    gen.ema().set_updates(static_cast<long>(ema_updates));
  }
  gen.set_steps(static_cast<long>(step));
  gen.rng() = random_stream(seed, next_block);
  gen.set_lr_scale(lr_scale);
  return f.metadata;
}

}  // namespace idemgen::train
