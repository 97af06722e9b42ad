#include "mpi/type_builder.hpp"

#include <cfloat>
#include <cstdint>
#include <limits>
#include <new>
#include <utility>
#include <vector>

namespace strider::mpi {
namespace {

using core::SpecNode;

struct NamedEntry {
  std::string_view name;
  MPI_Datatype type;
};

// Built at first use: the MPI_* handles are link-time addresses in Open MPI but only
// constants after MPI_Init in other MPIs, so no static initialiser reads them.
const std::vector<NamedEntry>& named_table() {
  static const std::vector<NamedEntry> table{
      {"char", MPI_CHAR},
      {"signed_char", MPI_SIGNED_CHAR},
      {"unsigned_char", MPI_UNSIGNED_CHAR},
      {"byte", MPI_BYTE},
      {"short", MPI_SHORT},
      {"unsigned_short", MPI_UNSIGNED_SHORT},
      {"int", MPI_INT},
      {"unsigned", MPI_UNSIGNED},
      {"long", MPI_LONG},
      {"unsigned_long", MPI_UNSIGNED_LONG},
      {"long_long", MPI_LONG_LONG},
      {"unsigned_long_long", MPI_UNSIGNED_LONG_LONG},
      {"float", MPI_FLOAT},
      {"double", MPI_DOUBLE},
      {"long_double", MPI_LONG_DOUBLE},
      {"int8_t", MPI_INT8_T},
      {"int16_t", MPI_INT16_T},
      {"int32_t", MPI_INT32_T},
      {"int64_t", MPI_INT64_T},
      {"uint8_t", MPI_UINT8_T},
      {"uint16_t", MPI_UINT16_T},
      {"uint32_t", MPI_UINT32_T},
      {"uint64_t", MPI_UINT64_T},
      {"c_bool", MPI_C_BOOL},
      {"wchar", MPI_WCHAR},
      {"packed", MPI_PACKED},
      {"aint", MPI_AINT},
      {"offset", MPI_OFFSET},
      {"count", MPI_COUNT},
      {"c_complex", MPI_C_COMPLEX},
      {"c_float_complex", MPI_C_FLOAT_COMPLEX},
      {"c_double_complex", MPI_C_DOUBLE_COMPLEX},
      {"c_long_double_complex", MPI_C_LONG_DOUBLE_COMPLEX},
      {"float_int", MPI_FLOAT_INT},
      {"double_int", MPI_DOUBLE_INT},
      {"long_int", MPI_LONG_INT},
      {"2int", MPI_2INT},
      {"short_int", MPI_SHORT_INT},
      {"long_double_int", MPI_LONG_DOUBLE_INT},
      {"long_long_int", MPI_LONG_LONG_INT},
  };
  return table;
}

// A handle produced while building; frees itself unless it is predefined or released.
class Handle {
 public:
  Handle() = default;
  explicit Handle(MPI_Datatype type) : type_(type) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& other) noexcept : type_(std::exchange(other.type_, MPI_DATATYPE_NULL)) {}
  Handle& operator=(Handle&& other) noexcept {
    if (this != &other) {
      reset();
      type_ = std::exchange(other.type_, MPI_DATATYPE_NULL);
    }
    return *this;
  }
  ~Handle() { reset(); }

  MPI_Datatype get() const { return type_; }
  MPI_Datatype release() { return std::exchange(type_, MPI_DATATYPE_NULL); }

