#include "thread_pool.h"

#include <chrono>

#if defined(__x86_64__)
#include <immintrin.h>
#define RNN_PAUSE() _mm_pause()
#else
#define RNN_PAUSE() std::this_thread::yield()
#endif

namespace rnn {

ThreadPool& ThreadPool::instance() {
  // Never destroyed: at process exit a kernel may still be running on a libuv thread (an async
  // call), and a static destructor joining the helpers under it could hang or crash the exit.
  static ThreadPool* pool = new ThreadPool;
  return *pool;
}

ThreadPool::ThreadPool() {
  const unsigned hw = std::thread::hardware_concurrency();
  start(hw == 0 ? 1 : static_cast<int>(hw > 64 ? 64 : hw));
}

ThreadPool::~ThreadPool() { stop(); }

void ThreadPool::set_threads(int n) {
  if (n < 1) n = 1;
  if (n == n_) return;
  stop();
  start(n);
}

void ThreadPool::start(int n) {
  n_ = n;
  quit_ = false;
  // Each helper starts from the generation current now: one read later, in the thread,
  // could already see the first run()'s bump and then wait for the next one forever.
  const unsigned now = generation_.load(std::memory_order_acquire);
  for (int tid = 1; tid < n; ++tid) helpers_.emplace_back([this, tid, now] { helper_loop(tid, now); });
}

void ThreadPool::stop() {
  {
    std::lock_guard<std::mutex> lock(sleep_mutex_);
    quit_ = true;
  }
  wake_.notify_all();
  for (auto& t : helpers_) t.join();
  helpers_.clear();
  n_ = 1;
}

void ThreadPool::helper_loop(int tid, unsigned seen) {
  for (;;) {
    // Spin for a while (the next run usually follows within microseconds), then sleep.
    const auto spin_until = std::chrono::steady_clock::now() + std::chrono::microseconds(200);
    while (generation_.load(std::memory_order_acquire) == seen && !quit_.load(std::memory_order_acquire) &&
           std::chrono::steady_clock::now() < spin_until)
      for (int i = 0; i < 64; ++i) RNN_PAUSE();
    if (generation_.load(std::memory_order_acquire) == seen) {
      std::unique_lock<std::mutex> lock(sleep_mutex_);
      wake_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen || quit_.load(); });
    }
    if (quit_.load(std::memory_order_acquire)) return;
    seen = generation_.load(std::memory_order_acquire);
    if (tid < active_) (*job_)(tid, active_);
    pending_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

void ThreadPool::run(const std::function<void(int, int)>& fn, int active) {
  if (active <= 0 || active > n_) active = n_;
  if (active == 1) {
    active_ = 1;
    fn(0, 1);
    return;
  }
  active_ = active;
  job_ = &fn;
  pending_.store(n_ - 1, std::memory_order_release);
  {
    std::lock_guard<std::mutex> lock(sleep_mutex_);  // pairs with the sleepers' predicate check
    generation_.fetch_add(1, std::memory_order_acq_rel);
  }
  wake_.notify_all();
  fn(0, active_);
  for (unsigned spins = 0; pending_.load(std::memory_order_acquire) != 0; ++spins) {
    if (spins < 4096) RNN_PAUSE();
    else std::this_thread::yield();
  }
  job_ = nullptr;
}

void ThreadPool::barrier() {
  if (active_ == 1) return;
  const unsigned sense = barrier_sense_.load(std::memory_order_acquire);
  if (arrived_.fetch_add(1, std::memory_order_acq_rel) == active_ - 1) {
    arrived_.store(0, std::memory_order_relaxed);
    barrier_sense_.store(sense + 1, std::memory_order_release);
  } else {
    // Spin (a step's work is tens of microseconds), but yield once the wait grows long:
    // on a loaded machine the thread we wait for may be descheduled, and spinning would
    // only keep it off the core.
    for (unsigned spins = 0; barrier_sense_.load(std::memory_order_acquire) == sense; ++spins) {
      if (spins < 4096) RNN_PAUSE();
      else std::this_thread::yield();
    }
  }
}

void parallel_ranges(int total, int align, int min_parallel, const std::function<void(int, int)>& fn) {
  ThreadPool& pool = ThreadPool::instance();
  if (total < min_parallel || pool.threads() == 1) {
    fn(0, total);
    return;
  }
  pool.run([&](int tid, int n) {
    const int blocks = (total + align - 1) / align;
    const int b0 = static_cast<int>(static_cast<long>(blocks) * tid / n);
    const int b1 = static_cast<int>(static_cast<long>(blocks) * (tid + 1) / n);
    const int begin = b0 * align, end = b1 * align < total ? b1 * align : total;
    if (begin < end) fn(begin, end);
  });
}

}  // namespace rnn
