// ProcessGroup in a build without Gloo (CMake found no libgloo-dev, or RNN_GLOO=OFF): create()
// says what to install; nothing else can be reached, since no group is ever made.
#include <stdexcept>

#include "distributed/process_group.h"

namespace rnn::dist {

namespace {
constexpr const char* kMissing =
    "this build of rnn-native has no distributed backend: it was compiled without Gloo. Install it "
    "(Debian/Ubuntu: sudo apt-get install -y libgloo-dev) and rebuild (npm run build:native), or use a "
    "prebuilt package, which carries Gloo";
}

const char* reduce_op_name(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum: return "sum";
    case ReduceOp::kMean: return "mean";
    case ReduceOp::kMax: return "max";
    case ReduceOp::kMin: return "min";
  }
  return "?";
}

struct ProcessGroup::Impl {};

ProcessGroup::ProcessGroup(int rank, int size, Millis timeout, std::unique_ptr<Impl> impl)
    : rank_(rank), size_(size), timeout_(timeout), impl_(std::move(impl)) {}
ProcessGroup::~ProcessGroup() = default;

std::unique_ptr<ProcessGroup> ProcessGroup::create(const InitOptions&) { throw std::runtime_error(kMissing); }
std::string ProcessGroup::failure() const { return kMissing; }
void ProcessGroup::shutdown() {}
void ProcessGroup::allreduce(float*, size_t, ReduceOp, Millis, const char*, int64_t) { throw std::runtime_error(kMissing); }
void ProcessGroup::broadcast(float*, size_t, int, Millis, const char*, int64_t) { throw std::runtime_error(kMissing); }
void ProcessGroup::barrier(Millis, const char*) { throw std::runtime_error(kMissing); }
void ProcessGroup::agree(int64_t, const char*, Millis, const char*) { throw std::runtime_error(kMissing); }

bool available() { return false; }
std::string backend_description() { return kMissing; }

}  // namespace rnn::dist