 private:
  void reset() {
    if (type_ != MPI_DATATYPE_NULL) free_built_type(&type_);
    type_ = MPI_DATATYPE_NULL;
  }
  MPI_Datatype type_ = MPI_DATATYPE_NULL;
};

// Validation failure: the MPI error class the constructor would have raised, and why.
struct Failure {
  int code = MPI_SUCCESS;
  std::string message;
};

class Builder {
 public:
  // Returns the built handle, or an empty one with failure_ set.
  Handle build(const SpecNode& node) {
    if (node.kind == SpecNode::Kind::named) {
      MPI_Datatype type = named_type(node.name);
      if (type == MPI_DATATYPE_NULL) return fail(MPI_ERR_TYPE, "unknown type '" + node.name + "'");
      return Handle(type);
    }
    if (node.kind != SpecNode::Kind::call) {
      return fail(MPI_ERR_TYPE, "expected a type, got '" + core::to_string(node) + "'");
    }
    const std::string& name = node.name;
    if (name == "contiguous") return contiguous(node);
    if (name == "vector" || name == "hvector") return vector(node, name == "hvector");
    if (name == "indexed" || name == "hindexed") return indexed(node, name == "hindexed");
    if (name == "indexed_block" || name == "hindexed_block") {
      return indexed_block(node, name == "hindexed_block");
    }
    if (name == "struct") return structure(node);
    if (name == "subarray") return subarray(node);
    if (name == "darray") return darray(node);
    if (name == "resized") return resized(node);
    if (name == "dup") return dup(node);
    if (name == "f90_real" || name == "f90_complex") return f90_real(node, name == "f90_complex");
    if (name == "f90_integer") return f90_integer(node);
    return fail(MPI_ERR_TYPE, "unknown constructor '" + name + "'");
  }

  const Failure& failure() const { return failure_; }

 private:
  Handle fail(int code, std::string message) {
    if (failure_.code == MPI_SUCCESS) failure_ = Failure{code, std::move(message)};
    return Handle();
  }
  bool failed() const { return failure_.code != MPI_SUCCESS; }

  Handle mpi_failed(int rc, const SpecNode& node) {
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    PMPI_Error_string(rc, text, &length);
    return fail(rc, node.name + ": " + std::string(text, static_cast<std::size_t>(length)));
  }

  // Argument accessors: the spec parser already checks kinds, but trees may be built in code.
  bool arity(const SpecNode& node, std::size_t expected) {
    if (node.items.size() == expected) return true;
    fail(MPI_ERR_ARG, node.name + " expects " + std::to_string(expected) + " arguments, got " +
                          std::to_string(node.items.size()));
    return false;
  }

  bool integer(const SpecNode& node, std::size_t index, const char* label, std::int64_t low,
               std::int64_t high, int error_class, std::int64_t& out) {
    const SpecNode& arg = node.items[index];
    if (arg.kind != SpecNode::Kind::integer) {
      fail(MPI_ERR_ARG, node.name + " " + label + " must be an integer");
      return false;
    }
    if (arg.value < low || arg.value > high) {
      fail(error_class, node.name + " " + label + " = " + std::to_string(arg.value) +
                            " is out of range [" + std::to_string(low) + ", " +
                            std::to_string(high) + "]");
      return false;
    }
    out = arg.value;
    return true;
  }

  bool int_list(const SpecNode& node, std::size_t index, const char* label, std::int64_t low,
                std::int64_t high, int error_class, std::vector<std::int64_t>& out) {
    const SpecNode& arg = node.items[index];
    if (arg.kind != SpecNode::Kind::list) {
      fail(MPI_ERR_ARG, node.name + " " + label + " must be a list of integers");
      return false;
    }
    out.clear();
    for (std::size_t i = 0; i < arg.items.size(); ++i) {
      const SpecNode& item = arg.items[i];
      if (item.kind != SpecNode::Kind::integer) {
        fail(MPI_ERR_ARG, node.name + " " + label + "[" + std::to_string(i) +
                              "] must be an integer");
        return false;
      }
      if (item.value < low || item.value > high) {
        fail(error_class, node.name + " " + label + "[" + std::to_string(i) + "] = " +
                              std::to_string(item.value) + " is out of range [" +
                              std::to_string(low) + ", " + std::to_string(high) + "]");
        return false;
      }
      out.push_back(item.value);
    }
    return true;
  }

