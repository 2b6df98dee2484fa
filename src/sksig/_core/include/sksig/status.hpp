// Status codes returned by every native entry point. The Cython layer maps them to
// Python exceptions (sksig/_core/_errors.py); native code never throws across the
// boundary, never aborts and never prints.
#pragma once

#include <exception>
#include <new>

#include "interrupt.hpp"

namespace sksig {

enum Status : int {
  kOk = 0,
  kInvalidArgument = 1,  // a shape or parameter the Python layer should have caught
  kOutOfMemory = 2,      // std::bad_alloc or a failed device allocation
  kCudaError = 3,        // a CUDA runtime call failed
  kInternal = 4,         // any other exception
  kNonFinite = 5,        // the computation overflowed to inf/NaN
  kInterrupted = 6,      // SIGINT arrived during the call (see interrupt.hpp)
};

// Runs `body` (which returns a Status) and turns any exception into a status code, so
// that entry points can be `noexcept` without risking std::terminate.
template <class Body>
int guarded(Body&& body) noexcept {
  try {
    return static_cast<int>(body());
  } catch (const std::bad_alloc&) {
    return kOutOfMemory;
  } catch (const Interrupted&) {
    return kInterrupted;
  } catch (...) {
    return kInternal;
  }
}

}  // namespace sksig
