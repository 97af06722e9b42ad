// exec's staging pool: size classes, alignment, reuse, and the data a buffer holds.
#include <cstdint>
#include <cstring>
#include <vector>

#include <catch2/catch.hpp>

#include "exec/staging.hpp"

using strider::exec::acquire_staging;
using strider::exec::release_staging;
using strider::exec::Staging;

namespace {

std::uintptr_t address(const Staging& s) { return reinterpret_cast<std::uintptr_t>(s.data); }

// Fills every byte of a buffer and reads it back (under ASan, any byte past the allocation
// reports).
bool holds_data(const Staging& s) {
  auto* bytes = static_cast<unsigned char*>(s.data);
  for (std::size_t i = 0; i < s.capacity; ++i) bytes[i] = static_cast<unsigned char>(i * 131 + 7);
  for (std::size_t i = 0; i < s.capacity; ++i)
    if (bytes[i] != static_cast<unsigned char>(i * 131 + 7)) return false;
  return true;
}

}  // namespace

TEST_CASE("staging buffers come in power-of-two classes, 64-byte aligned, and hold their capacity", "[staging]") {
  for (std::size_t bytes : {std::size_t{1}, std::size_t{4096}, std::size_t{4097}, std::size_t{100000}}) {
    Staging s = acquire_staging(bytes);
    REQUIRE(s);
    CHECK(s.capacity >= bytes);
    CHECK(s.capacity >= 4096);
    CHECK((s.capacity & (s.capacity - 1)) == 0);
    CHECK(address(s) % 64 == 0);
    CHECK(holds_data(s));
    release_staging(s);
    CHECK_FALSE(s);
  }
}

TEST_CASE("large staging buffers start on a 2 MiB boundary, so that huge pages can back them", "[staging]") {
  // 3 MiB rounds up to the 4 MiB class; 2 MiB exactly is its own class.
  for (std::size_t bytes : {std::size_t{3} << 20, std::size_t{2} << 20}) {
    Staging s = acquire_staging(bytes);
    REQUIRE(s);
    CHECK(s.capacity >= bytes);
    CHECK(address(s) % (std::size_t{2} << 20) == 0);
    CHECK(holds_data(s));
    release_staging(s);
  }
}

TEST_CASE("a released staging buffer is reused for the next request of its class", "[staging]") {
  for (std::size_t bytes : {std::size_t{8192}, std::size_t{3} << 20}) {
    Staging first = acquire_staging(bytes);
    REQUIRE(first);
    void* const data = first.data;
    release_staging(first);
    Staging again = acquire_staging(bytes);
    CHECK(again.data == data);
    // Two live buffers of one class are distinct.
    Staging other = acquire_staging(bytes);
    REQUIRE(other);
    CHECK(other.data != again.data);
    release_staging(other);
    release_staging(again);
  }
}
