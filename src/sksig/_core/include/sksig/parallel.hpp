// CPU parallelism. Work is split into independent items (pairs, paths, blocks) with no
// cross-thread reductions, so results are bitwise identical for every thread count.
//
// Two ways to run items on several threads:
// - parallel_for: an OpenMP team with an explicit num_threads(n). Bodies may index
//   per-thread scratch by omp_get_thread_num(). The call returns only when every team
//   thread has reached the closing barrier: on a busy machine, a thread the kernel has
//   not scheduled yet holds the caller up for a whole time slice even when the others
//   did all the work (measured: 1,024 branched logs, 1.4 ms on one thread, 24 ms on two
//   beside a loaded machine).
// - parallel_items: a small pool of helper threads that *join* a call: the caller starts
//   on the items at once, each helper that wakes up while items remain claims them one
//   at a time, and the caller waits only for helpers that did join. A helper that
//   wakes late finds nothing left and goes back to sleep, so a second thread never
//   costs more than the items it took on (plus one wake-up call). Helpers sleep on a
//   condition variable (no spinning that steals a busy machine's cores). Bodies must
//   not use omp_get_thread_num() (thread_local scratch is fine).
//   On a machine busy with other processes that is not enough: a helper that joined
//   can be descheduled halfway through an item (the caller then waits for it until
//   the kernel runs it again, a time slice or more), and waking a helper can push
//   the caller itself off its core (measured, 1,024 branched logs at load 5 on 2
//   cores: 1.05 ms on one thread, 3.3 ms on two). So the caller compares the call's
//   wall time with its own CPU time: when it was off a core for most of the call
//   (waiting for a helper's last item or descheduled), or waited for helpers much
//   longer than its own time per item, calls run on the calling thread alone for a
//   back-off period (20 ms, doubled after each such call up to 1 s, back to 20 ms
//   after a call whose helpers kept up). A quiet machine never trips it; a busy one
//   pays one slow call per period instead of every call.
//   Where a woken helper runs is the kernel's choice, and Linux often queues it on the
//   waker's own core (measured on the 2-core VM, calls of two 1.6 ms items after a
//   5 ms pause: in about half the calls the helper either waited behind the caller
//   until its item was done, or preempted it and took item 0; the call took as long
//   as on one thread). So before waking them the caller confines the helpers to the
//   cores it may use other than the one it is running on (Linux, where that leaves a
//   core; re-done only when the caller's core changes), and the kernel starts them on
//   another core at once. SKSIG_STEER_HELPERS=0 in the environment turns this off.
// Both run serially when OpenMP is off (SKSIG_OPENMP=OFF builds stay single-threaded).
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <new>
#include <thread>
#include <vector>

#if defined(_WIN32)
#include <process.h>
#else
#include <fcntl.h>
#include <time.h>
#include <unistd.h>
#endif
#if defined(__linux__)
#include <pthread.h>
#include <sched.h>
#endif

#include "status.hpp"

namespace sksig {

namespace detail {

// One item's status: body(i), its exceptions turned into codes; skipped (kOk) once
// `status` holds a failure, an interrupt (interrupt.hpp) reported before the item.
template <class Body>
void run_item(std::atomic<int>& status, Body& body, std::int64_t i) noexcept {
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
}

// body(0), ..., body(n - 1) on the calling thread, with run_item's statuses.
template <class Body>
int run_serial(std::int64_t n, Body& body) noexcept {
  std::atomic<int> status{kOk};
  for (std::int64_t i = 0; i < n; ++i) run_item(status, body, i);
  return status.load();
}

}  // namespace detail

// Calls body(i) for i in [0, n). body returns a Status; the first failure is kept and
// the remaining items are skipped. Exceptions never leave the parallel region. An
// interrupt (interrupt.hpp) is noticed before every item and skips the rest.
template <class Body>
int parallel_for(std::int64_t n, int n_threads, Body&& body) noexcept {
#if defined(_OPENMP)
  if (n_threads > 1 && n > 1) {
    std::atomic<int> status{kOk};
#pragma omp parallel for schedule(dynamic) num_threads(n_threads)
    for (std::int64_t i = 0; i < n; ++i) detail::run_item(status, body, i);
    return status.load();
  }
#endif
  (void)n_threads;
  return detail::run_serial(n, body);
}

namespace detail {

// A parallel_items call as the pool sees it: items handed out by `next`.
struct PoolJob {
  std::int64_t n = 0;
  std::atomic<std::int64_t> next{0};
  void (*item)(void*, std::int64_t) = nullptr;
  void* ctx = nullptr;
  int slots = 0;   // helpers that may still join (guarded by the pool's mutex)
  int inside = 0;  // helpers that joined and have not left (same)

