// Fibers and barrier phases of the CUDA emulation (see emulation.hpp).
//
// The threads of a block are fibers of the launching thread; the scheduler resumes them
// one by one in the order of the current phase, and a fiber hands back at __syncthreads
// (it joins the next phase) or when the kernel returns. On x86-64 a fiber switch is a
// few instructions (callee-saved registers and the stack pointer); elsewhere it is
// ucontext's swapcontext, which also saves the signal mask (a system call) and is slower.
#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <random>
#include <vector>

#include "emulation.hpp"

// AddressSanitizer builds (CXXFLAGS=-fsanitize=address) are told about fiber switches.
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#define SKSIG_ASAN_START(save, bottom, size) __sanitizer_start_switch_fiber(save, bottom, size)
#define SKSIG_ASAN_FINISH(save, bottom, size) __sanitizer_finish_switch_fiber(save, bottom, size)
#else
#define SKSIG_ASAN_START(save, bottom, size) ((void)(save), (void)(bottom), (void)(size))
#define SKSIG_ASAN_FINISH(save, bottom, size) ((void)(save), (void)(bottom), (void)(size))
#endif

#if defined(__x86_64__) && defined(__GNUC__)
#define SKSIG_FAST_FIBERS 1
// void sksig_fiber_switch(void** save_sp, void* load_sp): saves the callee-saved
// registers on the current stack and its pointer in *save_sp, then resumes load_sp.
extern "C" void sksig_fiber_switch(void** save_sp, void* load_sp);
__asm__(
    ".text\n"
    ".p2align 4\n"
    ".type sksig_fiber_switch,@function\n"
    "sksig_fiber_switch:\n"
    "  pushq %rbp\n"
    "  pushq %rbx\n"
    "  pushq %r12\n"
    "  pushq %r13\n"
    "  pushq %r14\n"
    "  pushq %r15\n"
    "  movq %rsp, (%rdi)\n"
    "  movq %rsi, %rsp\n"
    "  popq %r15\n"
    "  popq %r14\n"
    "  popq %r13\n"
    "  popq %r12\n"
    "  popq %rbx\n"
    "  popq %rbp\n"
    "  ret\n"
    ".size sksig_fiber_switch,.-sksig_fiber_switch\n");
#else
#include <ucontext.h>
#endif

