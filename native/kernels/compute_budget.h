// The machine's cores as a budget of tokens (docs/threading.md): a native call holds one token
// for its own thread while it computes, and each pool helper it borrows for a parallel region
// holds one more. There are as many tokens as setNumThreads allows (default: the cores), so
// calls from several threads — worker_threads with their own models, libuv's pool, the main
// thread — run at the same time where cores are free, each with as many helpers as are left,
// and never more threads compute at once than the budget. A call that finds no token waits
// (asleep, not spinning).
//
// What the budget does not do: serialise two calls on the same object. Objects with scratch
// of their own (a recurrent stack, a decode step) have their own mutex, taken before the
// token (a thread waiting for an object holds no core).
#pragma once
#include <condition_variable>
#include <mutex>

namespace rnn {

class ComputeBudget {
 public:
  static ComputeBudget& instance();

  void acquire();      // one token; waits for it
  bool try_acquire();  // one token if one is free
  void release();
  // Every token (waits until every other call has finished): for changing the thread count
  // or a process-wide kernel switch, which nothing may run under.
  void acquire_all();
  void release_all();
  // The number of tokens; the caller holds all of them (acquire_all).
  void resize_held(int tokens);
  int tokens() const { return total_; }

  // Exclusive mode (benchmarks and tests): every call takes the whole budget, so calls run
  // one at a time, as under one process-wide lock.
  void set_exclusive(bool on);
  bool exclusive() const { return exclusive_; }

  // Statistics since the last reset: the most tokens held at once, the most calls computing
  // at once, and calls that had to wait.
  struct Stats {
    int tokens, held, max_held, running, max_running;
    long long calls, waited;
  };
  Stats stats();
  void reset_stats();

 private:
  ComputeBudget();
  std::mutex m_;
  std::condition_variable cv_;
  int total_;
  int free_;
  bool exclusive_ = false;
  int max_held_ = 0;
  int running_ = 0, max_running_ = 0;  // calls (compute sections), not tokens
  long long calls_ = 0, waited_ = 0;
  void note_held_locked();
  friend class ComputeScope;
};

// Tokens the calling thread's compute section holds beyond its own (exclusive mode: all the
// others), which the pool's helpers use before asking the budget for more.
int& prepaid_tokens();

// A native call's compute section: one token (all of them in exclusive mode) for its lifetime.
class ComputeScope {
 public:
  ComputeScope();
  ~ComputeScope();
  ComputeScope(const ComputeScope&) = delete;
  ComputeScope& operator=(const ComputeScope&) = delete;

 private:
  bool all_;
};

// The whole budget for its lifetime.
class ExclusiveComputeScope {
 public:
  ExclusiveComputeScope() {
    ComputeBudget::instance().acquire_all();
    prepaid_tokens() = ComputeBudget::instance().tokens() - 1;
  }
  ~ExclusiveComputeScope() {
    prepaid_tokens() = 0;
    ComputeBudget::instance().release_all();
  }
  ExclusiveComputeScope(const ExclusiveComputeScope&) = delete;
  ExclusiveComputeScope& operator=(const ExclusiveComputeScope&) = delete;
};

}  // namespace rnn
