// A CPU emulation of the part of CUDA that sksig's kernels use, so that the .cu sources
// compile as C++ (with SKSIG_CUDA_EMULATION defined) and run, for tests, where there is
// no GPU. It is a test instrument, not a fast path.
//
// Execution model. A launch runs its blocks one after the other; the threads of a block
// are fibers of the calling thread, so exactly one runs at a time, handing over at
// __syncthreads and at exit. The schedule orders the blocks of a launch and the threads
// of every barrier phase: ascending, descending or seeded random. A kernel whose result
// depends on that order has a race (between two threads of one phase, what racecheck
// flags, or between blocks of one launch), so tests compare schedules bitwise. Threads
// that return leave later barriers (as on Volta and newer); threads of one phase waiting
// at different __syncthreads (a barrier in divergent code) are a fault. Static
// __shared__ arrays are function statics: they keep the previous block's values instead
// of garbage, so prefer dynamic shared memory (SKSIG_DYNAMIC_SHARED), which is
// NaN-poisoned for every block.
//
// Memory. "Device" memory is host memory: pointers may be dereferenced on the host.
// Allocations are filled with 0xFF bytes (NaN for floats), so reading scratch before
// writing it shows in the results, and are fenced by canaries that are checked at free:
// an overrun becomes a sticky cudaErrorIllegalAddress, reported by take_fault().
// Launch configurations are checked like the hardware's (block size, grid size, dynamic
// shared memory above 48 KiB only after cudaFuncSetAttribute), emulating an H100.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static  // blocks run one at a time, so a static is per block
#define __align__(n) alignas(n)

struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};

inline thread_local dim3 threadIdx{0, 0, 0};
inline thread_local dim3 blockIdx{0, 0, 0};
inline thread_local dim3 blockDim;
inline thread_local dim3 gridDim;

enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorNoDevice = 100,
  cudaErrorInvalidDevice = 101,
  cudaErrorIllegalAddress = 700,
};
enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4,
};
enum cudaDeviceAttr {
  cudaDevAttrMaxThreadsPerBlock = 1,
  cudaDevAttrMaxSharedMemoryPerBlock = 8,
  cudaDevAttrMultiProcessorCount = 16,
  cudaDevAttrMaxSharedMemoryPerBlockOptin = 97,
};
enum cudaFuncAttribute { cudaFuncAttributeMaxDynamicSharedMemorySize = 8 };
struct CUstream_st;
using cudaStream_t = CUstream_st*;
struct cudaDeviceProp {
  char name[256];
  int multiProcessorCount;
  std::size_t sharedMemPerBlock;
  std::size_t totalGlobalMem;
};

