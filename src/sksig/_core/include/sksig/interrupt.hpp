// Ctrl-C during long native calls. Python cannot run its SIGINT handler while the
// main thread is inside a native call, so sksig/_interrupt.py installs, for the
// duration of such a call, the C-level handler below: it only sets an atomic flag
// (async-signal safe). Native loops poll the flag between blocks, rows and segments
// (check_interrupt throws Interrupted, which parallel_for and guarded turn into
// kInterrupted) and the Python layer then raises KeyboardInterrupt with the previous
// handler restored. No Python API is touched from native code.
//
// The flag and the saved handler are per extension module (each module compiles this
// header); sksig/_interrupt.py installs the handler of the module it is about to call.
#pragma once

#include <atomic>
#include <csignal>

namespace sksig {

struct Interrupted {};  // thrown by check_interrupt, caught at the entry points

inline std::atomic<int>& interrupt_flag() noexcept {
  static std::atomic<int> flag{0};
  return flag;
}

// Whether SIGINT arrived since interrupt_begin (one relaxed load: cheap to poll).
inline bool interrupt_requested() noexcept {
  return interrupt_flag().load(std::memory_order_relaxed) != 0;
}

inline void check_interrupt() {
  if (interrupt_requested()) throw Interrupted{};
}

namespace detail {

extern "C" inline void sksig_on_sigint(int) { interrupt_flag().store(1, std::memory_order_relaxed); }

#if defined(_WIN32)
using SavedHandler = void (*)(int);
inline SavedHandler& saved_handler() noexcept {
  static SavedHandler saved = SIG_DFL;
  return saved;
}
#else
inline struct sigaction& saved_handler() noexcept {
  static struct sigaction saved;
  return saved;
}
#endif

}  // namespace detail

// Clears the flag and installs the flag-setting SIGINT handler, keeping the previous
// one. Returns 0 on success. Call from the main thread only.
inline int interrupt_begin() noexcept {
  interrupt_flag().store(0, std::memory_order_relaxed);
#if defined(_WIN32)
  const auto previous = std::signal(SIGINT, detail::sksig_on_sigint);
  if (previous == SIG_ERR) return -1;
  detail::saved_handler() = previous;
  return 0;
#else
  struct sigaction action {};
  action.sa_handler = detail::sksig_on_sigint;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_ONSTACK;
  return sigaction(SIGINT, &action, &detail::saved_handler());
#endif
}

// Restores the previous handler; returns 1 when SIGINT arrived in between (the flag is
// cleared), else 0.
inline int interrupt_end() noexcept {
#if defined(_WIN32)
  std::signal(SIGINT, detail::saved_handler());
#else
  sigaction(SIGINT, &detail::saved_handler(), nullptr);
#endif
  return interrupt_flag().exchange(0, std::memory_order_relaxed);
}

}  // namespace sksig
