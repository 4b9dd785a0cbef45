// A process group for data-parallel training: this process's place (rank) among world_size
// processes and the collectives they run together (allreduce, broadcast, barrier), on Gloo's
// TCP transport. Plain C++, no N-API; every call blocks its thread until the collective is
// done, fails or times out, and reports failure as a std::runtime_error whose message is meant
// for the user. The binding (native/binding/distributed_binding.cc) moves the calls off the
// event loop.
//
// Built with Gloo (process_group_gloo.cc) or without it (process_group_none.cc, whose create()
// throws, naming the package to install); available() tells which.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

namespace rnn::dist {

using Millis = std::chrono::milliseconds;

// How the ranks find each other before Gloo connects them: a key-value store every rank can
// reach. kTcp: rank 0 serves it on master_addr:master_port (tcp_store.h). kFile: files in a
// directory every rank sees (a shared filesystem across machines).
enum class StoreKind { kTcp, kFile };

struct InitOptions {
  int rank = 0;
  int world_size = 1;
  StoreKind store = StoreKind::kTcp;
  std::string master_addr;  // kTcp: the host of rank 0's store
  int master_port = 0;      // kTcp
  std::string file_path;    // kFile: the directory
  // The network interface Gloo's connections use (GLOO_SOCKET_IFNAME); empty: the one that
  // routes to master_addr (the loopback for a master on this machine).
  std::string iface;
  // Bounds every wait: the rendezvous, each collective unless it is given its own.
  Millis timeout{60000};
};

// Sum and Max are Gloo's; Mean is Sum divided by the world size afterwards (as torch's AVG).
enum class ReduceOp { kSum = 0, kMean = 1, kMax = 2, kMin = 3 };

const char* reduce_op_name(ReduceOp op);

// What a collective is, for the check every call starts with (ProcessGroup::agree_on).
enum class Collective : int64_t { kAllReduce = 1, kBroadcast = 2, kBarrier = 3, kAgree = 4 };

class ProcessGroup {
 public:
  // Rendezvous and connection of every pair of ranks; blocks up to options.timeout. Throws a
  // std::runtime_error saying what went wrong (a rank that did not arrive, a port in use, …).
  static std::unique_ptr<ProcessGroup> create(const InitOptions& options);
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  Millis timeout() const { return timeout_; }

  // Every rank must make the same calls in the same order with the same lengths. What ranks
  // disagree on would hang a collective or, worse, make Gloo's network thread read past a
  // buffer and end the process, so every call first checks, in one small allreduce, that all
  // ranks are in the same kind of call with the same element count, op or root, and `tag`
  // (the trainer passes its step number), and throws on every rank naming what differs.
  // `who` names the caller in messages ("allReduce", "fit"). Calls are serialised within the
  // process. After any failure (a peer gone, a timeout, a disagreement) the group refuses
  // every further call with the first failure's message.

  // In place over data (n elements).
  void allreduce(float* data, size_t n, ReduceOp op, Millis timeout, const char* who, int64_t tag = 0);
  // Rank root's data replaces everyone's.
  void broadcast(float* data, size_t n, int root, Millis timeout, const char* who, int64_t tag = 0);
  void barrier(Millis timeout, const char* who);
  // Only the check: throws on every rank unless all passed the same value (named `what`:
  // "the parameter checksum").
  void agree(int64_t value, const char* what, Millis timeout, const char* who);

  // The first failure's message, or empty while the group is usable.
  std::string failure() const;

  // Closes the connections (and rank 0's store), after the collective in flight, if any;
  // every later call throws. The destructor does it too.
  void shutdown();

  struct Impl;  // the Gloo context and the store (process_group_gloo.cc)

 private:
  ProcessGroup(int rank, int size, Millis timeout, std::unique_ptr<Impl> impl);
  // Runs body under the lock after the agreement check on facts (kind, count, op or root,
  // tag); a failure is recorded and rethrown.
  template <typename Body>
  void run(Collective kind, int64_t count, int64_t op_or_root, int64_t tag, const char* what, Millis timeout,
           const char* who, Body&& body);

  const int rank_;
  const int size_;
  const Millis timeout_;
  std::unique_ptr<Impl> impl_;
  mutable std::mutex mutex_;  // one collective at a time; guards failure_
  std::string failure_;
};

// Whether this build has a backend, and which ("Gloo 0.5.0 (TCP transport)"), or why not.
bool available();
std::string backend_description();

}  // namespace rnn::dist
