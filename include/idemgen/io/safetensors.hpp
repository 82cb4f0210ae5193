#pragma once
// The safetensors format (Hugging Face): an 8-byte little-endian header length N, N bytes of JSON
// {"__metadata__": {str: str}, name: {"dtype", "shape", "data_offsets": [begin, end]}, …}, then
// the tensor bytes. Only F32 and F64 are read and written. Writing is atomic (io/atomic_file);
// reading checks every length and offset and throws io_error on a corrupt or truncated file —
// never reads outside the file, never returns a partial result.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "idemgen/io/atomic_file.hpp"
#include "idemgen/io/read_file.hpp"
#include "idemgen/io/json.hpp"

namespace idemgen::io {

struct tensor {
  std::string dtype = "F32";           // F32 or F64
  std::vector<std::int64_t> shape;     // row-major, as safetensors defines it
  std::vector<unsigned char> bytes;    // little-endian values

  std::int64_t elements() const {
    std::int64_t n = 1;
    for (auto s : shape) n *= s;
    return n;
  }
  template <class Scalar>
  static tensor from(const Scalar* data, std::vector<std::int64_t> shape) {
    static_assert(sizeof(Scalar) == 4 || sizeof(Scalar) == 8);
    tensor t{sizeof(Scalar) == 4 ? "F32" : "F64", std::move(shape), {}};
    t.bytes.resize(static_cast<std::size_t>(t.elements()) * sizeof(Scalar));
    std::memcpy(t.bytes.data(), data, t.bytes.size());
    return t;
  }
  /// The values converted to Scalar (F32 ↔ F64 conversion allowed).
  template <class Scalar>
  std::vector<Scalar> values() const {
    std::vector<Scalar> out(static_cast<std::size_t>(elements()));
    for (std::size_t k = 0; k < out.size(); ++k) {
      if (dtype == "F32") {
        float f;
        std::memcpy(&f, bytes.data() + 4 * k, 4);
        out[k] = static_cast<Scalar>(f);
      } else {
        double d;
        std::memcpy(&d, bytes.data() + 8 * k, 8);
        out[k] = static_cast<Scalar>(d);
      }
    }
    return out;
  }
};

struct safetensors {
  std::map<std::string, std::string> metadata;
  std::map<std::string, tensor> tensors;
};

inline void write_safetensors(const std::string& path, const safetensors& file) {
  std::string header = "{\"__metadata__\":{";
  bool first = true;
  for (const auto& [k, v] : file.metadata) {
    header += (first ? "" : ",") + json_quote(k) + ":" + json_quote(v);
    first = false;
  }
  header += "}";
  std::uint64_t offset = 0;
  for (const auto& [name, t] : file.tensors) {
    std::string shape;
    for (std::size_t k = 0; k < t.shape.size(); ++k) shape += (k ? "," : "") + std::to_string(t.shape[k]);
    header += fmt::format(",{}:{{\"dtype\":\"{}\",\"shape\":[{}],\"data_offsets\":[{},{}]}}",
                          json_quote(name), t.dtype, shape, offset, offset + t.bytes.size());
    offset += t.bytes.size();
  }
  header += "}";
  header.resize((header.size() + 7) / 8 * 8, ' ');  // the data then starts 8-byte aligned
  write_atomically(path, [&](std::ostream& out) {
    const std::uint64_t n = header.size();
    unsigned char len[8];
    for (int b = 0; b < 8; ++b) len[b] = static_cast<unsigned char>(n >> (8 * b));
    out.write(reinterpret_cast<const char*>(len), 8);
    out.write(header.data(), static_cast<std::streamsize>(header.size()));
    for (const auto& [name, t] : file.tensors)
      out.write(reinterpret_cast<const char*>(t.bytes.data()), static_cast<std::streamsize>(t.bytes.size()));
  });
}

namespace detail {
/// The header's byte count from a file's first 8 bytes (little-endian), checked against the
/// file's length and a 100 MiB bound.
inline std::uint64_t header_length(std::string_view first_bytes, std::uint64_t file_length, const std::string& path) {
  if (first_bytes.size() < 8 || file_length < 8)
    throw io_error("io::read_safetensors", path, "at least 8 bytes (header length)", fmt::format("{} bytes", file_length));
  std::uint64_t n = 0;
  for (int b = 7; b >= 0; --b) n = (n << 8) | static_cast<unsigned char>(first_bytes[static_cast<std::size_t>(b)]);
  if (n > file_length - 8 || n > (100u << 20))
    throw io_error("io::read_safetensors", path, fmt::format("a header of at most {} bytes", file_length - 8),
                   fmt::format("{} bytes", n));
  return n;
}
inline json parse_header(std::string_view header, const std::string& path) {
  json root = parse_json(header, path);
  if (!root.is_object()) throw io_error("io::read_safetensors", path, "a JSON object header", "another JSON value");
  return root;
}
inline std::map<std::string, std::string> metadata_of(const json& entry, const std::string& path) {
  if (!entry.is_object()) throw io_error("io::read_safetensors", path, "__metadata__ as an object", "another JSON value");
  std::map<std::string, std::string> metadata;
  for (const auto& [k, v] : entry.items()) {
    if (!v.is_string())
      throw io_error("io::read_safetensors", path, "string metadata values", fmt::format("a non-string for '{}'", k));
    metadata[k] = v.get<std::string>();
  }
  return metadata;
}
}  // namespace detail

/// A safetensors file from its bytes; `path` names it in errors. Every length, offset and shape
/// is checked against `content` before it is used (tests/fuzz/fuzz_safetensors.cpp).
inline safetensors parse_safetensors(std::string_view content, const std::string& path) {
  const auto bad = [&](std::string expected, std::string actual) {
    return io_error("io::read_safetensors", path, std::move(expected), std::move(actual));
  };
  const std::uint64_t n = detail::header_length(content, content.size(), path);
  const json root = detail::parse_header(content.substr(8, n), path);
  const std::size_t data_begin = 8 + n, data_size = content.size() - data_begin;
  safetensors file;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;
  for (const auto& item : root.items()) {
    const std::string& name = item.key();  // not a structured binding: the lambda below captures it
    const json& entry = item.value();
    if (name == "__metadata__") {
      file.metadata = detail::metadata_of(entry, path);
      continue;
    }
    if (!entry.is_object()) throw bad("an object for tensor '" + name + "'", "another JSON value");
    const auto field = [&](const char* key) -> const json& {
      const auto it = entry.find(key);
      if (it == entry.end()) throw bad(fmt::format("'{}' in tensor '{}'", key, name), "missing");
      return *it;
    };
    const auto number = [](const json& j) { return j.get<double>(); };
    tensor t;
    const json& dtype = field("dtype");
    if (!dtype.is_string() || (dtype != "F32" && dtype != "F64"))
      throw bad(fmt::format("dtype F32 or F64 for '{}'", name), "another dtype");
    t.dtype = dtype.get<std::string>();
    if (!field("shape").is_array()) throw bad("a shape array for '" + name + "'", "another JSON value");
    // Every dimension, and their product, bounded by the data section before any arithmetic on
    // them: a shape can never overflow or wrap its byte count.
    const double max_elements = static_cast<double>(data_size) / (t.dtype == "F32" ? 4 : 8);
    double elements = 1;
    for (const auto& d : field("shape")) {
      if (!d.is_number() || !(number(d) >= 0) || number(d) > 1e12 || number(d) != std::floor(number(d)))
        throw bad("non-negative integer dimensions for '" + name + "'", "another value");
      elements *= number(d);
      if (elements > max_elements)
        throw bad(fmt::format("a shape within the {} data bytes for '{}'", data_size, name), "a larger shape");
      t.shape.push_back(static_cast<std::int64_t>(number(d)));
    }
    const auto& off = field("data_offsets");
    if (!off.is_array() || off.size() != 2 || !off[0].is_number() || !off[1].is_number())
      throw bad("data_offsets [begin, end] for '" + name + "'", "another value");
    const double b = number(off[0]), e = number(off[1]);
    const std::size_t width = t.dtype == "F32" ? 4 : 8;
    if (!(b >= 0) || !(e >= b) || e > static_cast<double>(data_size) || b != std::floor(b) || e != std::floor(e))
      throw bad(fmt::format("offsets within the {} data bytes for '{}'", data_size, name),
                fmt::format("[{}, {}]", b, e));
    const auto begin = static_cast<std::uint64_t>(b), end = static_cast<std::uint64_t>(e);
    if (end - begin != static_cast<std::uint64_t>(t.elements()) * width)
      throw bad(fmt::format("{} bytes for '{}'", t.elements() * static_cast<std::int64_t>(width), name),
                fmt::format("{} bytes", end - begin));
    t.bytes.assign(content.begin() + static_cast<std::ptrdiff_t>(data_begin + begin),
                   content.begin() + static_cast<std::ptrdiff_t>(data_begin + end));
    ranges.emplace_back(begin, end);
    file.tensors.emplace(name, std::move(t));
  }
  // The tensors must tile the data section exactly (no gaps, no overlaps, no trailing bytes).
  std::sort(ranges.begin(), ranges.end());
  std::uint64_t covered = 0;
  for (const auto& [b, e] : ranges) {
    if (b != covered) throw bad("tensors that tile the data section", fmt::format("a gap or overlap at byte {}", b));
    covered = e;
  }
  if (covered != data_size) throw bad(fmt::format("{} data bytes", covered), fmt::format("{} bytes", data_size));
  return file;
}

/// Reads and checks a safetensors file: io_error for anything but a complete, consistent one.
inline safetensors read_safetensors(const std::string& path) {
  return parse_safetensors(read_regular_file(path, "io::read_safetensors"), path);
}

/// The __metadata__ of a safetensors file from its header alone (8 + header bytes are read), for
/// a caller that needs a large file's metadata before it reads the file (the tensors are checked
/// then, by read_safetensors). io_error for a file too short for its header, or a bad header.
inline std::map<std::string, std::string> read_safetensors_metadata(const std::string& path) {
  const std::uintmax_t length = require_regular_file(path, "io::read_safetensors");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw io_error("io::read_safetensors", path, "a readable file", "cannot open");
  std::string bytes(8, '\0');
  in.read(bytes.data(), 8);
  const std::uint64_t n = detail::header_length(std::string_view(bytes.data(), static_cast<std::size_t>(in.gcount())),
                                                length, path);
  bytes.assign(static_cast<std::size_t>(n), '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(n));
  if (static_cast<std::uint64_t>(in.gcount()) != n)
    throw io_error("io::read_safetensors", path, fmt::format("a header of {} bytes", n), "a shorter file");
  const json root = detail::parse_header(bytes, path);
  const auto it = root.find("__metadata__");
  return it == root.end() ? std::map<std::string, std::string>{} : detail::metadata_of(*it, path);
}

}  // namespace idemgen::io