  // Runs items while any remain; returns how many this thread ran.
  std::int64_t work() noexcept {
    std::int64_t done = 0;
    for (std::int64_t i; (i = next.fetch_add(1, std::memory_order_relaxed)) < n; ++done)
      item(ctx, i);
    return done;
  }
};

// Microseconds on a monotonic clock.
inline std::int64_t now_us() noexcept {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// CPU time of the calling thread in microseconds, -1 where unavailable.
inline std::int64_t thread_cpu_us() noexcept {
#if defined(__linux__)
  timespec ts;
  if (::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0)
    return static_cast<std::int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
#endif
  return -1;
}

inline long process_id() noexcept {
#if defined(_WIN32)
  return static_cast<long>(_getpid());
#else
  return static_cast<long>(getpid());
#endif
}

// Cores nobody else wants right now: online cores minus the tasks that are running or
// waiting to run (the calling thread among them), as /proc/loadavg counts them (Linux;
// elsewhere "many"). Only consulted with SKSIG_LOAD_CHECK=1 in the environment. It is
// off by default because the count is taken at one instant and includes threads that
// merely spin after an OpenMP region (ours or another library's), so on a quiet
// machine it kept helpers asleep and two threads did no better than one (2-core VM,
// load 1.5: planar branched_sig 0.19 s at both thread counts, 0.10 s at 2 threads
// without the check). The join design alone already keeps a busy machine from costing
// more than a wake-up (beside a spinning process: 1,024 branched logs 1.03 ms at 1
// thread, 1.02 ms at 2 threads without the check). Read at most every 2 ms.
inline int idle_cores() noexcept {
#if defined(__linux__)
  static const bool off = [] {
    const char* v = std::getenv("SKSIG_LOAD_CHECK");
    return !(v != nullptr && v[0] == '1' && v[1] == 0);
  }();
  if (off) return 1 << 20;
  static std::atomic<std::int64_t> stamp{-1};
  static std::atomic<int> cached{0};
  const std::int64_t now = now_us();
  const std::int64_t last = stamp.load(std::memory_order_relaxed);
  if (last >= 0 && now - last < 2000) return cached.load(std::memory_order_relaxed);
  int idle = 1 << 20;
  const int fd = ::open("/proc/loadavg", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    char buf[128];
    const ssize_t got = ::read(fd, buf, sizeof(buf) - 1);
    ::close(fd);
    // "0.50 0.40 0.30 R/T last_pid": R is the fourth field.
    if (got > 0) {
      buf[got] = 0;
      const char* c = buf;
      for (int field = 0; field < 3 && *c; ++c)
        if (*c == ' ') ++field;
      long running = 0;
      for (; *c >= '0' && *c <= '9'; ++c) running = running * 10 + (*c - '0');
      const long online = ::sysconf(_SC_NPROCESSORS_ONLN);
      if (running > 0 && online > 0) idle = static_cast<int>(std::max(0L, online - running));
    }
  }
  cached.store(idle, std::memory_order_relaxed);
  stamp.store(now, std::memory_order_relaxed);
  return idle;
#else
  return 1 << 20;
#endif
}

class Pool {
 public:
  // The process's pool. A child process made by fork() has none of its parent's
  // threads (and perhaps a mutex locked by one of them): it starts a pool of its own
  // and leaves the inherited one alone.
  // Null when out of memory.
  static Pool* instance() noexcept {
    static std::atomic<Pool*> current{nullptr};
    Pool* p = current.load(std::memory_order_acquire);
    if (p != nullptr && p->pid_ == process_id()) return p;
    Pool* fresh = new (std::nothrow) Pool;  // never deleted: helpers outlive statics
    if (fresh == nullptr) return nullptr;
    if (current.compare_exchange_strong(p, fresh, std::memory_order_acq_rel)) return fresh;
    delete fresh;  // another thread installed one first
    return p;
  }

  // Whether helpers may join calls now (false during a back-off, see the top of the
  // file).
  bool helpers_welcome() const noexcept {
    return now_us() >= serial_until_.load(std::memory_order_relaxed);
  }

  // Runs job with up to `helpers` helper threads joining the calling thread. A call
  // made while the pool serves another (a concurrent caller, or a body calling
  // parallel_items) runs on the calling thread alone.
  void run(PoolJob& job, int helpers) noexcept {
    bool published = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (job_ == nullptr && helpers_welcome()) {
        while (started_ < helpers) {
          try {
            helpers_.reserve(helpers_.size() + 1);
            std::thread helper(&Pool::serve, this);
            helpers_.push_back(helper.native_handle());
            helper.detach();
          } catch (...) {
            break;  // out of threads: fewer helpers
          }
          ++started_;
          steered_from_ = -1;  // the new helper may use every core
        }
        job.slots = std::min(helpers, started_);
        if (job.slots > 0) {
          steer_helpers();
          job_ = &job;
          ++generation_;
          published = true;
        }
      }
    }
    if (!published) {
      job.work();
      return;
    }
    // Timed from before the wake-up: the woken helper may take this thread's core
    // during notify_all itself (measured: calls where the helper did every item).
    const std::int64_t start = now_us(), cpu0 = thread_cpu_us();
    wake_.notify_all();
    const std::int64_t mine = job.work();
    const std::int64_t worked = now_us();
    std::unique_lock<std::mutex> lock(mutex_);
    job_ = nullptr;  // no helper joins from now on
    left_.wait(lock, [&] { return job.inside == 0; });
    lock.unlock();
    // Time off a core, and the wait for the helpers' last items against this
    // thread's time per item (see the top of the file).
    const std::int64_t end = now_us(), cpu1 = thread_cpu_us();
    const std::int64_t off_core = cpu0 >= 0 && cpu1 >= 0 ? (end - start) - (cpu1 - cpu0) : 0;
    const std::int64_t waited = end - worked;
    const std::int64_t per_item = (worked - start) / (mine > 0 ? mine : 1);
    if ((off_core > (end - start) / 2 && off_core > 300) || waited > 4 * per_item + 500) {
      const std::int64_t pause = backoff_us_.load(std::memory_order_relaxed);
      serial_until_.store(now_us() + pause, std::memory_order_relaxed);
      backoff_us_.store(std::min<std::int64_t>(2 * pause, kMaxBackoff),
                        std::memory_order_relaxed);
    } else if (mine < job.n) {  // helpers did items and kept up
      backoff_us_.store(kMinBackoff, std::memory_order_relaxed);
    }
  }

 private:
  Pool() : pid_(process_id()) {}

  // Confines the helpers to the cores the calling thread may use, less the one it runs
  // on (see the top of the file). Called with mutex_ held.
  void steer_helpers() noexcept {
#if defined(__linux__)
    static const bool off = [] {  // SKSIG_STEER_HELPERS=0: leave placement to the kernel
      const char* v = std::getenv("SKSIG_STEER_HELPERS");
      return v != nullptr && v[0] == '0' && v[1] == 0;
    }();
    if (off) return;
    const int cpu = ::sched_getcpu();
    if (cpu < 0 || cpu == steered_from_) return;
    cpu_set_t cores;
    if (::sched_getaffinity(0, sizeof(cores), &cores) != 0 || !CPU_ISSET(cpu, &cores)) return;
    CPU_CLR(cpu, &cores);
    if (CPU_COUNT(&cores) == 0) return;  // one core: leave the helpers where they are
    for (const auto helper : helpers_) ::pthread_setaffinity_np(helper, sizeof(cores), &cores);
    steered_from_ = cpu;
#endif
  }

  void serve() noexcept {
#if defined(__linux__)
    ::pthread_setname_np(::pthread_self(), "sksig-helper");  // for ps, top and tests
#endif
    std::uint64_t seen = 0;
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      wake_.wait(lock, [&] {
        return job_ != nullptr && generation_ != seen && job_->slots > 0;
      });
      seen = generation_;
      PoolJob& job = *job_;
      --job.slots;
      ++job.inside;
      lock.unlock();
      job.work();
      lock.lock();
      if (--job.inside == 0) left_.notify_all();
    }
  }

