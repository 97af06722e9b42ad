#include "core/spec.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <limits>
#include <optional>
#include <utility>

namespace strider::core {
namespace {

constexpr std::string_view kNamedTypes[] = {
    "char",      "signed_char",   "unsigned_char",   "byte",           "short",
    "unsigned_short",            "int",             "unsigned",       "long",
    "unsigned_long",             "long_long",       "unsigned_long_long",
    "float",     "double",        "long_double",     "int8_t",         "int16_t",
    "int32_t",   "int64_t",       "uint8_t",         "uint16_t",       "uint32_t",
    "uint64_t",  "c_bool",        "wchar",           "packed",         "aint",
    "offset",    "count",         "c_complex",       "c_float_complex",
    "c_double_complex",           "c_long_double_complex",             "float_int",
    "double_int",                 "long_int",        "2int",           "short_int",
    "long_double_int",            "long_long_int"};

constexpr std::string_view kConstructors[] = {
    "contiguous", "vector",   "hvector", "indexed",  "hindexed",    "indexed_block",
    "hindexed_block", "struct", "subarray", "darray", "resized",   "dup",
    "f90_real",   "f90_complex", "f90_integer"};

// Words and their MPI constant spellings.
constexpr std::array<std::pair<std::string_view, std::string_view>, 12> kWords{{
    {"C", "C"},
    {"F", "F"},
    {"block", "block"},
    {"cyclic", "cyclic"},
    {"none", "none"},
    {"dflt", "dflt"},
    {"MPI_ORDER_C", "C"},
    {"MPI_ORDER_FORTRAN", "F"},
    {"MPI_DISTRIBUTE_BLOCK", "block"},
    {"MPI_DISTRIBUTE_CYCLIC", "cyclic"},
    {"MPI_DISTRIBUTE_NONE", "none"},
    {"MPI_DISTRIBUTE_DFLT_DARG", "dflt"},
}};

enum class Param { integer, int_list, type, type_list, order, distrib_list, darg_list };

struct ParamInfo {
  Param kind;
  std::string_view label;
};

struct Signature {
  std::string_view name;
  std::array<ParamInfo, 8> params;
  std::size_t arity;
  // Parameter indices whose lists must have equal lengths (kNone terminates).
  std::array<std::size_t, 4> same_length;
};

constexpr std::size_t kNone = 99;
constexpr ParamInfo kUnused{Param::integer, ""};

constexpr std::array<Signature, 15> kSignatures{{
    {"contiguous", {{{Param::integer, "count"}, {Param::type, "type"}}}, 2,
     {kNone, kNone, kNone, kNone}},
    {"vector",
     {{{Param::integer, "count"}, {Param::integer, "blocklength"}, {Param::integer, "stride"},
       {Param::type, "type"}}},
     4, {kNone, kNone, kNone, kNone}},
    {"hvector",
     {{{Param::integer, "count"}, {Param::integer, "blocklength"},
       {Param::integer, "stride_bytes"}, {Param::type, "type"}}},
     4, {kNone, kNone, kNone, kNone}},
    {"indexed",
     {{{Param::int_list, "blocklengths"}, {Param::int_list, "displacements"},
       {Param::type, "type"}}},
     3, {0, 1, kNone, kNone}},
    {"hindexed",
     {{{Param::int_list, "blocklengths"}, {Param::int_list, "byte_displacements"},
       {Param::type, "type"}}},
     3, {0, 1, kNone, kNone}},
    {"indexed_block",
     {{{Param::integer, "blocklength"}, {Param::int_list, "displacements"},
       {Param::type, "type"}}},
     3, {kNone, kNone, kNone, kNone}},
    {"hindexed_block",
     {{{Param::integer, "blocklength"}, {Param::int_list, "byte_displacements"},
       {Param::type, "type"}}},
     3, {kNone, kNone, kNone, kNone}},
    {"struct",
     {{{Param::int_list, "blocklengths"}, {Param::int_list, "byte_displacements"},
       {Param::type_list, "types"}}},
     3, {0, 1, 2, kNone}},
    {"subarray",
     {{{Param::int_list, "sizes"}, {Param::int_list, "subsizes"}, {Param::int_list, "starts"},
       {Param::order, "order"}, {Param::type, "type"}}},
     5, {0, 1, 2, kNone}},
    {"darray",
     {{{Param::integer, "size"}, {Param::integer, "rank"}, {Param::int_list, "gsizes"},
       {Param::distrib_list, "distribs"}, {Param::darg_list, "dargs"},
       {Param::int_list, "psizes"}, {Param::order, "order"}, {Param::type, "type"}}},
     8, {2, 3, 4, 5}},
    {"resized",
     {{{Param::integer, "lb"}, {Param::integer, "extent"}, {Param::type, "type"}}}, 3,
     {kNone, kNone, kNone, kNone}},
    {"dup", {{{Param::type, "type"}}}, 1, {kNone, kNone, kNone, kNone}},
    {"f90_real", {{{Param::integer, "p"}, {Param::integer, "r"}}}, 2,
     {kNone, kNone, kNone, kNone}},
    {"f90_complex", {{{Param::integer, "p"}, {Param::integer, "r"}}}, 2,
     {kNone, kNone, kNone, kNone}},
    {"f90_integer", {{{Param::integer, "r"}}}, 1, {kNone, kNone, kNone, kNone}},
}};

const Signature* find_signature(std::string_view name) {
  for (const auto& signature : kSignatures) {
    if (signature.name == name) return &signature;
  }
  return nullptr;
}

// Canonical short name of a predefined type, from either spelling; empty when unknown.
std::string canonical_named(std::string_view text) {
  std::string candidate;
  if (text.starts_with("MPI_")) {
    for (char c : text.substr(4)) {
      candidate.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
  } else {
    candidate = std::string(text);
  }
  return is_named_type(candidate) ? candidate : std::string();
}

std::optional<std::string_view> canonical_word(std::string_view text) {
  for (const auto& [spelling, word] : kWords) {
    if (spelling == text) return word;
  }
  return std::nullopt;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// "unknown type 'doubel' (did you mean 'double'?)": the nearest known name within two edits.
std::string suggestion(std::string_view text, bool constructors) {
  std::string lowered;
  for (char c : text.starts_with("MPI_") ? text.substr(4) : text) {
    lowered.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  std::string_view best;
  std::size_t best_distance = 3;
  auto consider = [&](std::string_view candidate) {
    std::size_t distance = edit_distance(lowered, candidate);
    // Short names are too close to everything for a suggestion to mean anything.
    if (distance * 2 > lowered.size()) return;
    if (distance < best_distance) {
      best_distance = distance;
      best = candidate;
    }
  };
  if (constructors) {
    for (auto name : constructor_names()) consider(name);
  } else {
    for (auto name : named_type_names()) consider(name);
    for (const auto& entry : kWords) consider(entry.second);
  }
  if (best.empty()) return {};
  return " (did you mean '" + std::string(best) + "'?)";
}

bool is_ident_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
}

std::string describe(const SpecNode& node) {
  switch (node.kind) {
    case SpecNode::Kind::integer: return "an integer";
    case SpecNode::Kind::word: return "the word '" + node.name + "'";
    case SpecNode::Kind::list: return "a list";
    case SpecNode::Kind::named: return "type '" + node.name + "'";
    case SpecNode::Kind::call: return "a " + node.name + "(...) type";
  }
  return "?";
}

// Thrown only inside the parser and caught in parse_spec: it keeps the recursive descent
// free of error plumbing; nothing escapes the public API.
struct ParseFailure {
  SpecError error;
};

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  SpecNode parse_top() {
    skip_space();
    if (at_end()) fail(pos_, "empty spec: expected a type");
    SpecNode node = parse_arg(0);
    if (!node.is_type()) fail(node.position, "expected a type, got " + describe(node));
    skip_space();
    if (!at_end()) {
      char c = text_[pos_];
      if (c == ')' || c == ']') {
        fail(pos_, std::string("unbalanced '") + c + "': nothing to close");
      }
      fail(pos_, "unexpected '" + token_at(pos_) + "' after the type expression");
    }
    return node;
  }

 private:
  static constexpr int kMaxDepth = 200;

  [[noreturn]] static void fail(std::size_t position, std::string message) {
    throw ParseFailure{SpecError{std::move(message), position}};
  }

  bool at_end() const { return pos_ >= text_.size(); }

  void skip_space() {
    while (!at_end() && std::isspace(static_cast<unsigned char>(text_[pos_])) != 0) ++pos_;
  }

  // The token starting at `at`, for messages.
  std::string token_at(std::size_t at) const {
    if (at >= text_.size()) return "end of input";
    std::size_t end = at;
    while (end < text_.size() && is_ident_char(text_[end])) ++end;
    if (end == at) end = at + 1;
    return std::string(text_.substr(at, end - at));
  }

  std::string found_here() const {
    if (at_end()) return "end of input";
    return "'" + token_at(pos_) + "'";
  }

  SpecNode parse_arg(int depth) {
    if (depth > kMaxDepth) fail(pos_, "nesting deeper than 200 levels");
    skip_space();
    if (at_end()) fail(pos_, "unexpected end of input: expected an argument");
    const std::size_t start = pos_;
    const char c = text_[pos_];
    if (c == '[') return parse_list(depth);
    if (c == '-' || c == '+' || std::isdigit(static_cast<unsigned char>(c)) != 0) {
      // "2int" is a name, not the integer 2 followed by garbage.
      std::size_t end = pos_;
      if (c == '-' || c == '+') ++end;
      while (end < text_.size() && std::isdigit(static_cast<unsigned char>(text_[end])) != 0) {
        ++end;
      }
      const bool is_name = (c != '-' && c != '+') && end < text_.size() &&
                           is_ident_char(text_[end]);
      if (!is_name) return parse_integer(start, end);
    }
    if (is_ident_char(c)) return parse_name(depth);
    if (c == ')' || c == ']') {
      fail(pos_, std::string("unexpected '") + c + "': expected an argument");
    }
    fail(pos_, "unexpected '" + token_at(pos_) + "': expected an integer, a list, a word or a type");
  }

  SpecNode parse_integer(std::size_t start, std::size_t end) {
    std::size_t digits = start;
    const bool negative = text_[start] == '-';
    if (text_[start] == '-' || text_[start] == '+') ++digits;
    if (digits == end) fail(start, "expected digits after '" + std::string(1, text_[start]) + "'");
    // Accumulate negatively so INT64_MIN parses.
    std::int64_t value = 0;
    constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
    for (std::size_t i = digits; i < end; ++i) {
      const int digit = text_[i] - '0';
      if (value < (kMin + digit) / 10) fail(start, "integer out of 64-bit range");
      value = value * 10 - digit;
    }
    if (!negative) {
      if (value == kMin) fail(start, "integer out of 64-bit range");
      value = -value;
    }
    pos_ = end;
    SpecNode node = SpecNode::integer(value);
    node.position = start;
    return node;
  }

  SpecNode parse_list(int depth) {
    const std::size_t open = pos_;
    ++pos_;  // '['
    SpecNode node = SpecNode::list({});
    node.position = open;
    skip_space();
    if (!at_end() && text_[pos_] == ']') {
      ++pos_;
      return node;
    }
    while (true) {
      node.items.push_back(parse_arg(depth + 1));
      skip_space();
      if (at_end()) fail(open, "unbalanced '[': the list is never closed with ']'");
      if (text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (text_[pos_] == ']') {
        ++pos_;
        return node;
      }
      fail(pos_, "expected ',' or ']' in the list, got " + found_here());
    }
  }

  SpecNode parse_name(int depth) {
    const std::size_t start = pos_;
    while (!at_end() && is_ident_char(text_[pos_])) ++pos_;
    const std::string_view text = text_.substr(start, pos_ - start);
    const std::size_t after_name = pos_;
    skip_space();
    if (!at_end() && text_[pos_] == '(') return parse_call(text, start, depth);
    pos_ = after_name;

    if (std::string named = canonical_named(text); !named.empty()) {
      SpecNode node = SpecNode::named(std::move(named));
      node.position = start;
      return node;
    }
    if (auto word = canonical_word(text)) {
      SpecNode node = SpecNode::word(std::string(*word));
      node.position = start;
      return node;
    }
    if (find_signature(text) != nullptr) {
      fail(start, "'" + std::string(text) + "' is a constructor and needs arguments: " +
                      std::string(text) + "(...)");
    }
    fail(start, "unknown name '" + std::string(text) + "'" + suggestion(text, false));
  }

  SpecNode parse_call(std::string_view name, std::size_t start, int depth) {
    const Signature* signature = find_signature(name);
    if (signature == nullptr) {
      if (!canonical_named(name).empty()) {
        fail(start, "'" + std::string(name) + "' is a predefined type and takes no arguments");
      }
      fail(start, "unknown constructor '" + std::string(name) + "'" + suggestion(name, true));
    }
    const std::size_t open = pos_;
    ++pos_;  // '('
    SpecNode node = SpecNode::call(std::string(name), {});
    node.position = start;
    skip_space();
    std::size_t close = pos_;
    if (!at_end() && text_[pos_] == ')') {
      ++pos_;
    } else {
      while (true) {
        node.items.push_back(parse_arg(depth + 1));
        skip_space();
        if (at_end()) {
          fail(open, "unbalanced '(': " + std::string(name) + "( is never closed with ')'");
        }
        if (text_[pos_] == ',') {
          ++pos_;
          continue;
        }
        if (text_[pos_] == ')') {
          close = pos_;
          ++pos_;
          break;
        }
        fail(pos_, "expected ',' or ')' in the arguments of " + std::string(name) + ", got " +
                       found_here());
      }
    }
    check_call(*signature, node, close);
    return node;
  }

  static std::string arity_message(const Signature& signature, std::size_t got) {
    std::string message = std::string(signature.name) + " expects " +
                          std::to_string(signature.arity) +
                          (signature.arity == 1 ? " argument (" : " arguments (");
    for (std::size_t i = 0; i < signature.arity; ++i) {
      if (i > 0) message += ", ";
      message += signature.params[i].label;
    }
    return message + "), got " + std::to_string(got);
  }

  static void check_call(const Signature& signature, const SpecNode& node, std::size_t close) {
    const std::size_t got = node.items.size();
    if (got != signature.arity) {
      // Too many: point at the first surplus argument; too few: where the next one belongs.
      fail(got > signature.arity ? node.items[signature.arity].position : close,
           arity_message(signature, got));
    }
    for (std::size_t i = 0; i < signature.arity; ++i) {
      check_param(signature, i, node.items[i]);
    }
    std::size_t first = kNone;
    for (std::size_t index : signature.same_length) {
      if (index == kNone) break;
      if (first == kNone) {
        first = index;
        continue;
      }
      const SpecNode& a = node.items[first];
      const SpecNode& b = node.items[index];
      if (a.items.size() != b.items.size()) {
        fail(b.position, std::string(signature.name) + ": " + std::to_string(a.items.size()) +
                             " " + std::string(signature.params[first].label) + " but " +
                             std::to_string(b.items.size()) + " " +
                             std::string(signature.params[index].label));
      }
    }
  }

  static void check_param(const Signature& signature, std::size_t index, const SpecNode& arg) {
    const ParamInfo& param = signature.params[index];
    const std::string where = std::string(signature.name) + " argument " +
                              std::to_string(index + 1) + " (" + std::string(param.label) + ")";
    auto require_list = [&](const char* what) {
      if (arg.kind != SpecNode::Kind::list) {
        fail(arg.position, where + " must be a list of " + what + ", got " + describe(arg));
      }
    };
    auto element = [&](std::size_t i) {
      return std::string(signature.name) + " " + std::string(param.label) + "[" +
             std::to_string(i) + "]";
    };
    switch (param.kind) {
      case Param::integer:
        if (arg.kind != SpecNode::Kind::integer) {
          fail(arg.position, where + " must be an integer, got " + describe(arg));
        }
        return;
      case Param::type:
        if (!arg.is_type()) fail(arg.position, where + " must be a type, got " + describe(arg));
        return;
      case Param::order:
        if (arg.kind != SpecNode::Kind::word || (arg.name != "C" && arg.name != "F")) {
          fail(arg.position, where + " must be C or F, got " + describe(arg));
        }
        return;
      case Param::int_list:
        require_list("integers");
        for (std::size_t i = 0; i < arg.items.size(); ++i) {
          if (arg.items[i].kind != SpecNode::Kind::integer) {
            fail(arg.items[i].position,
                 element(i) + " must be an integer, got " + describe(arg.items[i]));
          }
        }
        return;
      case Param::type_list:
        require_list("types");
        for (std::size_t i = 0; i < arg.items.size(); ++i) {
          if (!arg.items[i].is_type()) {
            fail(arg.items[i].position,
                 element(i) + " must be a type, got " + describe(arg.items[i]));
          }
        }
        return;
      case Param::distrib_list:
        require_list("block, cyclic or none");
        for (std::size_t i = 0; i < arg.items.size(); ++i) {
          const SpecNode& item = arg.items[i];
          if (item.kind != SpecNode::Kind::word ||
              (item.name != "block" && item.name != "cyclic" && item.name != "none")) {
            fail(item.position, element(i) + " must be block, cyclic or none, got " +
                                    describe(item));
          }
        }
        return;
      case Param::darg_list:
        require_list("integers or dflt");
        for (std::size_t i = 0; i < arg.items.size(); ++i) {
          const SpecNode& item = arg.items[i];
          if (item.kind != SpecNode::Kind::integer &&
              !(item.kind == SpecNode::Kind::word && item.name == "dflt")) {
            fail(item.position,
                 element(i) + " must be an integer or dflt, got " + describe(item));
          }
        }
        return;
    }
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

void append(std::string& out, const SpecNode& node) {
  auto append_items = [&](const std::vector<SpecNode>& items) {
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (i > 0) out += ", ";
      append(out, items[i]);
    }
  };
  switch (node.kind) {
    case SpecNode::Kind::integer: out += std::to_string(node.value); return;
    case SpecNode::Kind::word:
    case SpecNode::Kind::named: out += node.name; return;
    case SpecNode::Kind::list:
      out += '[';
      append_items(node.items);
      out += ']';
      return;
    case SpecNode::Kind::call:
      out += node.name;
      out += '(';
      append_items(node.items);
      out += ')';
      return;
  }
}

}  // namespace

bool SpecNode::operator==(const SpecNode& other) const {
  return kind == other.kind && value == other.value && name == other.name &&
         items == other.items;
}

SpecNode SpecNode::integer(std::int64_t value) {
  SpecNode node;
  node.kind = Kind::integer;
  node.value = value;
  return node;
}

SpecNode SpecNode::word(std::string word) {
  SpecNode node;
  node.kind = Kind::word;
  node.name = std::move(word);
  return node;
}

SpecNode SpecNode::list(std::vector<SpecNode> items) {
  SpecNode node;
  node.kind = Kind::list;
  node.items = std::move(items);
  return node;
}

SpecNode SpecNode::int_list(const std::vector<std::int64_t>& values) {
  SpecNode node;
  node.kind = Kind::list;
  node.items.reserve(values.size());
  for (std::int64_t value : values) node.items.push_back(integer(value));
  return node;
}

SpecNode SpecNode::named(std::string name) {
  SpecNode node;
  node.kind = Kind::named;
  node.name = std::move(name);
  return node;
}

SpecNode SpecNode::call(std::string name, std::vector<SpecNode> args) {
  SpecNode node;
  node.kind = Kind::call;
  node.name = std::move(name);
  node.items = std::move(args);
  return node;
}

std::string to_string(const SpecNode& node) {
  std::string out;
  append(out, node);
  return out;
}

std::variant<SpecNode, SpecError> parse_spec(std::string_view text) {
  try {
    return Parser(text).parse_top();
  } catch (const ParseFailure& failure) {
    return failure.error;
  }
}

std::string format_error(std::string_view text, const SpecError& error) {
  const std::size_t position = std::min(error.position, text.size());
  std::size_t line_start = text.rfind('\n', position == 0 ? 0 : position - 1);
  line_start = (line_start == std::string_view::npos || position == 0) ? 0 : line_start + 1;
  if (position < text.size() && text[position] == '\n' && position > 0) {
    // An error at a newline belongs to the line it ends.
    line_start = text.rfind('\n', position - 1);
    line_start = line_start == std::string_view::npos ? 0 : line_start + 1;
  }
  std::size_t line_end = text.find('\n', line_start);
  if (line_end == std::string_view::npos) line_end = text.size();
  const std::size_t line_number =
      static_cast<std::size_t>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(line_start), '\n')) + 1;

  std::string out(text.substr(line_start, line_end - line_start));
  out += '\n';
  for (std::size_t i = line_start; i < position && i < line_end; ++i) {
    out += text[i] == '\t' ? '\t' : ' ';
  }
  out += "^\n";
  if (text.find('\n') != std::string_view::npos) {
    out += "line " + std::to_string(line_number) + ": ";
  }
  out += error.message;
  return out;
}

std::span<const std::string_view> named_type_names() {
  return kNamedTypes;
}

bool is_named_type(std::string_view canonical_name) {
  const auto names = named_type_names();
  return std::find(names.begin(), names.end(), canonical_name) != names.end();
}

std::span<const std::string_view> constructor_names() {
  return kConstructors;
}

}  // namespace strider::core
