#pragma once
// Shared helpers of the point-to-point tests (test_p2p_*.cpp). The programs link libstrider.so
// ahead of libmpi, so their MPI_* calls go through Strider; PMPI_* calls reach the underlying
// MPI directly and are the oracle. Every data check compares whole buffers byte for byte,
// margins and the gaps between blocks included: receive buffers start as identical
// pseudo-random garbage, and the expected bytes are what a native (PMPI) transfer of the same
// data and datatypes leaves in such a buffer.
#include <catch2/catch.hpp>
#include <dlfcn.h>
#include <mpi.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <ostream>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "core/spec.hpp"
#include "mpi/type_builder.hpp"

namespace p2p {

inline int world_rank() {
  int rank = 0;
  PMPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}

inline int world_size() {
  int size = 0;
  PMPI_Comm_size(MPI_COMM_WORLD, &size);
  return size;
}

inline std::uint64_t env_or(const char* name, std::uint64_t fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::strtoull(value, nullptr, 10) : fallback;
}

// True when the job runs over the TCP BTL (the *_tcp variants of the tests).
inline bool over_tcp() {
  const char* btl = std::getenv("OMPI_MCA_btl");
  return btl != nullptr && std::string(btl).find("tcp") != std::string::npos;
}

// A well-mixed 64-bit value of a few integers, for per-message seeds both ranks can compute.
inline std::uint64_t mix(std::uint64_t a, std::uint64_t b = 0, std::uint64_t c = 0, std::uint64_t d = 0) {
  std::uint64_t z = a * 0x9e3779b97f4a7c15ULL ^ (b + 0x632be59bd9b4e019ULL) * 0xbf58476d1ce4e5b9ULL ^
                    (c + 0x8cb92ba72f3d8dd7ULL) * 0x94d049bb133111ebULL ^ (d + 0x2545f4914f6cdd1dULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Pseudo-random bytes (splitmix64, eight per step).
inline void fill_pattern(unsigned char* bytes, std::size_t n, std::uint64_t seed) {
  std::uint64_t state = seed;
  for (std::size_t i = 0; i < n; i += 8) {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    std::memcpy(bytes + i, &z, std::min<std::size_t>(8, n - i));
  }
}

inline std::vector<unsigned char> pattern(std::size_t n, std::uint64_t seed) {
  std::vector<unsigned char> bytes(n);
  fill_pattern(bytes.data(), n, seed);
  return bytes;
}

// "" when equal, else where and how much the two differ.
inline std::string diff_bytes(const std::vector<unsigned char>& got, const std::vector<unsigned char>& want) {
  if (got.size() != want.size())
    return "sizes differ: " + std::to_string(got.size()) + " vs " + std::to_string(want.size());
  std::size_t first = got.size(), differing = 0;
  for (std::size_t i = 0; i < got.size(); ++i)
    if (got[i] != want[i]) {
      if (first == got.size()) first = i;
      ++differing;
    }
  if (differing == 0) return {};
  return std::to_string(differing) + " of " + std::to_string(got.size()) + " bytes differ, first at " +
         std::to_string(first) + " (got " + std::to_string(got[first]) + ", want " + std::to_string(want[first]) +
         ")";
}

// A datatype built from spec text and committed through Strider (MPI_Type_commit), freed
// through Strider (MPI_Type_free) so its cached layout goes with it. A program that links the
// modules instead of libstrider.so passes exec::type_commit and exec::type_free.
class Type {
 public:
  using Handler = int (*)(MPI_Datatype*);
  explicit Type(const std::string& text, Handler commit = MPI_Type_commit, Handler free = MPI_Type_free)
      : free_(free) {
    auto parsed = strider::core::parse_spec(text);
    if (const auto* error = std::get_if<strider::core::SpecError>(&parsed))
      throw std::runtime_error(strider::core::format_error(text, *error));
    init(std::get<strider::core::SpecNode>(parsed), commit);
  }
  explicit Type(const strider::core::SpecNode& spec) { init(spec, MPI_Type_commit); }
  Type(Type&& other) noexcept
      : type_(other.type_), free_(other.free_), text_(std::move(other.text_)), size_(other.size_),
        extent_(other.extent_), true_lb_(other.true_lb_), true_extent_(other.true_extent_) {
    other.type_ = MPI_DATATYPE_NULL;
  }
  Type(const Type&) = delete;
  Type& operator=(const Type&) = delete;
  Type& operator=(Type&&) = delete;
  ~Type() {
    if (type_ != MPI_DATATYPE_NULL && !strider::mpi::is_predefined(type_)) free_(&type_);
  }

  MPI_Datatype get() const { return type_; }
  const std::string& text() const { return text_; }
  std::int64_t size() const { return size_; }

  // The bytes `count` elements touch, relative to the buffer address passed to MPI.
  std::int64_t lo(int count) const {
    if (size_ == 0 || count <= 0) return 0;
    return std::min<std::int64_t>({0, true_lb_, true_lb_ + (count - 1) * extent_});
  }
  std::int64_t hi(int count) const {
    if (size_ == 0 || count <= 0) return 1;
    return std::max<std::int64_t>({1, true_lb_ + true_extent_, true_lb_ + (count - 1) * extent_ + true_extent_});
  }

 private:
  void init(const strider::core::SpecNode& spec, Handler commit) {
    text_ = strider::core::to_string(spec);
    std::string error;
    if (strider::mpi::build_type(spec, &type_, &error) != MPI_SUCCESS)
      throw std::runtime_error("cannot build " + text_ + ": " + error);
    if (!strider::mpi::is_predefined(type_)) commit(&type_);
    query();
  }
  void query() {
    MPI_Count size = 0, lb = 0, extent = 0, true_lb = 0, true_extent = 0;
    PMPI_Type_size_x(type_, &size);
    PMPI_Type_get_extent_x(type_, &lb, &extent);
    PMPI_Type_get_true_extent_x(type_, &true_lb, &true_extent);
    size_ = size;
    extent_ = extent;
    true_lb_ = true_lb;
    true_extent_ = true_extent;
  }

  MPI_Datatype type_ = MPI_DATATYPE_NULL;
  Handler free_ = MPI_Type_free;
  std::string text_;
  std::int64_t size_ = 0, extent_ = 0, true_lb_ = 0, true_extent_ = 0;
};

// A user buffer for `count` elements of a type, with a margin on both sides, filled with the
// pattern of `seed`. base() is the address handed to MPI.
struct Buffer {
  static constexpr std::int64_t kMargin = 40;
  std::vector<unsigned char> bytes;
  std::int64_t offset = 0;

  Buffer() = default;
  Buffer(const Type& type, int count, std::uint64_t seed) {
    const std::int64_t lo = type.lo(count), hi = type.hi(count);
    bytes = pattern(static_cast<std::size_t>(hi - lo + 2 * kMargin), seed);
    offset = kMargin - lo;
  }
  // A plain byte buffer (packed data).
  Buffer(std::size_t n, std::uint64_t seed) : bytes(pattern(n, seed)) {}
  void* base() { return bytes.data() + offset; }
  const void* base() const { return bytes.data() + offset; }
};

// What the application reads from a status, with `type` the receive's datatype.
struct StatusInfo {
  int source = 0;
  int tag = 0;
  int count = 0;     // MPI_Get_count with the user's type
  int bytes = 0;     // MPI_Get_count with MPI_BYTE
  int elements = 0;  // MPI_Get_elements with the user's type
  int cancelled = 0;
  bool operator==(const StatusInfo& o) const {
    return source == o.source && tag == o.tag && count == o.count && bytes == o.bytes && elements == o.elements &&
           cancelled == o.cancelled;
  }
  bool operator!=(const StatusInfo& o) const { return !(*this == o); }
};

inline std::ostream& operator<<(std::ostream& os, const StatusInfo& s) {
  return os << "{source " << s.source << ", tag " << s.tag << ", count " << s.count << ", bytes " << s.bytes
            << ", elements " << s.elements << ", cancelled " << s.cancelled << "}";
}

inline StatusInfo info(const MPI_Status& status, MPI_Datatype type) {
  StatusInfo s;
  s.source = status.MPI_SOURCE;
  s.tag = status.MPI_TAG;
  MPI_Get_count(&status, type, &s.count);
  MPI_Get_count(&status, MPI_BYTE, &s.bytes);
  MPI_Get_elements(&status, type, &s.elements);
  MPI_Test_cancelled(&status, &s.cancelled);
  return s;
}

// A dup of MPI_COMM_SELF with MPI_ERRORS_RETURN for oracle transfers (created on first use;
// the first call must come from one thread at a time).
inline MPI_Comm oracle_comm() {
  static MPI_Comm comm = [] {
    MPI_Comm c = MPI_COMM_NULL;
    PMPI_Comm_dup(MPI_COMM_SELF, &c);
    PMPI_Comm_set_errhandler(c, MPI_ERRORS_RETURN);
    return c;
  }();
  return comm;
}

// The native answer: a PMPI transfer from this process to itself of `scount` x `stype` at
// `send` into `recv` (`rcount` x `rtype`). Returns the receive's status; `rc` gets the error.
inline MPI_Status native_transfer(const void* send, int scount, MPI_Datatype stype, void* recv, int rcount,
                                  MPI_Datatype rtype, int tag = 0, int* rc = nullptr) {
  MPI_Status status{};
  const int code =
      PMPI_Sendrecv(send, scount, stype, 0, tag, recv, rcount, rtype, 0, tag, oracle_comm(), &status);
  if (rc != nullptr) *rc = code;
  return status;
}

// Checks that each named MPI_* symbol resolves to libstrider.so in this process: otherwise the
// tests that call it would only test the underlying MPI against itself.
inline void check_bound_to_strider(std::initializer_list<const char*> names) {
  for (const char* name : names) {
    void* symbol = dlsym(RTLD_DEFAULT, name);
    Dl_info where{};
    REQUIRE(symbol != nullptr);
    REQUIRE(dladdr(symbol, &where) != 0);
    INFO(name << " comes from " << where.dli_fname);
    CHECK(std::string(where.dli_fname).find("libstrider") != std::string::npos);
  }
}

}  // namespace p2p
