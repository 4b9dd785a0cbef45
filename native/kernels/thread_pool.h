// The kernels' own threads (see docs/threading.md): OpenBLAS runs single-threaded and the
// kernels split work themselves — the recurrent time loop by hidden units, big GEMMs by
// columns — so no two thread pools ever compete for the cores.
//
// run(fn) calls fn(tid, n) on a team: the calling thread (tid 0) and the helpers it can
// borrow — idle ones, each paid for with a token of the compute budget (compute_budget.h) —
// and returns when all are done. n is the team's size, which may be smaller than asked for
// when other calls hold cores: the kernels split their work by the n they get, and are written
// so that the numbers do not depend on it. Inside fn, barrier() synchronises the team (a
// spinning, sense-reversing barrier: a time step is tens of microseconds, too short to
// sleep). Between jobs a helper spins briefly, then sleeps on its condition variable.
#pragma once
#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace rnn {

class ThreadPool {
 public:
  static ThreadPool& instance();

  // Total threads a call may use, the caller included (>= 1). The caller holds the whole
  // compute budget (nothing runs meanwhile).
  void set_threads(int n);
  int threads() const { return n_; }

  // Runs fn(tid, n) on a team of at most `active` threads (0 or more than threads(): all).
  // Not re-entrant: fn must not call run().
  void run(const std::function<void(int tid, int n)>& fn, int active = 0);

  // Inside run(): waits until every thread of the caller's team arrives.
  void barrier();

  ~ThreadPool();

  struct Team;    // one run()'s job and barrier (internal)
  struct Helper;  // one helper thread (internal)

 private:
  ThreadPool();
  void start(int n);
  void stop();
  static void helper_loop(Helper* h);

  int n_ = 1;
  std::vector<std::unique_ptr<Helper>> helpers_;
};

// Calls fn(begin, end) for contiguous chunks of [0, total) on the pool's threads, chunk
// boundaries aligned to `align`; runs inline when total < min_parallel.
void parallel_ranges(int total, int align, int min_parallel, const std::function<void(int, int)>& fn);

}  // namespace rnn
