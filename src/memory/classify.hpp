#pragma once
// Pointer -> memory kind. Host-only until the CUDA backend classifies device pointers.
namespace strider::memory {

enum class Kind { host, device, managed, mapped };
const char* to_string(Kind kind);

// The kind of memory `ptr` points to. Never creates a CUDA context.
Kind classify(const void* ptr);

}  // namespace strider::memory