  bool same_length(const SpecNode& node, std::size_t a, std::size_t b, std::size_t length_a,
                   std::size_t length_b) {
    if (length_a == length_b) return true;
    fail(MPI_ERR_ARG, node.name + ": argument " + std::to_string(a + 1) + " has " +
                          std::to_string(length_a) + " entries but argument " +
                          std::to_string(b + 1) + " has " + std::to_string(length_b));
    return false;
  }

  bool fits_int(const SpecNode& node, std::size_t length) {
    if (length <= static_cast<std::size_t>(kIntMax)) return true;
    fail(MPI_ERR_COUNT, node.name + ": too many entries for an int count");
    return false;
  }

  static std::vector<int> ints(const std::vector<std::int64_t>& values) {
    std::vector<int> out;
    out.reserve(values.size());
    for (std::int64_t value : values) out.push_back(static_cast<int>(value));
    return out;
  }
  static std::vector<MPI_Aint> aints(const std::vector<std::int64_t>& values) {
    std::vector<MPI_Aint> out;
    out.reserve(values.size());
    for (std::int64_t value : values) out.push_back(static_cast<MPI_Aint>(value));
    return out;
  }

  static constexpr std::int64_t kIntMax = std::numeric_limits<int>::max();
  static constexpr std::int64_t kIntMin = std::numeric_limits<int>::min();
  static constexpr std::int64_t kAintMax = std::numeric_limits<MPI_Aint>::max();
  static constexpr std::int64_t kAintMin = std::numeric_limits<MPI_Aint>::min();

  Handle contiguous(const SpecNode& node) {
    std::int64_t count = 0;
    if (!arity(node, 2) || !integer(node, 0, "count", 0, kIntMax, MPI_ERR_COUNT, count)) {
      return {};
    }
    Handle child = build(node.items[1]);
    if (failed()) return {};
    MPI_Datatype out = MPI_DATATYPE_NULL;
    int rc = PMPI_Type_contiguous(static_cast<int>(count), child.get(), &out);
    if (rc != MPI_SUCCESS) return mpi_failed(rc, node);
    return Handle(out);
  }

  Handle vector(const SpecNode& node, bool bytes) {
    std::int64_t count = 0;
    std::int64_t blocklength = 0;
    std::int64_t stride = 0;
    if (!arity(node, 4) || !integer(node, 0, "count", 0, kIntMax, MPI_ERR_COUNT, count) ||
        !integer(node, 1, "blocklength", 0, kIntMax, MPI_ERR_ARG, blocklength) ||
        !integer(node, 2, "stride", bytes ? kAintMin : kIntMin, bytes ? kAintMax : kIntMax,
                 MPI_ERR_ARG, stride)) {
      return {};
    }
    Handle child = build(node.items[3]);
    if (failed()) return {};
    MPI_Datatype out = MPI_DATATYPE_NULL;
    int rc = bytes ? PMPI_Type_create_hvector(static_cast<int>(count),
                                              static_cast<int>(blocklength),
                                              static_cast<MPI_Aint>(stride), child.get(), &out)
                   : PMPI_Type_vector(static_cast<int>(count), static_cast<int>(blocklength),
                                      static_cast<int>(stride), child.get(), &out);
    if (rc != MPI_SUCCESS) return mpi_failed(rc, node);
    return Handle(out);
  }

  Handle indexed(const SpecNode& node, bool bytes) {
    std::vector<std::int64_t> blocklengths;
    std::vector<std::int64_t> displacements;
    if (!arity(node, 3) ||
        !int_list(node, 0, "blocklengths", 0, kIntMax, MPI_ERR_ARG, blocklengths) ||
        !int_list(node, 1, "displacements", bytes ? kAintMin : kIntMin,
                  bytes ? kAintMax : kIntMax, MPI_ERR_ARG, displacements) ||
        !same_length(node, 0, 1, blocklengths.size(), displacements.size()) ||
        !fits_int(node, blocklengths.size())) {
      return {};
    }
    Handle child = build(node.items[2]);
    if (failed()) return {};
    const int count = static_cast<int>(blocklengths.size());
    const std::vector<int> lengths = ints(blocklengths);
    MPI_Datatype out = MPI_DATATYPE_NULL;
    int rc = MPI_SUCCESS;
    if (bytes) {
      const std::vector<MPI_Aint> displs = aints(displacements);
      rc = PMPI_Type_create_hindexed(count, lengths.data(), displs.data(), child.get(), &out);
    } else {
      const std::vector<int> displs = ints(displacements);
      rc = PMPI_Type_indexed(count, lengths.data(), displs.data(), child.get(), &out);
    }
    if (rc != MPI_SUCCESS) return mpi_failed(rc, node);
    return Handle(out);
  }

