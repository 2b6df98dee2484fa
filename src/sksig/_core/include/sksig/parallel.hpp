// CPU parallelism: OpenMP with an explicit num_threads(n) so that threadpoolctl sees
// and can limit the pool. Work is split into independent items (pairs, paths) with no
// cross-thread reductions, so results are bitwise identical for every thread count.
#pragma once

#include <atomic>
#include <cstdint>
#include <new>

#include "status.hpp"

namespace sksig {

// Calls body(i) for i in [0, n). body returns a Status; the first failure is kept and
// the remaining items are skipped. Exceptions never leave the parallel region. An
// interrupt (interrupt.hpp) is noticed before every item and skips the rest.
template <class Body>
int parallel_for(std::int64_t n, int n_threads, Body&& body) noexcept {
  std::atomic<int> status{kOk};
  auto run_one = [&](std::int64_t i) {
    if (status.load(std::memory_order_relaxed) != kOk) return;
    int s;
    try {
      s = interrupt_requested() ? kInterrupted : static_cast<int>(body(i));
    } catch (const std::bad_alloc&) {
      s = kOutOfMemory;
    } catch (const Interrupted&) {
      s = kInterrupted;
    } catch (...) {
      s = kInternal;
    }
    if (s != kOk) {
      int expected = kOk;
      status.compare_exchange_strong(expected, s);
    }
  };
#if defined(_OPENMP)
  if (n_threads > 1 && n > 1) {
#pragma omp parallel for schedule(dynamic) num_threads(n_threads)
    for (std::int64_t i = 0; i < n; ++i) run_one(i);
    return status.load();
  }
#endif
  (void)n_threads;
  for (std::int64_t i = 0; i < n; ++i) run_one(i);
  return status.load();
}

}  // namespace sksig