  static constexpr std::int64_t kMinBackoff = 20000, kMaxBackoff = 1000000;  // us

  const long pid_;
  std::atomic<std::int64_t> serial_until_{0};          // no helpers before (now_us)
  std::atomic<std::int64_t> backoff_us_{kMinBackoff};  // the next back-off period
  std::mutex mutex_;
  std::condition_variable wake_, left_;
  PoolJob* job_ = nullptr;
  std::uint64_t generation_ = 0;
  int started_ = 0;
  std::vector<std::thread::native_handle_type> helpers_;  // started_ of them
  int steered_from_ = -1;  // the core the helpers were last kept off, -1: none
};

}  // namespace detail

// Calls body(i) for i in [0, n) as parallel_for does (statuses, exceptions, interrupts
// alike) on the calling thread plus up to n_threads - 1 pool helpers that join while
// items remain (see the top of this file). Items are claimed one at a time: make an
// item large enough (a block of paths, a chunk) that one atomic increment per item is
// negligible, and let each item write its own outputs only.
template <class Body>
int parallel_items(std::int64_t n, int n_threads, Body&& body) noexcept {
#if defined(_OPENMP)
  const std::int64_t helpers = std::min<std::int64_t>(
      std::min<std::int64_t>(n_threads, n) - 1, n_threads > 1 && n > 1 ? detail::idle_cores() : 0);
#else
  const std::int64_t helpers = 0;
#endif
  detail::Pool* const pool = helpers > 0 ? detail::Pool::instance() : nullptr;
  if (pool == nullptr) return detail::run_serial(n, body);
  std::atomic<int> status{kOk};
  struct Ctx {
    std::atomic<int>* status;
    Body* body;
  } ctx{&status, &body};
  detail::PoolJob job;
  job.n = n;
  job.ctx = &ctx;
  job.item = [](void* c, std::int64_t i) {
    auto* x = static_cast<Ctx*>(c);
    detail::run_item(*x->status, *x->body, i);
  };
  pool->run(job, static_cast<int>(helpers));
  return status.load();
}

}  // namespace sksig
