#pragma once
// The datatype spec language: a small text form of MPI derived datatypes used by tests,
// strider-explain and the benchmarks, e.g. `resized(0, 8, vector(64, 1, 64, double))`.
//
//   type  := NAME | CTOR '(' arg (',' arg)* ')'
//   arg   := INTEGER | WORD | type | '[' [arg (',' arg)*] ']'
//
// Constructor arguments follow the MPI calls' order (counts implied by list lengths):
//   contiguous(count, T)                    vector(count, blocklength, stride, T)
//   hvector(count, blocklength, stride_bytes, T)
//   indexed([blocklengths], [displacements], T)   hindexed([blocklengths], [bytes], T)
//   indexed_block(blocklength, [displacements], T) hindexed_block(blocklength, [bytes], T)
//   struct([blocklengths], [byte_displacements], [T1, T2, ...])
//   subarray([sizes], [subsizes], [starts], C|F, T)
//   darray(size, rank, [gsizes], [block|cyclic|none ...], [dargs or dflt], [psizes], C|F, T)
//   resized(lb, extent, T)   dup(T)   f90_real(p, r)   f90_complex(p, r)   f90_integer(r)
// The parser checks structure (arity, argument kinds, list lengths); value ranges (negative
// counts, out-of-range starts) are the builder's job because MPI defines them.
// No MPI dependency: the mpi module builds handles from these trees (mpi/type_builder.hpp).
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace strider::core {

struct SpecNode {
  enum class Kind {
    integer,  // `value`
    word,     // `name`: C, F, block, cyclic, none, dflt
    list,     // `items`
    named,    // a predefined type; `name` is canonical ("double", "2int", "long_double_int")
    call,     // a constructor; `name` ("vector"), `items` are its arguments
  };
  Kind kind = Kind::integer;
  std::int64_t value = 0;
  std::string name;
  std::vector<SpecNode> items;
  std::size_t position = 0;  // byte offset of the node's first character in the parsed text

  // Structural equality; positions are ignored.
  bool operator==(const SpecNode& other) const;

  bool is_type() const { return kind == Kind::named || kind == Kind::call; }

  static SpecNode integer(std::int64_t value);
  static SpecNode word(std::string word);
  static SpecNode list(std::vector<SpecNode> items);
  static SpecNode int_list(const std::vector<std::int64_t>& values);
  static SpecNode named(std::string name);  // canonical name, no MPI_ prefix
  static SpecNode call(std::string name, std::vector<SpecNode> args);
};

// Canonical text: `vector(4, 2, 8, double)`, lists `[1, 2]`. parse_spec(to_string(x)) == x.
std::string to_string(const SpecNode& node);

struct SpecError {
  std::string message;
  std::size_t position = 0;  // byte offset into the text the error is about
};

// Parses one type expression (surrounding whitespace allowed, nothing else after it).
// Named types may be spelled `double` or `MPI_DOUBLE`; the tree always holds the short name.
std::variant<SpecNode, SpecError> parse_spec(std::string_view text);

// The offending line of `text`, a caret under the error position, then the message:
//   vector(4, 2, double)
//                      ^
//   vector expects 4 arguments (count, blocklength, stride, type), got 3
std::string format_error(std::string_view text, const SpecError& error);

// Every predefined type name the language knows, canonical spelling.
std::span<const std::string_view> named_type_names();
bool is_named_type(std::string_view canonical_name);
// Every constructor name, in the order of the grammar above.
std::span<const std::string_view> constructor_names();

}  // namespace strider::core