  Handle indexed_block(const SpecNode& node, bool bytes) {
    std::int64_t blocklength = 0;
    std::vector<std::int64_t> displacements;
    if (!arity(node, 3) ||
        !integer(node, 0, "blocklength", 0, kIntMax, MPI_ERR_ARG, blocklength) ||
        !int_list(node, 1, "displacements", bytes ? kAintMin : kIntMin,
                  bytes ? kAintMax : kIntMax, MPI_ERR_ARG, displacements) ||
        !fits_int(node, displacements.size())) {
      return {};
    }
    Handle child = build(node.items[2]);
    if (failed()) return {};
    const int count = static_cast<int>(displacements.size());
    MPI_Datatype out = MPI_DATATYPE_NULL;
    int rc = MPI_SUCCESS;
    if (bytes) {
      const std::vector<MPI_Aint> displs = aints(displacements);
      rc = PMPI_Type_create_hindexed_block(count, static_cast<int>(blocklength), displs.data(),
                                           child.get(), &out);
    } else {
      const std::vector<int> displs = ints(displacements);
      rc = PMPI_Type_create_indexed_block(count, static_cast<int>(blocklength), displs.data(),
                                          child.get(), &out);
    }
    if (rc != MPI_SUCCESS) return mpi_failed(rc, node);
    return Handle(out);
  }

  Handle structure(const SpecNode& node) {
    std::vector<std::int64_t> blocklengths;
    std::vector<std::int64_t> displacements;
    if (!arity(node, 3) ||
        !int_list(node, 0, "blocklengths", 0, kIntMax, MPI_ERR_ARG, blocklengths) ||
        !int_list(node, 1, "displacements", kAintMin, kAintMax, MPI_ERR_ARG, displacements)) {
      return {};
    }
    const SpecNode& types = node.items[2];
    if (types.kind != SpecNode::Kind::list) {
      return fail(MPI_ERR_ARG, "struct types must be a list of types");
    }
    if (!same_length(node, 0, 1, blocklengths.size(), displacements.size()) ||
        !same_length(node, 0, 2, blocklengths.size(), types.items.size()) ||
        !fits_int(node, blocklengths.size())) {
      return {};
    }
    std::vector<Handle> children;
    std::vector<MPI_Datatype> handles;
    children.reserve(types.items.size());
    for (const SpecNode& type : types.items) {
      children.push_back(build(type));
      if (failed()) return {};
      handles.push_back(children.back().get());
    }
    const std::vector<int> lengths = ints(blocklengths);
    const std::vector<MPI_Aint> displs = aints(displacements);
    MPI_Datatype out = MPI_DATATYPE_NULL;
    int rc = PMPI_Type_create_struct(static_cast<int>(lengths.size()), lengths.data(),
                                     displs.data(), handles.data(), &out);
    if (rc != MPI_SUCCESS) return mpi_failed(rc, node);
    return Handle(out);
  }

  bool order(const SpecNode& node, std::size_t index, int& out) {
    const SpecNode& arg = node.items[index];
    if (arg.kind == SpecNode::Kind::word && (arg.name == "C" || arg.name == "F")) {
      out = arg.name == "C" ? MPI_ORDER_C : MPI_ORDER_FORTRAN;
      return true;
    }
    fail(MPI_ERR_ARG, node.name + " order must be C or F");
    return false;
  }

