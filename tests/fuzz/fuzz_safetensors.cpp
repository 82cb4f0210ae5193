// libFuzzer: arbitrary bytes as a safetensors file, then as a checkpoint of the corpus's network
// (an mlp 2 → 4 → 2, as `idemgen train --width 4 --depth 1` writes) and as a pair file.
#include <cstdint>
#include <string_view>

#include "idemgen/backend/cpu.hpp"
#include "idemgen/io/safetensors.hpp"
#include "idemgen/nn/mlp.hpp"
#include "idemgen/teachers/pair_file.hpp"
#include "idemgen/train/checkpoint.hpp"

using namespace idemgen;
using cpu = backend::cpu<float>;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = "fuzz.safetensors";
  io::safetensors file;
  try {
    file = io::parse_safetensors(std::string_view(reinterpret_cast<const char*>(data), size), path);
  } catch (const idemgen::io_error&) {
    return 0;
  }
  try {
    nn::mlp<cpu> net({.input_dim = 2, .output_dim = 2, .hidden = {4}}, 0);
    train::load_weights(file, net, path, /*prefer_ema=*/true);
    train::metadata_integer(file.metadata, "step", path);
    train::metadata_unsigned(file.metadata, "rng_seed", path);
    train::metadata_real(file.metadata, "lr_scale", path, 0);
  } catch (const idemgen::io_error&) {
  }
  try {
    teachers::pairs_from<cpu>(file, path);
  } catch (const idemgen::io_error&) {
  }
  return 0;
}