namespace sksig {
namespace emulation {

constexpr int kSharedDefault = 48 * 1024;
constexpr int kSharedOptin = 227 * 1024;  // H100
constexpr int kMaxThreadsPerBlock = 1024;
constexpr std::size_t kCanary = 64;
constexpr unsigned char kCanaryByte = 0xA5;

enum class Order { kAscending = 0, kDescending = 1, kRandom = 2 };

struct State {
  std::mutex mutex;
  cudaError_t last_error = cudaSuccess;
  cudaError_t sticky = cudaSuccess;
  std::string fault;
  std::map<void*, std::size_t> allocations;  // user pointer -> size
  std::map<const void*, int> max_dynamic_shared;
  Order order = Order::kAscending;
  unsigned seed = 0;
};

inline State& state() {
  static State s;
  return s;
}

inline cudaError_t record(cudaError_t err) {
  State& s = state();
  if (err != cudaSuccess && s.last_error == cudaSuccess) s.last_error = err;
  return err;
}

inline cudaError_t sticky_or(cudaError_t err) {
  return state().sticky != cudaSuccess ? state().sticky : record(err);
}

inline void set_fault(const std::string& what) {
  State& s = state();
  if (s.sticky == cudaSuccess) {
    s.sticky = cudaErrorIllegalAddress;
    s.fault = what;
  }
}

// The fault seen so far ("" when none), and clears it.
inline std::string take_fault() {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  std::string f = s.fault;
  s.fault.clear();
  s.sticky = cudaSuccess;
  s.last_error = cudaSuccess;
  return f;
}

inline void set_schedule(int order, unsigned seed) {
  state().order = static_cast<Order>(order);
  state().seed = seed;
}

inline thread_local unsigned char* t_dynamic_shared = nullptr;
inline void* dynamic_shared() { return t_dynamic_shared; }

// Runs body() as every thread of every block of a launch (emulation.cpp): blocks one
// after the other, the threads of a block as fibers of the calling thread.
void run(dim3 grid, dim3 block, std::size_t shared, const void* kernel,
         const std::function<void()>& body);

// __syncthreads() at file:line: the running fiber waits for the next barrier phase. All
// the threads of a phase must wait at the same __syncthreads; a phase that gathers
// threads from different ones (a barrier in divergent code) is a fault.
void barrier(const char* file, int line);

// kernel<<<grid, block, shared, stream>>>(args...) as Launch(kernel, grid, ...)(args...).
template <class... P>
class Launch {
 public:
  Launch(void (*kernel)(P...), dim3 grid, dim3 block, std::size_t shared, cudaStream_t)
      : kernel_(kernel), grid_(grid), block_(block), shared_(shared) {}
  template <class... A>
  void operator()(A&&... args) const {
    const std::tuple<P...> params(static_cast<P>(args)...);
    auto kernel = kernel_;
    const std::function<void()> body = [&] { std::apply(kernel, params); };  // copies
    run(grid_, block_, shared_, reinterpret_cast<const void*>(kernel_), body);
  }

 private:
  void (*kernel_)(P...);
  dim3 grid_, block_;
  std::size_t shared_;
};

}  // namespace emulation
}  // namespace sksig

#define __syncthreads() ::sksig::emulation::barrier(__FILE__, __LINE__)
inline void __threadfence() {}

// One thread runs at a time, so atomics are plain read-modify-writes.
template <class T>
inline T atomicAdd(T* address, T value) {
  const T old = *address;
  *address = old + value;
  return old;
}

inline cudaError_t cudaGetLastError() {
  auto& s = sksig::emulation::state();
  const cudaError_t err = s.sticky != cudaSuccess ? s.sticky : s.last_error;
  s.last_error = cudaSuccess;
  return err;
}
inline cudaError_t cudaPeekAtLastError() {
  auto& s = sksig::emulation::state();
  return s.sticky != cudaSuccess ? s.sticky : s.last_error;
}
inline const char* cudaGetErrorString(cudaError_t err) {
  return err == cudaSuccess ? "no error" : "emulated CUDA error";
}
inline cudaError_t cudaGetDeviceCount(int* count) {
  *count = 1;
  return cudaSuccess;
}
inline cudaError_t cudaGetDevice(int* device) {
  *device = 0;
  return cudaSuccess;
}
inline cudaError_t cudaSetDevice(int device) {
  return sksig::emulation::record(device == 0 ? cudaSuccess : cudaErrorInvalidDevice);
}
inline cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
  if (device != 0) return sksig::emulation::record(cudaErrorInvalidDevice);
  std::memset(prop, 0, sizeof(*prop));
  std::snprintf(prop->name, sizeof(prop->name), "sksig CPU emulation of CUDA");
  prop->multiProcessorCount = 132;
  prop->sharedMemPerBlock = sksig::emulation::kSharedDefault;
  prop->totalGlobalMem = std::size_t(80) << 30;
  return cudaSuccess;
}
inline cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device) {
  if (device != 0) return sksig::emulation::record(cudaErrorInvalidDevice);
  switch (attr) {
    case cudaDevAttrMaxThreadsPerBlock:
      *value = sksig::emulation::kMaxThreadsPerBlock;
      return cudaSuccess;
    case cudaDevAttrMaxSharedMemoryPerBlock:
      *value = sksig::emulation::kSharedDefault;
      return cudaSuccess;
    case cudaDevAttrMultiProcessorCount:
      *value = 132;
      return cudaSuccess;
    case cudaDevAttrMaxSharedMemoryPerBlockOptin:
      *value = sksig::emulation::kSharedOptin;
      return cudaSuccess;
  }
  return sksig::emulation::record(cudaErrorInvalidValue);
}
template <class... P>
inline cudaError_t cudaFuncSetAttribute(void (*kernel)(P...), cudaFuncAttribute attr,
                                        int value) {
  if (attr != cudaFuncAttributeMaxDynamicSharedMemorySize || value < 0 ||
      value > sksig::emulation::kSharedOptin)
    return sksig::emulation::record(cudaErrorInvalidValue);
  sksig::emulation::state().max_dynamic_shared[reinterpret_cast<const void*>(kernel)] = value;
  return cudaSuccess;
}