  Handle subarray(const SpecNode& node) {
    std::vector<std::int64_t> sizes;
    std::vector<std::int64_t> subsizes;
    std::vector<std::int64_t> starts;
    int order_value = MPI_ORDER_C;
    if (!arity(node, 5) || !int_list(node, 0, "sizes", 1, kIntMax, MPI_ERR_ARG, sizes) ||
        !int_list(node, 1, "subsizes", 1, kIntMax, MPI_ERR_ARG, subsizes) ||
        !int_list(node, 2, "starts", 0, kIntMax, MPI_ERR_ARG, starts) ||
        !same_length(node, 0, 1, sizes.size(), subsizes.size()) ||
        !same_length(node, 0, 2, sizes.size(), starts.size()) || !fits_int(node, sizes.size()) ||
        !order(node, 3, order_value)) {
      return {};
    }
    if (sizes.empty()) return fail(MPI_ERR_ARG, "subarray needs at least one dimension");
    // MPI requires 1 <= subsize <= size and 0 <= start <= size - subsize per dimension.
    for (std::size_t d = 0; d < sizes.size(); ++d) {
      if (subsizes[d] > sizes[d]) {
        return fail(MPI_ERR_ARG, "subarray subsizes[" + std::to_string(d) + "] = " +
                                     std::to_string(subsizes[d]) + " exceeds sizes[" +
                                     std::to_string(d) + "] = " + std::to_string(sizes[d]));
      }
      if (starts[d] > sizes[d] - subsizes[d]) {
        return fail(MPI_ERR_ARG, "subarray starts[" + std::to_string(d) + "] = " +
                                     std::to_string(starts[d]) + " puts the block past sizes[" +
                                     std::to_string(d) + "] = " + std::to_string(sizes[d]));
      }
    }
    Handle child = build(node.items[4]);
    if (failed()) return {};
    const std::vector<int> s = ints(sizes);
    const std::vector<int> ss = ints(subsizes);
    const std::vector<int> st = ints(starts);
    MPI_Datatype out = MPI_DATATYPE_NULL;
    int rc = PMPI_Type_create_subarray(static_cast<int>(s.size()), s.data(), ss.data(),
                                       st.data(), order_value, child.get(), &out);
    if (rc != MPI_SUCCESS) return mpi_failed(rc, node);
    return Handle(out);
  }

