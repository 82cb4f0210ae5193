#pragma once
// One flat parameter buffer and one flat gradient buffer per network (docs/ARCHITECTURE.md). Layers do not
// own memory: at construction each layer asks the layout for its blocks and keeps their
// *offsets*, and every call receives the base pointer of the buffer to read (parameters) or to
// accumulate into (gradients). Offsets instead of pointers keep networks copyable and movable
// without rebinding, and let backward accumulate into any flat buffer of the same size.

#include <string>
#include <vector>

#include "idemgen/core/config.hpp"

namespace idemgen::nn {

/// A named rows × cols block of the flat buffer (column-major), e.g. "layers.0.weight".
struct parameter_block {
  std::string name;
  index_t offset = 0;
  index_t rows = 0;
  index_t cols = 0;
  index_t size() const { return rows * cols; }
};

/// Hands out consecutive blocks of the flat buffer while a network is being built.
class parameter_layout {
 public:
  index_t add(std::string name, index_t rows, index_t cols) {
    blocks_.push_back({std::move(name), size_, rows, cols});
    size_ += rows * cols;
    return blocks_.back().offset;
  }
  index_t size() const { return size_; }
  const std::vector<parameter_block>& blocks() const { return blocks_; }

 private:
  std::vector<parameter_block> blocks_;
  index_t size_ = 0;
};

}  // namespace idemgen::nn