inline cudaError_t cudaMalloc(void** ptr, std::size_t bytes) {
  using namespace sksig::emulation;
  *ptr = nullptr;
  if (state().sticky != cudaSuccess) return state().sticky;
  auto* raw = static_cast<unsigned char*>(std::malloc(bytes + 2 * kCanary));
  if (!raw) return record(cudaErrorMemoryAllocation);
  std::memset(raw, kCanaryByte, kCanary);
  std::memset(raw + kCanary, 0xFF, bytes);  // NaN for float and double
  std::memset(raw + kCanary + bytes, kCanaryByte, kCanary);
  *ptr = raw + kCanary;
  std::lock_guard<std::mutex> lock(state().mutex);
  state().allocations[*ptr] = bytes;
  return cudaSuccess;
}
inline cudaError_t cudaFree(void* ptr) {
  using namespace sksig::emulation;
  if (!ptr) return cudaSuccess;
  std::size_t bytes;
  {
    std::lock_guard<std::mutex> lock(state().mutex);
    auto it = state().allocations.find(ptr);
    if (it == state().allocations.end()) {
      set_fault("cudaFree of a pointer that cudaMalloc did not return");
      return cudaErrorInvalidValue;
    }
    bytes = it->second;
    state().allocations.erase(it);
  }
  auto* raw = static_cast<unsigned char*>(ptr) - kCanary;
  for (std::size_t i = 0; i < kCanary; ++i) {
    if (raw[i] != kCanaryByte || raw[kCanary + bytes + i] != kCanaryByte) {
      set_fault("a kernel wrote outside a " + std::to_string(bytes) + "-byte allocation");
      break;
    }
  }
  std::free(raw);
  return sticky_or(cudaSuccess);
}
template <class T>
inline cudaError_t cudaMalloc(T** ptr, std::size_t bytes) {
  return cudaMalloc(reinterpret_cast<void**>(ptr), bytes);
}
template <class T>
inline cudaError_t cudaMallocAsync(T** ptr, std::size_t bytes, cudaStream_t) {
  return cudaMalloc(reinterpret_cast<void**>(ptr), bytes);
}
inline cudaError_t cudaFreeAsync(void* ptr, cudaStream_t) { return cudaFree(ptr); }
inline cudaError_t cudaMemsetAsync(void* ptr, int value, std::size_t bytes,
                                   cudaStream_t = nullptr) {
  if (bytes) std::memset(ptr, value, bytes);
  return sksig::emulation::sticky_or(cudaSuccess);
}
inline cudaError_t cudaMemset(void* ptr, int value, std::size_t bytes) {
  return cudaMemsetAsync(ptr, value, bytes);
}
inline cudaError_t cudaMemcpyAsync(void* dst, const void* src, std::size_t bytes,
                                   cudaMemcpyKind, cudaStream_t = nullptr) {
  if (bytes) std::memmove(dst, src, bytes);
  return sksig::emulation::sticky_or(cudaSuccess);
}
inline cudaError_t cudaMemcpy(void* dst, const void* src, std::size_t bytes,
                              cudaMemcpyKind kind) {
  return cudaMemcpyAsync(dst, src, bytes, kind);
}
inline cudaError_t cudaStreamSynchronize(cudaStream_t) {
  return sksig::emulation::sticky_or(cudaSuccess);
}
inline cudaError_t cudaDeviceSynchronize() { return sksig::emulation::sticky_or(cudaSuccess); }