  Handle darray(const SpecNode& node) {
    std::int64_t size = 0;
    std::int64_t rank = 0;
    std::vector<std::int64_t> gsizes;
    std::vector<std::int64_t> psizes;
    int order_value = MPI_ORDER_C;
    if (!arity(node, 8) || !integer(node, 0, "size", 1, kIntMax, MPI_ERR_ARG, size) ||
        !integer(node, 1, "rank", 0, size - 1, MPI_ERR_ARG, rank) ||
        !int_list(node, 2, "gsizes", 1, kIntMax, MPI_ERR_ARG, gsizes) ||
        !int_list(node, 5, "psizes", 1, kIntMax, MPI_ERR_ARG, psizes) ||
        !order(node, 6, order_value)) {
      return {};
    }
    const SpecNode& distribs_node = node.items[3];
    const SpecNode& dargs_node = node.items[4];
    if (distribs_node.kind != SpecNode::Kind::list || dargs_node.kind != SpecNode::Kind::list) {
      return fail(MPI_ERR_ARG, "darray distribs and dargs must be lists");
    }
    const std::size_t ndims = gsizes.size();
    if (!same_length(node, 2, 3, ndims, distribs_node.items.size()) ||
        !same_length(node, 2, 4, ndims, dargs_node.items.size()) ||
        !same_length(node, 2, 5, ndims, psizes.size()) || !fits_int(node, ndims)) {
      return {};
    }
    if (ndims == 0) return fail(MPI_ERR_ARG, "darray needs at least one dimension");
    std::vector<int> distribs(ndims);
    std::vector<int> dargs(ndims);
    std::int64_t grid = 1;
    for (std::size_t d = 0; d < ndims; ++d) {
      const std::string at = "[" + std::to_string(d) + "]";
      const SpecNode& distrib = distribs_node.items[d];
      if (distrib.kind != SpecNode::Kind::word) {
        return fail(MPI_ERR_ARG, "darray distribs" + at + " must be block, cyclic or none");
      }
      if (distrib.name == "block") {
        distribs[d] = MPI_DISTRIBUTE_BLOCK;
      } else if (distrib.name == "cyclic") {
        distribs[d] = MPI_DISTRIBUTE_CYCLIC;
      } else if (distrib.name == "none") {
        distribs[d] = MPI_DISTRIBUTE_NONE;
      } else {
        return fail(MPI_ERR_ARG, "darray distribs" + at + " must be block, cyclic or none");
      }
      const SpecNode& darg = dargs_node.items[d];
      if (darg.kind == SpecNode::Kind::word && darg.name == "dflt") {
        dargs[d] = MPI_DISTRIBUTE_DFLT_DARG;
      } else if (darg.kind == SpecNode::Kind::integer && darg.value >= 1 &&
                 darg.value <= kIntMax) {
        dargs[d] = static_cast<int>(darg.value);
      } else {
        return fail(MPI_ERR_ARG, "darray dargs" + at + " must be a positive integer or dflt");
      }
      // A block distribution must cover the dimension: darg * psize >= gsize.
      if (distribs[d] == MPI_DISTRIBUTE_BLOCK && dargs[d] != MPI_DISTRIBUTE_DFLT_DARG &&
          static_cast<std::int64_t>(dargs[d]) * psizes[d] < gsizes[d]) {
        return fail(MPI_ERR_ARG, "darray block dargs" + at + " * psizes" + at +
                                     " must be at least gsizes" + at);
      }
      // Not distributed means one process holds the whole dimension.
      if (distribs[d] == MPI_DISTRIBUTE_NONE && psizes[d] != 1) {
        return fail(MPI_ERR_ARG, "darray psizes" + at + " must be 1 for distribution none");
      }
      grid *= psizes[d];
      if (grid > size) break;
    }
    if (grid != size) {
      return fail(MPI_ERR_ARG, "darray psizes must multiply to size = " + std::to_string(size));
    }
    Handle child = build(node.items[7]);
    if (failed()) return {};
    const std::vector<int> g = ints(gsizes);
    const std::vector<int> p = ints(psizes);
    MPI_Datatype out = MPI_DATATYPE_NULL;
    int rc = PMPI_Type_create_darray(static_cast<int>(size), static_cast<int>(rank),
                                     static_cast<int>(ndims), g.data(), distribs.data(),
                                     dargs.data(), p.data(), order_value, child.get(), &out);
    if (rc != MPI_SUCCESS) return mpi_failed(rc, node);
    return Handle(out);
  }

  Handle resized(const SpecNode& node) {
    std::int64_t lb = 0;
    std::int64_t extent = 0;
    if (!arity(node, 3) || !integer(node, 0, "lb", kAintMin, kAintMax, MPI_ERR_ARG, lb) ||
        !integer(node, 1, "extent", kAintMin, kAintMax, MPI_ERR_ARG, extent)) {
      return {};
    }
    Handle child = build(node.items[2]);
    if (failed()) return {};
    MPI_Datatype out = MPI_DATATYPE_NULL;
    int rc = PMPI_Type_create_resized(child.get(), static_cast<MPI_Aint>(lb),
                                      static_cast<MPI_Aint>(extent), &out);
    if (rc != MPI_SUCCESS) return mpi_failed(rc, node);
    return Handle(out);
  }

  Handle dup(const SpecNode& node) {
    if (!arity(node, 1)) return {};
    Handle child = build(node.items[0]);
    if (failed()) return {};
    MPI_Datatype out = MPI_DATATYPE_NULL;
    int rc = PMPI_Type_dup(child.get(), &out);
    if (rc != MPI_SUCCESS) return mpi_failed(rc, node);
    return Handle(out);
  }

