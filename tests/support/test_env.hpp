#pragma once
// Small helpers shared by the randomised tests: numeric knobs from the environment (seeds,
// iteration counts for soak runs) and reproducible byte patterns for garbage-filled buffers.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <cstdlib>
#include <vector>

namespace strider::test {

// The unsigned value of environment variable `name`, or `fallback` when unset or empty.
inline std::uint64_t env_or(const char* name, std::uint64_t fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::strtoull(value, nullptr, 10) : fallback;
}

// Fills `bytes` with a pseudo-random pattern determined by `seed`: eight bytes per step of a
// splitmix64 sequence, fast enough for multi-MiB buffers.
inline void fill_pattern(std::vector<unsigned char>& bytes, std::uint64_t seed) {
  std::uint64_t state = seed;
  for (std::size_t i = 0; i < bytes.size(); i += 8) {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    std::memcpy(bytes.data() + i, &z, std::min<std::size_t>(8, bytes.size() - i));
  }
}

}  // namespace strider::test
