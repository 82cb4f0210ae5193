#pragma once
// How a network's flat state (parameters, EMA, each optimiser moment) lies in a checkpoint.
//
// Format 2 (written): one tensor per parameter block, named and shaped like the PyTorch
// state_dict of the equivalent torch.nn module (python/idemgen_torch.py builds it):
//   params.<block>            the parameters, e.g. params.layers.0.weight
//   ema.<block>               the EMA of the parameters (when it has been updated)
//   optimizer.<moment>.<block>  each optimiser moment (exp_avg, exp_avg_sq, momentum_buffer)
//   buffers.<name>            non-trainable tensors (an embedding's frequencies)
// A rows × cols block (column-major in memory) is the row-major tensor [rows, cols], so a weight
// W (out × in, y = W x) is [out, in], as torch.nn.Linear's; a vector is [rows].
//
// Format 1 (read only): params.<block> held our column-major bytes as the tensor [cols, rows],
// and the EMA and each moment were one flat vector ("ema", "optimizer.<moment>").

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "idemgen/core/errors.hpp"
#include "idemgen/io/safetensors.hpp"
#include "idemgen/nn/parameters.hpp"

namespace idemgen::train {

inline constexpr const char* checkpoint_format = "idemgen-checkpoint-2";
inline constexpr const char* checkpoint_format_1 = "idemgen-checkpoint-1";

/// 2 or 1 from the file's "format" metadata; io_error for anything else (or none).
inline int checkpoint_version(const io::safetensors& f, const std::string& path) {
  const auto it = f.metadata.find("format");
  if (it != f.metadata.end() && it->second == checkpoint_format) return 2;
  if (it != f.metadata.end() && it->second == checkpoint_format_1) return 1;
  throw io_error("train::load", path, fmt::format("format {} (or {})", checkpoint_format, checkpoint_format_1),
                 it == f.metadata.end() ? "no format" : it->second);
}

namespace detail {
inline std::vector<std::int64_t> block_shape(const nn::parameter_block& b) {
  return b.cols > 1 ? std::vector<std::int64_t>{b.rows, b.cols} : std::vector<std::int64_t>{b.rows};
}
inline std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t k = 0; k < shape.size(); ++k) s += fmt::format("{}{}", k ? ", " : "", shape[k]);
  return s + "]";
}
inline const io::tensor& require_tensor(const io::safetensors& f, const std::string& name, const std::string& path) {
  const auto it = f.tensors.find(name);
  if (it == f.tensors.end()) throw io_error("train::load", path, "a tensor named '" + name + "'", "none");
  return it->second;
}
}  // namespace detail

/// Adds the flat state `flat` (host, in the network's memory order) as one tensor per block,
/// "<prefix>.<block>", in format 2's layout.
template <class Scalar>
void add_state(io::safetensors& f, const std::vector<nn::parameter_block>& blocks, const std::vector<Scalar>& flat,
               const std::string& prefix) {
  std::vector<Scalar> row_major;
  for (const auto& b : blocks) {
    row_major.resize(static_cast<std::size_t>(b.size()));
    const Scalar* column_major = flat.data() + b.offset;
    for (index_t i = 0; i < b.rows; ++i)
      for (index_t j = 0; j < b.cols; ++j)
        row_major[static_cast<std::size_t>(i * b.cols + j)] = column_major[i + j * b.rows];
    f.tensors[prefix + "." + b.name] = io::tensor::from(row_major.data(), detail::block_shape(b));
  }
}

/// The flat state "<prefix>" of a network with `blocks` (`count` values in all), in the
/// network's memory order, read from either format; io_error for a missing tensor, a wrong shape
/// or a value that is not finite. `prefix` is "params", "ema" or "optimizer.<moment>".
template <class Scalar>
std::vector<Scalar> read_state(const io::safetensors& f, const std::vector<nn::parameter_block>& blocks, index_t count,
                               const std::string& prefix, int version, const std::string& path) {
  std::vector<Scalar> flat(static_cast<std::size_t>(count));
  if (version == 1 && prefix != "params") {
    const io::tensor& t = detail::require_tensor(f, prefix, path);
    if (t.elements() != count)
      throw io_error("train::load", path, fmt::format("{} values for '{}'", count, prefix), fmt::format("{}", t.elements()));
    flat = t.template values<Scalar>();
  } else {
    for (const auto& b : blocks) {
      const std::string name = prefix + "." + b.name;
      const io::tensor& t = detail::require_tensor(f, name, path);
      const auto values = t.template values<Scalar>();
      Scalar* column_major = flat.data() + b.offset;
      if (version == 1) {  // our bytes, any shape of the right size
        if (t.elements() != b.size())
          throw io_error("train::load", path, fmt::format("{} values for '{}'", b.size(), name), fmt::format("{}", t.elements()));
        std::copy(values.begin(), values.end(), column_major);
        continue;
      }
      if (t.shape != detail::block_shape(b))
        throw io_error("train::load", path, fmt::format("shape {} for '{}'", detail::shape_text(detail::block_shape(b)), name),
                       detail::shape_text(t.shape));
      for (index_t i = 0; i < b.rows; ++i)
        for (index_t j = 0; j < b.cols; ++j)
          column_major[i + j * b.rows] = values[static_cast<std::size_t>(i * b.cols + j)];
    }
  }
  for (const auto& b : blocks)
    for (index_t k = 0; k < b.size(); ++k)
      if (!std::isfinite(flat[static_cast<std::size_t>(b.offset + k)]))
        throw io_error("train::load", path, fmt::format("finite values in '{}.{}'", prefix, b.name),
                       fmt::format("{} at element {}", flat[static_cast<std::size_t>(b.offset + k)], k));
  return flat;
}

}  // namespace idemgen::train