  // p or r may be MPI_UNDEFINED (not both); a precision or range beyond long double is an
  // error in Open MPI (it selects float, double or long double by <cfloat> limits).
  Handle f90_real(const SpecNode& node, bool complex) {
    std::int64_t p = 0;
    std::int64_t r = 0;
    if (!arity(node, 2) || !integer(node, 0, "p", kIntMin, kIntMax, MPI_ERR_ARG, p) ||
        !integer(node, 1, "r", kIntMin, kIntMax, MPI_ERR_ARG, r)) {
      return {};
    }
    if (p == MPI_UNDEFINED && r == MPI_UNDEFINED) {
      return fail(MPI_ERR_ARG, node.name + ": p and r cannot both be MPI_UNDEFINED");
    }
    if ((p != MPI_UNDEFINED && p > LDBL_DIG) || (r != MPI_UNDEFINED && r > LDBL_MAX_10_EXP)) {
      return fail(MPI_ERR_ARG, node.name + ": no real kind with precision " +
                                   std::to_string(p) + " and range " + std::to_string(r));
    }
    MPI_Datatype out = MPI_DATATYPE_NULL;
    int rc = complex ? PMPI_Type_create_f90_complex(static_cast<int>(p), static_cast<int>(r),
                                                    &out)
                     : PMPI_Type_create_f90_real(static_cast<int>(p), static_cast<int>(r), &out);
    if (rc != MPI_SUCCESS) return mpi_failed(rc, node);
    return Handle(out);
  }

  Handle f90_integer(const SpecNode& node) {
    std::int64_t r = 0;
    // 18 decimal digits is the widest integer kind every Open MPI build provides (64-bit).
    if (!arity(node, 1) || !integer(node, 0, "r", kIntMin, 18, MPI_ERR_ARG, r)) return {};
    MPI_Datatype out = MPI_DATATYPE_NULL;
    int rc = PMPI_Type_create_f90_integer(static_cast<int>(r), &out);
    if (rc != MPI_SUCCESS) return mpi_failed(rc, node);
    return Handle(out);
  }

  Failure failure_;
};

}  // namespace

MPI_Datatype named_type(std::string_view canonical_name) {
  for (const NamedEntry& entry : named_table()) {
    if (entry.name == canonical_name) return entry.type;
  }
  return MPI_DATATYPE_NULL;
}

bool is_predefined(MPI_Datatype type) {
  if (type == MPI_DATATYPE_NULL) return false;
  int integers = 0;
  int addresses = 0;
  int datatypes = 0;
  int combiner = MPI_COMBINER_NAMED;
  if (PMPI_Type_get_envelope(type, &integers, &addresses, &datatypes, &combiner) !=
      MPI_SUCCESS) {
    return false;
  }
  return combiner == MPI_COMBINER_NAMED || combiner == MPI_COMBINER_F90_REAL ||
         combiner == MPI_COMBINER_F90_COMPLEX || combiner == MPI_COMBINER_F90_INTEGER;
}

int free_built_type(MPI_Datatype* type) {
  if (type == nullptr || *type == MPI_DATATYPE_NULL) return MPI_SUCCESS;
  int rc = MPI_SUCCESS;
  if (!is_predefined(*type)) rc = PMPI_Type_free(type);
  *type = MPI_DATATYPE_NULL;
  return rc;
}

int build_type(const core::SpecNode& spec, MPI_Datatype* out, std::string* error) {
  if (out == nullptr) return MPI_ERR_ARG;
  *out = MPI_DATATYPE_NULL;
  // Only allocation can throw here; report it like any other failure.
  try {
    Builder builder;
    Handle handle = builder.build(spec);
    if (builder.failure().code != MPI_SUCCESS) {
      if (error != nullptr) *error = builder.failure().message;
      return builder.failure().code;
    }
    *out = handle.release();
    return MPI_SUCCESS;
  } catch (const std::bad_alloc&) {
    if (error != nullptr) *error = "out of memory while building the datatype";
    return MPI_ERR_NO_MEM;
  }
}

}  // namespace strider::mpi
