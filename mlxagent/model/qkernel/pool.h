// A small pool of threads shared by mlxagent's native kernels (qmm.cpp, dequant.cpp).
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#endif

namespace mlxagent {

// ---------------------------------------------------------------- a small pool of threads

// One job at a time: run(chunks, fn) calls fn(c) for every chunk c, on the caller and on whichever
// workers join in time. The caller claims chunks itself and never waits for a worker that has not
// started (on a busy 2-core machine a worker may be off the CPU for a whole time slice); it waits
// only for the chunks a started worker is computing. Workers spin a few microseconds between jobs
// (a decode step calls the kernel ~200 times a token) and then sleep, so an idle agent costs no CPU.
class Pool {
 public:
  explicit Pool(int n) : n_(std::max(1, n)) {
    for (int i = 1; i < n_; ++i) {
      workers_.emplace_back([this] { work(); });
    }
  }
  int size() const {
    return n_;
  }
  void run(int chunks, const std::function<void(int)>& fn) {
    if (n_ <= 1 || chunks <= 1) {
      for (int c = 0; c < chunks; ++c) {
        fn(c);
      }
      return;
    }
    std::lock_guard<std::mutex> one_job(job_mutex_);
    job_.store(&fn);
    chunks_.store(chunks);
    next_.store(0);
    finished_.store(0);
    entered_.store(0);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      generation_.fetch_add(1);
    }
    if (sleeping_.load() > 0) {
      cv_.notify_all();
    }
    drain();
    const int entered = entered_.fetch_add(kClosed);  // workers arriving from now on stay out
    while (finished_.load() < entered) {
      pause();
    }
  }

 private:
  static constexpr int kClosed = 1 << 20;

  static void pause() {
#if defined(__x86_64__) || defined(_M_X64)
    _mm_pause();
#else
    std::this_thread::yield();
#endif
  }
  void drain() {
    const auto* fn = job_.load();
    const int chunks = chunks_.load();
    for (int c = next_.fetch_add(1); c < chunks; c = next_.fetch_add(1)) {
      (*fn)(c);
    }
  }
  void work() {
    uint64_t seen = 0;
    for (;;) {
      auto start = std::chrono::steady_clock::now();
      int spins = 0;
      while (generation_.load() == seen) {
        pause();
        if (++spins % 64 == 0 &&
            std::chrono::steady_clock::now() - start > std::chrono::microseconds(50)) {
          std::unique_lock<std::mutex> lock(mutex_);
          sleeping_.fetch_add(1);
          cv_.wait(lock, [&] { return generation_.load() != seen; });
          sleeping_.fetch_sub(1);
        }
      }
      seen = generation_.load();
      if (entered_.fetch_add(1) < kClosed) {
        drain();
        finished_.fetch_add(1);
      }
    }
  }

  int n_;
  std::vector<std::thread> workers_;
  std::mutex mutex_, job_mutex_;
  std::condition_variable cv_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<const std::function<void(int)>*> job_{nullptr};
  std::atomic<int> chunks_{0}, next_{0}, entered_{0}, finished_{0}, sleeping_{0};
};

inline int default_threads() {
  if (const char* env = std::getenv("MLXAGENT_KERNEL_THREADS")) {
    int n = std::atoi(env);
    if (n > 0) {
      return std::min(n, 64);
    }
  }
  unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(std::min(hw, 16u));
}

inline Pool& pool() {
  // Never destroyed: the workers (detached at exit with the process) outlive static teardown.
  static Pool* p = new Pool(default_threads());
  return *p;
}

}  // namespace mlxagent
