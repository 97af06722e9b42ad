#pragma once
// Result of an internal operation. Strider never throws across the MPI boundary: every
// fallible step returns a Status, and the caller either falls back to the underlying MPI or
// returns an MPI error class to the application.
#include <string>
#include <utility>

namespace strider::core {

enum class Code {
  ok,
  unsupported,   // a valid request Strider does not accelerate: use the underlying MPI
  invalid,       // bad user input: report the MPI error class the underlying MPI would
  truncated,     // output buffer too small
  resource,      // allocation or device failure: fall back and count
  internal,      // a bug: fall back, count and log
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string what) : code_(code), what_(std::move(what)) {}
  static Status ok() { return {}; }

  bool is_ok() const { return code_ == Code::ok; }
  explicit operator bool() const { return is_ok(); }
  Code code() const { return code_; }
  const std::string& what() const { return what_; }

 private:
  Code code_ = Code::ok;
  std::string what_;
};

}  // namespace strider::core
