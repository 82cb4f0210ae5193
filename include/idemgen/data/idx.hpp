#pragma once
// The IDX format of MNIST and Fashion-MNIST (LeCun's "magic number" files), plain or
// gzip-compressed: 2 zero bytes, the element type, the rank; then one big-endian uint32 a
// dimension, outermost first; then the elements in row-major order. Only unsigned bytes
// (type 0x08) are read: they are what image and label files hold.
//
// The header is checked before anything is allocated: the element count must fit in memory and
// match the file's length (for a plain file) or the uncompressed length gzip records in its
// trailer (for a .gz file); the stream must then end exactly where the data does, and gzip's CRC
// must match. Anything else is an io_error naming the file.

#include <zlib.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "idemgen/core/config.hpp"
#include "idemgen/core/errors.hpp"
#include "idemgen/io/read_file.hpp"

namespace idemgen::data {

/// An IDX array of unsigned bytes: `dims` outermost first ({60000, 28, 28} for an image file,
/// {60000} for labels), `values` in row-major order.
struct idx_bytes {
  std::vector<index_t> dims;
  std::vector<std::uint8_t> values;
  /// The outermost dimension: images or labels in the file.
  index_t count() const { return dims.empty() ? 0 : dims.front(); }
  /// Elements of one item (28 × 28 = 784 for an image, 1 for a label).
  index_t item_size() const {
    index_t size = 1;
    for (std::size_t k = 1; k < dims.size(); ++k) size *= dims[k];
    return size;
  }
};

namespace detail {

/// The most data an IDX file may declare (a corrupt header must not allocate the machine away).
inline constexpr std::uint64_t idx_max_bytes = std::uint64_t{1} << 33;  // 8 GiB

inline const char* idx_type_name(int type) {
  switch (type) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "int16";
    case 0x0C: return "int32";
    case 0x0D: return "float32";
    case 0x0E: return "float64";
    default: return "unknown";
  }
}

/// The first and the last 4 bytes of a file (gzip's ISIZE trailer is the last 4).
inline std::array<std::uint8_t, 8> idx_file_ends(const std::string& path, std::uintmax_t length) {
  std::array<std::uint8_t, 8> ends{};
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) throw io_error("data::read_idx", path, "a readable file", "cannot open");
  if (length >= 8) {
    if (std::fread(ends.data(), 1, 4, file.get()) != 4 ||
        std::fseek(file.get(), static_cast<long>(length - 4), SEEK_SET) != 0 ||
        std::fread(ends.data() + 4, 1, 4, file.get()) != 4)
      throw io_error("data::read_idx", path, "a readable file", "read failed");
  }
  return ends;
}

/// gzread into `out`, in pieces of at most 1 GiB (gzread's length is an unsigned int); returns
/// the bytes read, and throws on a corrupt stream (bad deflate data or CRC).
inline std::uint64_t idx_gzread(gzFile in, std::uint8_t* out, std::uint64_t bytes, const std::string& path) {
  std::uint64_t done = 0;
  while (done < bytes) {
    const auto piece = static_cast<unsigned>(std::min<std::uint64_t>(bytes - done, std::uint64_t{1} << 30));
    const int got = gzread(in, out + done, piece);
    if (got < 0) {
      int code = 0;
      const char* message = gzerror(in, &code);
      throw io_error("data::read_idx", path, "an intact gzip stream", message ? message : "read error");
    }
    if (got == 0) break;
    done += static_cast<std::uint64_t>(got);
  }
  return done;
}

}  // namespace detail

