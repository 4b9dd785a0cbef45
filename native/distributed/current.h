// The process's one process group, shared by every thread: the main thread and fit()'s worker
// threads each load the addon, but it is one library in one process, so a group initialised on
// the main thread is the one a training loop on a worker thread reduces its gradients in.
#pragma once

#include <memory>

#include "distributed/process_group.h"

namespace rnn::dist {

// The group, or null when none is initialised.
std::shared_ptr<ProcessGroup> current_group();

// Marks an initialisation as under way; false when a group exists or another is under way.
bool begin_init();
// Ends it: installs the group (null when the initialisation failed).
void end_init(std::shared_ptr<ProcessGroup> group);

// Removes the group and returns it (null when there is none).
std::shared_ptr<ProcessGroup> take_group();

// A 32-bit hash of the bytes of n floats, for comparing parameters across ranks: equal
// arrays give equal hashes, and a change of any bit almost surely changes it. Four
// independent FNV-style lanes, so that the multiply chains overlap. Chained over several
// arrays through `seed`.
uint32_t checksum(const float* data, size_t n, uint32_t seed);

}  // namespace rnn::dist
