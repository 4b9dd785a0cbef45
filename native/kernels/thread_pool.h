// The kernels' own threads (see docs/threading.md): OpenBLAS runs single-threaded and the
// kernels split work themselves — the recurrent time loop by hidden units, big GEMMs by
// columns — so no two thread pools ever compete for the two cores.
//
// run(fn) calls fn(tid, n) on n threads (the caller is tid 0) and returns when all are
// done. Inside fn, barrier() synchronises the n threads (a spinning, sense-reversing
// barrier: a time step is tens of microseconds, too short to sleep). Between runs the
// helpers spin briefly, then sleep on a condition variable.
#pragma once
#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace rnn {

class ThreadPool {
 public:
  static ThreadPool& instance();

  void set_threads(int n);  // total threads including the caller; >= 1
  int threads() const { return n_; }

  // Runs fn(tid, active) on `active` threads (0 or more than threads() = all of them); the
  // other helpers stay idle. Not re-entrant: callers hold blas_mutex().
  void run(const std::function<void(int tid, int n)>& fn, int active = 0);

  // Inside run(): waits until all active threads arrive.
  void barrier();

  ~ThreadPool();

 private:
  ThreadPool();
  void start(int n);
  void stop();
  void helper_loop(int tid, unsigned seen);

  int n_ = 1;
  int active_ = 1;  // threads taking part in the current run
  std::vector<std::thread> helpers_;
  const std::function<void(int, int)>* job_ = nullptr;
  std::atomic<unsigned> generation_{0};  // bumped per run()
  std::atomic<int> pending_{0};          // helpers still working on the current run
  std::atomic<bool> quit_{false};
  std::mutex sleep_mutex_;
  std::condition_variable wake_;
  // barrier
  std::atomic<int> arrived_{0};
  std::atomic<unsigned> barrier_sense_{0};
};

// Calls fn(begin, end) for contiguous chunks of [0, total) on the pool's threads, chunk
// boundaries aligned to `align`; runs inline when total < min_parallel.
void parallel_ranges(int total, int align, int min_parallel, const std::function<void(int, int)>& fn);

}  // namespace rnn