/// Reads an IDX file of unsigned bytes, plain or gzip-compressed (told apart by gzip's magic
/// bytes, not by the name). Throws io_error for a missing file, a directory, a wrong magic number,
/// another element type, a zero dimension, a declared size over 8 GiB or other than the file's,
/// a truncated or corrupt stream, or bytes after the data.
inline idx_bytes read_idx(const std::string& path) {
  constexpr const char* where = "data::read_idx";
  const std::uintmax_t length = io::require_regular_file(path, where);
  if (length < 4) throw io_error(where, path, "an IDX header (at least 4 bytes)", fmt::format("{} bytes", length));
  const auto ends = detail::idx_file_ends(path, length);
  const bool gzipped = length >= 18 && ends[0] == 0x1f && ends[1] == 0x8b;

  std::unique_ptr<gzFile_s, int (*)(gzFile)> in(gzopen(path.c_str(), "rb"), &gzclose);
  if (!in) throw io_error(where, path, "a readable file", "cannot open");
  gzbuffer(in.get(), 1 << 17);

  std::array<std::uint8_t, 4> magic{};
  if (detail::idx_gzread(in.get(), magic.data(), 4, path) != 4)
    throw io_error(where, path, "an IDX header (4 bytes)", "end of file");
  if (magic[0] != 0 || magic[1] != 0)
    throw io_error(where, path, "IDX magic 00 00 (an IDX file)",
                   fmt::format("{:02x} {:02x}", magic[0], magic[1]));
  if (magic[2] != 0x08)
    throw io_error(where, path, "element type 0x08 (unsigned byte)",
                   fmt::format("0x{:02x} ({})", magic[2], detail::idx_type_name(magic[2])));
  const int rank = magic[3];
  if (rank < 1) throw io_error(where, path, "rank at least 1", "0");

  idx_bytes array;
  std::vector<std::uint8_t> header(static_cast<std::size_t>(4 * rank));
  if (detail::idx_gzread(in.get(), header.data(), header.size(), path) != header.size())
    throw io_error(where, path, fmt::format("{} dimensions after the magic number", rank), "end of file");
  std::uint64_t elements = 1;
  for (int k = 0; k < rank; ++k) {
    const std::uint8_t* b = header.data() + 4 * k;
    const std::uint64_t dim = (std::uint64_t{b[0]} << 24) | (std::uint64_t{b[1]} << 16) | (std::uint64_t{b[2]} << 8) | b[3];
    if (dim == 0) throw io_error(where, path, fmt::format("dimension {} at least 1", k), "0");
    elements *= dim;  // ≤ 2^32 · (≤ 2^33 so far): no overflow before the check below
    if (elements > detail::idx_max_bytes)
      throw io_error(where, path, fmt::format("at most {} bytes of data", detail::idx_max_bytes),
                     fmt::format("dimensions declaring more than that (dimension {} is {})", k, dim));
    array.dims.push_back(static_cast<index_t>(dim));
  }
  const std::uint64_t declared = 4 + header.size() + elements;
  if (gzipped) {
    const std::uint32_t isize = std::uint32_t{ends[4]} | (std::uint32_t{ends[5]} << 8) |
                                (std::uint32_t{ends[6]} << 16) | (std::uint32_t{ends[7]} << 24);
    if (isize != static_cast<std::uint32_t>(declared))
      throw io_error(where, path, fmt::format("{} uncompressed bytes, as the dimensions declare", declared),
                     fmt::format("gzip's trailer recording {} (mod 2^32)", isize));
  } else if (length != declared) {
    throw io_error(where, path, fmt::format("{} bytes, as the dimensions declare", declared),
                   fmt::format("{} bytes ({})", length, length < declared ? "truncated" : "trailing bytes"));
  }

  array.values.resize(static_cast<std::size_t>(elements));
  const std::uint64_t got = detail::idx_gzread(in.get(), array.values.data(), elements, path);
  if (got != elements)
    throw io_error(where, path, fmt::format("{} data bytes", elements), fmt::format("{} (truncated)", got));
  std::uint8_t extra = 0;  // reading past the end also makes zlib check gzip's CRC
  if (detail::idx_gzread(in.get(), &extra, 1, path) != 0)
    throw io_error(where, path, "the end of the file after the data", "trailing bytes");
  return array;
}

}  // namespace idemgen::data
