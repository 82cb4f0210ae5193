#pragma once
// host_matrix<T>: the CPU backend's owning matrix (backend/owning_matrix.hpp) in 64-byte-aligned
// host memory, copyable, with element access.

#include <cstdlib>
#include <cstring>
#include <new>

#include "idemgen/backend/owning_matrix.hpp"

namespace idemgen::backend {

struct host_memory {
  using space = host_space;
  static void* allocate(std::size_t bytes) {
    // aligned_alloc needs a size that is a multiple of the alignment.
    void* p = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (p == nullptr) throw std::bad_alloc();
    return p;
  }
  static void deallocate(void* p) noexcept { std::free(p); }
};

template <class Scalar>
class host_matrix : public owning_matrix<Scalar, host_memory> {
  using base = owning_matrix<Scalar, host_memory>;

 public:
  using base::base;
  host_matrix() = default;
  host_matrix(const host_matrix& other) : base() { *this = other; }
  host_matrix(host_matrix&&) noexcept = default;
  host_matrix& operator=(host_matrix&&) noexcept = default;
  host_matrix& operator=(const host_matrix& other) {
    if (this != &other) {
      this->resize(other.rows(), other.cols());
      if (this->size() > 0) std::memcpy(this->data(), other.data(), sizeof(Scalar) * this->size());
    }
    return *this;
  }

  Scalar& operator()(index_t i, index_t j) { return this->data()[i + j * this->rows()]; }
  const Scalar& operator()(index_t i, index_t j) const { return this->data()[i + j * this->rows()]; }
};

}  // namespace idemgen::backend
