// Include before code that passes 32-byte vectors (simd.hpp's Vec) by value between
// always-inlined helpers: GCC's note that such calls change the ABI without AVX does
// not apply to them. Pair with psabi_on.hpp at the end of the file (no include guard:
// every file takes its own push and pop).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"
#endif
