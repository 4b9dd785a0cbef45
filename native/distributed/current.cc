// The process-wide group (current.h). Its holder is allocated once and never freed: at exit,
// destructors of static objects run while other threads may still be inside a collective, and
// tearing a Gloo context down under them could hang the exit for a whole timeout. The
// operating system closes the sockets instead.
#include "distributed/current.h"

#include <cstring>
#include <mutex>

namespace rnn::dist {
namespace {

struct Holder {
  std::mutex mutex;
  std::shared_ptr<ProcessGroup> group;
  bool initialising = false;
};

Holder& holder() {
  static Holder* h = new Holder();  // never freed (see above)
  return *h;
}

}  // namespace

std::shared_ptr<ProcessGroup> current_group() {
  Holder& h = holder();
  std::lock_guard<std::mutex> lock(h.mutex);
  return h.group;
}

bool begin_init() {
  Holder& h = holder();
  std::lock_guard<std::mutex> lock(h.mutex);
  if (h.group || h.initialising) return false;
  h.initialising = true;
  return true;
}

void end_init(std::shared_ptr<ProcessGroup> group) {
  Holder& h = holder();
  std::lock_guard<std::mutex> lock(h.mutex);
  h.group = std::move(group);
  h.initialising = false;
}

std::shared_ptr<ProcessGroup> take_group() {
  Holder& h = holder();
  std::lock_guard<std::mutex> lock(h.mutex);
  return std::move(h.group);
}

uint32_t checksum(const float* data, size_t n, uint32_t seed) {
  constexpr uint32_t kPrime = 16777619u;  // FNV-1a's 32-bit prime
  uint32_t lane[4] = {seed ^ 2166136261u, seed ^ 0x9e3779b9u, seed ^ 0x85ebca6bu, seed ^ 0xc2b2ae35u};
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    for (int k = 0; k < 4; ++k) {
      uint32_t w;
      std::memcpy(&w, data + i + k, 4);  // the float's bits (-0 and +0, NaN payloads differ)
      lane[k] = (lane[k] ^ w) * kPrime;
    }
  }
  for (; i < n; ++i) {
    uint32_t w;
    std::memcpy(&w, data + i, 4);
    lane[0] = (lane[0] ^ w) * kPrime;
  }
  uint32_t h = static_cast<uint32_t>(n);
  for (uint32_t l : lane) h = (h ^ l) * kPrime;
  return h;
}

}  // namespace rnn::dist
