#pragma once
// The documented exception types. Every message names the argument, the value that
// was expected and the value that was found, so a user can fix the call without a debugger:
//
//   idemgen::shape_error:   "mlp::forward: argument 'x' rows: expected 2, got 3"
//
//   error                       (base of all, catch this to catch everything idemgen throws)
//   ├─ invalid_argument         bad option value or unknown option name
//   │   └─ shape_error          matrix dimensions that do not fit together
//   ├─ numeric_error            NaN or Inf where finite numbers are required
//   ├─ io_error                 unreadable, corrupt or truncated files, failed writes
//   └─ device_error             a failed CUDA / cuBLAS call (the call and its error string)

#include <cmath>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

#include <fmt/format.h>

namespace idemgen {

/// Base of every exception idemgen throws. `what()` is the full message; the parts are kept so
/// that programs (the CLI, tests) can inspect them.
class error : public std::runtime_error {
 public:
  error(std::string_view where, std::string_view argument, std::string_view expected,
        std::string_view actual)
      : std::runtime_error(fmt::format("{}: argument '{}': expected {}, got {}", where, argument,
                                       expected, actual)),
        where_(where), argument_(argument), expected_(expected), actual_(actual) {}

  const std::string& where() const noexcept { return where_; }
  const std::string& argument() const noexcept { return argument_; }
  const std::string& expected() const noexcept { return expected_; }
  const std::string& actual() const noexcept { return actual_; }

 private:
  std::string where_, argument_, expected_, actual_;
};

/// An option or argument value outside its documented domain, or an unknown option name.
class invalid_argument : public error {
 public:
  using error::error;
};

/// Matrix dimensions that do not fit together (features × batch convention).
class shape_error : public invalid_argument {
 public:
  using invalid_argument::invalid_argument;
};

/// A non-finite value (NaN or ±Inf) in input that must be finite, or a computation that diverged.
class numeric_error : public error {
 public:
  using error::error;
};

/// A file that cannot be opened, read or written, or whose contents are corrupt or truncated.
class io_error : public error {
 public:
  using error::error;
};

/// A CUDA runtime or cuBLAS call that failed: `where` is the idemgen function, `argument` the
/// failing call (e.g. "cudaMalloc(4096 bytes)"), `actual` the error string of the runtime.
class device_error : public error {
 public:
  device_error(std::string_view where, std::string_view call, std::string_view message)
      : error(where, call, "success", message) {}
};

namespace detail {

inline void require_shape(bool ok, std::string_view where, std::string_view argument,
                          std::string_view expected, std::string_view actual) {
  if (!ok) throw shape_error(where, argument, expected, actual);
}

/// Throws shape_error unless an operand of shape rows × cols has the expected shape. The message
/// is formatted only when it throws: these checks run on every kernel call of a training step,
/// and formatting both shapes eagerly cost ~150 ns a call (docs/PERFORMANCE.md, "Eigen").
inline void require_shape(std::string_view where, std::string_view argument, long long expected_rows,
                          long long expected_cols, long long rows, long long cols) {
  if (rows != expected_rows || cols != expected_cols)
    throw shape_error(where, argument, fmt::format("{}x{}", expected_rows, expected_cols),
                      fmt::format("{}x{}", rows, cols));
}

/// Throws shape_error unless `actual == expected`; `what` names the dimension ("rows", "cols").
inline void require_dim(std::string_view where, std::string_view argument, std::string_view what,
                        long long expected, long long actual) {
  if (expected != actual)
    throw shape_error(where, argument, fmt::format("{} {}", what, expected),
                      fmt::format("{} {}", what, actual));
}

/// Throws invalid_argument unless `ok`; used for option domains ("lr > 0").
inline void require_option(bool ok, std::string_view where, std::string_view option,
                           std::string_view expected, std::string_view actual) {
  if (!ok) throw invalid_argument(where, option, expected, actual);
}

/// The same with `actual` made only on failure: for checks on a training step's path, where
/// formatting the found value every time would allocate (a string past the small-string buffer).
template <class Describe>
  requires std::is_invocable_v<Describe>
void require_option(bool ok, std::string_view where, std::string_view option, std::string_view expected,
                    Describe&& actual) {
  if (!ok) throw invalid_argument(where, option, expected, actual());
}

}  // namespace detail
}  // namespace idemgen
