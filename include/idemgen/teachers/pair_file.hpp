#pragma once
// Teacher pairs on disk: a safetensors file with tensors "z" (unit noise) and "y" (the teacher's
// ODE endpoint), each n × d row-major (one pair a row, as checkpoints store matrices), F32, and
// metadata naming what made them: the teacher, the sampler (grid points, σ_min, σ_max, ρ,
// method) and z's random stream (seed and first Philox block). Read with the checks of a
// checkpoint: a truncated, foreign or inconsistent file is an io_error, never garbage pairs.

#include <map>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "idemgen/core/errors.hpp"
#include "idemgen/io/safetensors.hpp"
#include "idemgen/train/checkpoint.hpp"

namespace idemgen::teachers {

inline constexpr const char* pair_format = "idemgen-pairs-1";

/// n pairs (z_j, y_j) in the columns of z and y (d × n), and what made them.
template <numeric_backend B>
struct pair_set {
  typename B::matrix z, y;
  std::map<std::string, std::string> metadata;
  index_t size() const { return z.cols(); }
  index_t dim() const { return z.rows(); }
};

template <numeric_backend B>
void write_pairs(const std::string& path, typename B::const_view z, typename B::const_view y,
                 std::map<std::string, std::string> metadata) {
  idemgen::detail::require_shape("teachers::write_pairs", "y", z.rows(), z.cols(), y.rows(), y.cols());
  if (!B::all_finite(z) || !B::all_finite(y))
    throw numeric_error("teachers::write_pairs", "pairs", "finite values", "NaN or Inf");
  io::safetensors f;
  f.metadata = std::move(metadata);
  f.metadata["format"] = pair_format;
  f.metadata["pairs"] = std::to_string(z.cols());
  f.metadata["dim"] = std::to_string(z.rows());
  const std::vector<std::int64_t> shape = {z.cols(), z.rows()};
  f.tensors["z"] = io::tensor::from(train::detail::to_host<B>(z).data(), shape);
  f.tensors["y"] = io::tensor::from(train::detail::to_host<B>(y).data(), shape);
  io::write_safetensors(path, f);
}

/// The pairs of a pair file already read (`path` names it in errors): io_error unless it is one,
/// with both tensors [pairs, dim] and finite.
template <numeric_backend B>
pair_set<B> pairs_from(const io::safetensors& f, const std::string& path) {
  const auto format = f.metadata.find("format");
  if (format == f.metadata.end() || format->second != pair_format)
    throw io_error("teachers::read_pairs", path, pair_format, format == f.metadata.end() ? "no format" : format->second);
  const auto n = static_cast<index_t>(train::metadata_integer(f.metadata, "pairs", path, 1));
  const auto d = static_cast<index_t>(train::metadata_integer(f.metadata, "dim", path, 1));
  pair_set<B> p;
  p.metadata = f.metadata;
  for (const char* name : {"z", "y"}) {
    const io::tensor& t = train::detail::require_tensor(f, name, path);
    if (t.shape != std::vector<std::int64_t>{n, d})
      throw io_error("teachers::read_pairs", path, fmt::format("'{}' of shape [{}, {}]", name, n, d),
                     fmt::format("shape [{}]", fmt::join(t.shape, ", ")));
  }
  p.z.resize(d, n);
  p.y.resize(d, n);
  for (auto [name, target] : {std::pair{"z", &p.z}, std::pair{"y", &p.y}}) {
    const auto values = f.tensors.at(name).template values<typename B::scalar>();
    B::copy_from_host(values.data(), *target);
  }
  if (!B::all_finite(p.z) || !B::all_finite(p.y))
    throw io_error("teachers::read_pairs", path, "finite pairs", "NaN or Inf");
  return p;
}

template <numeric_backend B>
pair_set<B> read_pairs(const std::string& path) {
  return pairs_from<B>(io::read_safetensors(path), path);
}

}  // namespace idemgen::teachers
