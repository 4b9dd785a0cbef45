#include "thread_pool.h"

#include <chrono>

#include "compute_budget.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define RNN_PAUSE() _mm_pause()
#else
#define RNN_PAUSE() std::this_thread::yield()
#endif

namespace rnn {

// One run(): the job, the team's size and its barrier. Lives on the caller's stack until every
// helper has finished with it.
struct ThreadPool::Team {
  const std::function<void(int, int)>* fn = nullptr;
  int n = 1;
  std::atomic<int> pending{0};  // helpers still working
  std::atomic<int> arrived{0};
  std::atomic<unsigned> sense{0};
};

struct ThreadPool::Helper {
  std::thread thread;
  std::atomic<bool> leased{false};       // taken by a run() (one at a time)
  std::atomic<unsigned> generation{0};   // bumped (under m) to hand over a job
  Team* team = nullptr;                  // the job, written before the bump
  int tid = 0;
  std::mutex m;
  std::condition_variable cv;
  std::atomic<bool> quit{false};
};

namespace {
thread_local ThreadPool::Team* current_team = nullptr;  // NOLINT: the team the thread works for
}  // namespace

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
  for (int i = 1; i < n; ++i) {
    helpers_.push_back(std::make_unique<Helper>());
    Helper* h = helpers_.back().get();
    h->thread = std::thread([h] { helper_loop(h); });
  }
}

void ThreadPool::stop() {
  for (auto& h : helpers_) {
    {
      std::lock_guard<std::mutex> lock(h->m);
      h->quit = true;
    }
    h->cv.notify_all();
  }
  for (auto& h : helpers_) h->thread.join();
  helpers_.clear();
  n_ = 1;
}

void ThreadPool::helper_loop(Helper* h) {
  unsigned seen = 0;
  for (;;) {
    // Spin for a while (the next job usually follows within microseconds), then sleep.
    const auto spin_until = std::chrono::steady_clock::now() + std::chrono::microseconds(200);
    while (h->generation.load(std::memory_order_acquire) == seen && !h->quit.load(std::memory_order_acquire) &&
           std::chrono::steady_clock::now() < spin_until)
      for (int i = 0; i < 64; ++i) RNN_PAUSE();
    if (h->generation.load(std::memory_order_acquire) == seen) {
      std::unique_lock<std::mutex> lock(h->m);
      h->cv.wait(lock, [&] { return h->generation.load(std::memory_order_acquire) != seen || h->quit.load(); });
    }
    if (h->quit.load(std::memory_order_acquire)) return;
    seen = h->generation.load(std::memory_order_acquire);
    Team* t = h->team;
    current_team = t;
    (*t->fn)(h->tid, t->n);
    current_team = nullptr;
    t->pending.fetch_sub(1, std::memory_order_acq_rel);  // after this the team may be gone
  }
}

void ThreadPool::run(const std::function<void(int, int)>& fn, int active) {
  const int want = (active <= 0 || active > n_) ? n_ : active;
  Team team;
  team.fn = &fn;
  // Borrow idle helpers, each paid for: from the tokens the caller already holds (exclusive
  // mode), else one from the budget — none left means the cores are busy with other calls.
  Helper* leased[64];
  bool paid[64];
  int k = 0;
  int prepaid = prepaid_tokens();
  for (auto& h : helpers_) {
    if (k + 1 >= want || k >= 64) break;
    if (h->leased.exchange(true, std::memory_order_acq_rel)) continue;  // working for another call
    if (prepaid > 0) {
      --prepaid;
      paid[k] = false;
    } else if (ComputeBudget::instance().try_acquire()) {
      paid[k] = true;
    } else {
      h->leased.store(false, std::memory_order_release);
      break;
    }
    leased[k++] = h.get();
  }
  team.n = 1 + k;
  team.pending.store(k, std::memory_order_release);
  for (int i = 0; i < k; ++i) {
    Helper* h = leased[i];
    h->team = &team;
    h->tid = i + 1;
    {
      std::lock_guard<std::mutex> lock(h->m);  // pairs with the sleeper's predicate check
      h->generation.fetch_add(1, std::memory_order_acq_rel);
    }
    h->cv.notify_one();
  }
  Team* outer = current_team;
  current_team = &team;
  fn(0, team.n);
  current_team = outer;
  for (unsigned spins = 0; team.pending.load(std::memory_order_acquire) != 0; ++spins) {
    if (spins < 4096) RNN_PAUSE();
    else std::this_thread::yield();
  }
  for (int i = 0; i < k; ++i) {
    if (paid[i]) ComputeBudget::instance().release();
    leased[i]->leased.store(false, std::memory_order_release);
  }
}

void ThreadPool::barrier() {
  Team* t = current_team;
  if (t == nullptr || t->n == 1) return;
  const unsigned sense = t->sense.load(std::memory_order_acquire);
  if (t->arrived.fetch_add(1, std::memory_order_acq_rel) == t->n - 1) {
    t->arrived.store(0, std::memory_order_relaxed);
    t->sense.store(sense + 1, std::memory_order_release);
  } else {
    // Spin (a step's work is tens of microseconds), but yield once the wait grows long:
    // on a loaded machine the thread we wait for may be descheduled, and spinning would
    // only keep it off the core.
    for (unsigned spins = 0; t->sense.load(std::memory_order_acquire) == sense; ++spins) {
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
