#include "compute_budget.h"

#include <thread>

namespace rnn {

ComputeBudget& ComputeBudget::instance() {
  // Never destroyed, like the pool: a call may still run on a libuv thread at exit.
  static ComputeBudget* budget = new ComputeBudget;
  return *budget;
}

ComputeBudget::ComputeBudget() {
  const unsigned hw = std::thread::hardware_concurrency();
  total_ = free_ = hw == 0 ? 1 : static_cast<int>(hw > 64 ? 64 : hw);
}

void ComputeBudget::note_held_locked() {
  const int held = total_ - free_;
  if (held > max_held_) max_held_ = held;
}

void ComputeBudget::acquire() {
  std::unique_lock<std::mutex> lock(m_);
  ++calls_;
  if (free_ == 0) ++waited_;
  cv_.wait(lock, [&] { return free_ > 0; });
  --free_;
  note_held_locked();
}

bool ComputeBudget::try_acquire() {
  std::lock_guard<std::mutex> lock(m_);
  if (free_ == 0) return false;
  --free_;
  note_held_locked();
  return true;
}

void ComputeBudget::release() {
  {
    std::lock_guard<std::mutex> lock(m_);
    ++free_;
  }
  cv_.notify_all();
}

void ComputeBudget::acquire_all() {
  std::unique_lock<std::mutex> lock(m_);
  ++calls_;
  if (free_ != total_) ++waited_;
  cv_.wait(lock, [&] { return free_ == total_; });
  free_ = 0;
  note_held_locked();
}

void ComputeBudget::release_all() {
  {
    std::lock_guard<std::mutex> lock(m_);
    free_ = total_;
  }
  cv_.notify_all();
}

void ComputeBudget::resize_held(int tokens) {
  std::lock_guard<std::mutex> lock(m_);
  total_ = tokens < 1 ? 1 : tokens;
  free_ = 0;
  if (max_held_ > total_) max_held_ = total_;
}

void ComputeBudget::set_exclusive(bool on) {
  std::lock_guard<std::mutex> lock(m_);
  exclusive_ = on;
}

ComputeBudget::Stats ComputeBudget::stats() {
  std::lock_guard<std::mutex> lock(m_);
  return Stats{total_, total_ - free_, max_held_, running_, max_running_, calls_, waited_};
}

void ComputeBudget::reset_stats() {
  std::lock_guard<std::mutex> lock(m_);
  max_held_ = total_ - free_;
  max_running_ = running_;
  calls_ = waited_ = 0;
}

int& prepaid_tokens() {
  thread_local int prepaid = 0;
  return prepaid;
}

ComputeScope::ComputeScope() : all_(ComputeBudget::instance().exclusive()) {
  ComputeBudget& b = ComputeBudget::instance();
  if (all_) {
    b.acquire_all();
    prepaid_tokens() = b.tokens() - 1;
  } else {
    b.acquire();
  }
  std::lock_guard<std::mutex> lock(b.m_);
  if (++b.running_ > b.max_running_) b.max_running_ = b.running_;
}

ComputeScope::~ComputeScope() {
  {
    ComputeBudget& b = ComputeBudget::instance();
    std::lock_guard<std::mutex> lock(b.m_);
    --b.running_;
  }
  if (all_) {
    prepaid_tokens() = 0;
    ComputeBudget::instance().release_all();
  } else {
    ComputeBudget::instance().release();
  }
}

}  // namespace rnn
