// Ends the region opened by psabi_off.hpp (no include guard).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