namespace sksig {
namespace emulation {
namespace {

constexpr std::size_t kFiberStack = 256 * 1024;

struct Fiber {
  std::unique_ptr<char[]> stack;
#if SKSIG_FAST_FIBERS
  void* sp = nullptr;
#else
  ucontext_t context;
#endif
  unsigned index = 0;
  const char* barrier_file = nullptr;  // where the fiber waits
  int barrier_line = 0;
};

struct Block {
#if SKSIG_FAST_FIBERS
  void* scheduler_sp = nullptr;
#else
  ucontext_t scheduler;
#endif
  std::vector<Fiber> fibers;
  Fiber* running = nullptr;
  std::vector<unsigned> arrived;  // threads waiting at the barrier of this phase
  const std::function<void()>* body = nullptr;
  const void* scheduler_stack = nullptr;  // for AddressSanitizer
  std::size_t scheduler_stack_size = 0;
};

thread_local Block* t_block = nullptr;

void to_scheduler(Fiber& f) {
  Block& b = *t_block;
  void* fake_stack = nullptr;
  SKSIG_ASAN_START(&fake_stack, b.scheduler_stack, b.scheduler_stack_size);
#if SKSIG_FAST_FIBERS
  sksig_fiber_switch(&f.sp, b.scheduler_sp);
#else
  swapcontext(&f.context, &b.scheduler);
#endif
  SKSIG_ASAN_FINISH(fake_stack, &b.scheduler_stack, &b.scheduler_stack_size);
}

void resume(Block& b, Fiber& f) {
  b.running = &f;
  void* fake_stack = nullptr;
  SKSIG_ASAN_START(&fake_stack, f.stack.get(), kFiberStack);
#if SKSIG_FAST_FIBERS
  sksig_fiber_switch(&b.scheduler_sp, f.sp);
#else
  swapcontext(&b.scheduler, &f.context);
#endif
  SKSIG_ASAN_FINISH(fake_stack, nullptr, nullptr);
}

void fiber_main() {
  Block& b = *t_block;
  SKSIG_ASAN_FINISH(nullptr, &b.scheduler_stack, &b.scheduler_stack_size);
  (*b.body)();
  SKSIG_ASAN_START(nullptr, b.scheduler_stack, b.scheduler_stack_size);  // this fiber ends
#if SKSIG_FAST_FIBERS
  void* finished;  // never resumed
  sksig_fiber_switch(&finished, b.scheduler_sp);
#endif
  // ucontext: returning resumes uc_link, the scheduler.
}

// A fresh start of the kernel on fiber f.
void start(Block& b, Fiber& f) {
#if SKSIG_FAST_FIBERS
  // Frame popped by sksig_fiber_switch: r15 r14 r13 r12 rbx rbp, then the return address
  // fiber_main, above which a dummy return slot keeps rsp = 8 (mod 16) at its entry.
  auto top = reinterpret_cast<std::uintptr_t>(f.stack.get() + kFiberStack) & ~std::uintptr_t(15);
  auto* frame = reinterpret_cast<void**>(top) - 8;
  std::fill(frame, frame + 8, nullptr);
  frame[6] = reinterpret_cast<void*>(&fiber_main);
  f.sp = frame;
  (void)b;
#else
  getcontext(&f.context);
  f.context.uc_stack.ss_sp = f.stack.get();
  f.context.uc_stack.ss_size = kFiberStack;
  f.context.uc_link = &b.scheduler;
  makecontext(&f.context, fiber_main, 0);
#endif
}

cudaError_t check_configuration(dim3 grid, dim3 block, std::size_t shared, const void* kernel) {
  const long long threads = 1LL * block.x * block.y * block.z;
  if (threads < 1 || threads > kMaxThreadsPerBlock || block.z > 64)
    return cudaErrorInvalidConfiguration;
  if (grid.x < 1 || grid.y < 1 || grid.z < 1 || grid.y > 65535 || grid.z > 65535)
    return cudaErrorInvalidConfiguration;
  int limit = kSharedDefault;
  auto it = state().max_dynamic_shared.find(kernel);
  if (it != state().max_dynamic_shared.end()) limit = std::max(limit, it->second);
  if (shared > static_cast<std::size_t>(limit)) return cudaErrorInvalidValue;
  return cudaSuccess;
}

void arrange(std::vector<unsigned>& order, std::mt19937& rng) {
  switch (state().order) {
    case Order::kAscending:
      std::sort(order.begin(), order.end());
      break;
    case Order::kDescending:
      std::sort(order.rbegin(), order.rend());
      break;
    case Order::kRandom:
      std::shuffle(order.begin(), order.end(), rng);
      break;
  }
}

// Every thread of the next phase waits at the same __syncthreads.
void check_same_barrier(const Block& b) {
  if (b.arrived.empty()) return;
  const Fiber& first = b.fibers[b.arrived[0]];
  for (unsigned t : b.arrived) {
    const Fiber& f = b.fibers[t];
    if (f.barrier_line != first.barrier_line ||
        std::strcmp(f.barrier_file, first.barrier_file) != 0) {
      set_fault(std::string("threads of one block wait at different __syncthreads (") +
                first.barrier_file + ":" + std::to_string(first.barrier_line) + " and " +
                f.barrier_file + ":" + std::to_string(f.barrier_line) + ")");
      return;
    }
  }
}

}  // namespace

void barrier(const char* file, int line) {
  Block& b = *t_block;
  Fiber& self = *b.running;
  self.barrier_file = file;
  self.barrier_line = line;
  b.arrived.push_back(self.index);
  to_scheduler(self);
}

void run(dim3 grid, dim3 block, std::size_t shared, const void* kernel,
         const std::function<void()>& body) {
  if (state().sticky != cudaSuccess) return;
  const cudaError_t err = check_configuration(grid, block, shared, kernel);
  if (err != cudaSuccess) {
    record(err);
    return;
  }
  const unsigned n = block.x * block.y * block.z;
  const long long n_blocks = 1LL * grid.x * grid.y * grid.z;
  std::vector<unsigned char> shared_memory(shared + 16, 0xFF);
  t_dynamic_shared = shared_memory.data() +
                     (16 - reinterpret_cast<std::uintptr_t>(shared_memory.data()) % 16) % 16;
  Block b;
  b.body = &body;
  b.fibers.resize(n);
  for (unsigned t = 0; t < n; ++t) {
    b.fibers[t].stack.reset(new char[kFiberStack]);
    b.fibers[t].index = t;
  }
  Block* outer = t_block;
  t_block = &b;
  std::mt19937 rng(state().seed);
  blockDim = block;
  gridDim = grid;
  // Blocks run in the schedule's order too, so that a dependence between the blocks of
  // one launch (a race on a GPU) shows as a difference between schedules.
  std::vector<long long> blocks(static_cast<std::size_t>(n_blocks));
  for (long long id = 0; id < n_blocks; ++id) blocks[static_cast<std::size_t>(id)] = id;
  if (state().order == Order::kDescending) std::reverse(blocks.begin(), blocks.end());
  if (state().order == Order::kRandom) std::shuffle(blocks.begin(), blocks.end(), rng);
  std::vector<unsigned> order;
  for (long long id : blocks) {
    blockIdx = dim3(static_cast<unsigned>(id % grid.x),
                    static_cast<unsigned>((id / grid.x) % grid.y),
                    static_cast<unsigned>(id / (1LL * grid.x * grid.y)));
    std::fill(shared_memory.begin(), shared_memory.end(), 0xFF);  // fresh garbage per block
    for (Fiber& f : b.fibers) start(b, f);
    order.resize(n);
    for (unsigned t = 0; t < n; ++t) order[t] = t;
    while (!order.empty()) {  // one barrier phase per round
      arrange(order, rng);
      b.arrived.clear();
      for (unsigned t : order) {
        threadIdx = dim3(t % block.x, (t / block.x) % block.y, t / (block.x * block.y));
        resume(b, b.fibers[t]);
      }
      check_same_barrier(b);
      order.swap(b.arrived);
    }
  }
  threadIdx = blockIdx = dim3(0, 0, 0);
  t_block = outer;
}

}  // namespace emulation
}  // namespace sksig
