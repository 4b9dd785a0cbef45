// ProcessGroup on Gloo: a rendezvous through a store (ours over TCP, or Gloo's file store), a
// full mesh of TCP pairs, and Gloo's ring allreduce, tree broadcast and barrier.
#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <thread>

#include <gloo/allreduce.h>
#include <gloo/barrier.h>
#include <gloo/broadcast.h>
#include <gloo/config.h>
#include <gloo/math.h>  // gloo::sum, gloo::max, gloo::min (not pulled in by allreduce.h)
#include <gloo/rendezvous/context.h>
#include <gloo/rendezvous/file_store.h>
#include <gloo/rendezvous/prefix_store.h>
#include <gloo/transport/tcp/device.h>

#include "distributed/process_group.h"
#include "distributed/tcp_store.h"

namespace rnn::dist {
namespace {

// Gloo's file store waits a fixed 30 s in get(); this one waits as long as the group's timeout
// and names the rank a timeout waited for.
class TimedFileStore : public gloo::rendezvous::FileStore {
 public:
  TimedFileStore(const std::string& path, Millis timeout) : FileStore(path), timeout_(timeout) {}
  std::vector<char> get(const std::string& key) override {
    wait({key}, timeout_);
    return FileStore::get(key);
  }
  void wait(const std::vector<std::string>& keys) override { wait(keys, timeout_); }
  void wait(const std::vector<std::string>& keys, const Millis& timeout) override {
    try {
      FileStore::wait(keys, timeout);
    } catch (const gloo::IoException&) {
      throw std::runtime_error("the rendezvous timed out after " + std::to_string(timeout.count()) +
                               " ms waiting for " + describe_key(keys.empty() ? "" : keys.front()) +
                               ": that rank has not started, or has failed");
    }
  }
  void set(const std::string& key, const std::vector<char>& data) override {
    try {
      FileStore::set(key, data);
    } catch (const gloo::EnforceNotMet&) {
      throw std::runtime_error("the file store's directory holds keys from an earlier run that did not finish "
                               "(or two ranks share a RANK): start from an empty directory");
    }
  }
  // Removes the files this rank wrote, once every rank has read them (after the rendezvous).
  void remove_own() {
    for (const std::string& p : getAllKeyFilePaths()) std::remove(p.c_str());
  }

 private:
  Millis timeout_;
};

// Gloo's messages start with the source location ("[/build/gloo/…/pair.cc:598] "): drop it.
std::string strip_location(const std::string& msg) {
  if (!msg.empty() && msg[0] == '[') {
    const size_t end = msg.find("] ");
    if (end != std::string::npos) return msg.substr(end + 2);
  }
  return msg;
}

// What a Gloo failure means for the user, with Gloo's own words after it.
std::string explain(const std::string& raw, Millis timeout) {
  const std::string msg = strip_location(raw);
  if (msg.find("Connection closed by peer") != std::string::npos || msg.find("Connection reset") != std::string::npos ||
      msg.find("Broken pipe") != std::string::npos)
    return "another rank has gone away (its process exited or failed) (" + msg + ")";
  if (msg.find("Timed out waiting") != std::string::npos || msg.find("Read timeout") != std::string::npos ||
      msg.find("Write timeout") != std::string::npos)
    return "no answer from the other ranks within " + std::to_string(timeout.count()) +
           " ms: a rank is stuck, much slower, or not making the same calls (" + msg + ")";
  if (msg.find("Application timeout caused pair closure") != std::string::npos)
    return "another rank gave up waiting (its timeout expired) and closed its connections (" + msg + ")";
  return msg;
}

// The address of this machine that packets to `host` leave from (a UDP socket "connected" to
// it sends nothing): the interface the other ranks can reach us on. Empty when unknown.
std::string local_address_towards(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* res = nullptr;
  if (host.empty() || getaddrinfo(host.c_str(), "9", &hints, &res) != 0) return "";
  std::string out;
  for (addrinfo* ai = res; ai != nullptr && out.empty(); ai = ai->ai_next) {
    const int fd = ::socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    sockaddr_storage local{};
    socklen_t len = sizeof(local);
    char text[INET6_ADDRSTRLEN] = {0};
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) == 0) {
      const void* a = local.ss_family == AF_INET ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(&local)->sin_addr)
                                                 : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(&local)->sin6_addr);
      if (inet_ntop(local.ss_family, a, text, sizeof(text))) out = text;
    }
    ::close(fd);
  }
  freeaddrinfo(res);
  return out;
}

template <typename T>
gloo::AllreduceOptions::Func reduce_fn(ReduceOp op) {
  using Fn = void (*)(void*, const void*, const void*, size_t);
  switch (op) {
    case ReduceOp::kMax: return static_cast<Fn>(&gloo::max<T>);
    case ReduceOp::kMin: return static_cast<Fn>(&gloo::min<T>);
    default: return static_cast<Fn>(&gloo::sum<T>);
  }
}

// The ranks' calls differ (ProcessGroup::run): reported, but the group stays usable.
struct Disagreement : std::runtime_error {
  using std::runtime_error::runtime_error;
};

const char* collective_name(int64_t kind) {
  switch (static_cast<Collective>(kind)) {
    case Collective::kAllReduce: return "allReduce";
    case Collective::kBroadcast: return "broadcast";
    case Collective::kBarrier: return "barrier";
    case Collective::kAgree: return "a value check";
  }
  return "an unknown call";
}

}  // namespace

const char* reduce_op_name(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum: return "sum";
    case ReduceOp::kMean: return "mean";
    case ReduceOp::kMax: return "max";
    case ReduceOp::kMin: return "min";
  }
  return "?";
}

// Declaration order is destruction order reversed: the context (its pairs) goes first, then
// the device (its network thread), the store, and rank 0's store server last.
struct ProcessGroup::Impl {
  std::unique_ptr<TcpStoreServer> server;
  std::unique_ptr<gloo::rendezvous::Store> store;
  std::shared_ptr<gloo::transport::Device> device;
  std::shared_ptr<gloo::rendezvous::Context> context;
};

ProcessGroup::ProcessGroup(int rank, int size, Millis timeout, std::unique_ptr<Impl> impl)
    : rank_(rank), size_(size), timeout_(timeout), impl_(std::move(impl)) {}

ProcessGroup::~ProcessGroup() { shutdown(); }

void ProcessGroup::shutdown() {
  std::lock_guard<std::mutex> lock(mutex_);  // a collective still running finishes (or times out) first
  impl_.reset();
}

std::unique_ptr<ProcessGroup> ProcessGroup::create(const InitOptions& o) {
  if (o.world_size < 1 || o.rank < 0 || o.rank >= o.world_size)
    throw std::runtime_error("rank " + std::to_string(o.rank) + " is outside [0, " + std::to_string(o.world_size) + ")");
  if (o.timeout.count() <= 0) throw std::runtime_error("the timeout must be positive");
  auto impl = std::make_unique<Impl>();
  TimedFileStore* file_store = nullptr;
  try {
    if (o.store == StoreKind::kTcp) {
      if (o.rank == 0) impl->server = std::make_unique<TcpStoreServer>(o.master_addr, o.master_port);
      impl->store = std::make_unique<TcpStore>(o.master_addr, o.master_port, o.timeout);
    } else {
      struct stat st {};
      if (::stat(o.file_path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        throw std::runtime_error("the file store's directory " + o.file_path + " does not exist");
      auto fs = std::make_unique<TimedFileStore>(o.file_path, o.timeout);
      file_store = fs.get();
      impl->store = std::move(fs);
    }

    gloo::transport::tcp::attr attr;
    if (!o.iface.empty()) {
      attr.iface = o.iface;
    } else {
      // Where the master is, or this machine's host name (Gloo's default) when it is unknown.
      attr.hostname = local_address_towards(o.master_addr);
    }
    impl->device = gloo::transport::tcp::CreateDevice(attr);
    impl->context = std::make_shared<gloo::rendezvous::Context>(o.rank, o.world_size);
    impl->context->setTimeout(o.timeout);
    impl->context->connectFullMesh(*impl->store, impl->device);

    // Every rank has read what it needed from the store once all have connected: after this
    // barrier rank 0 may stop serving it, and the file store's files may go.
    gloo::BarrierOptions barrier(impl->context);
    barrier.setTimeout(o.timeout);
    gloo::barrier(barrier);
    if (file_store) file_store->remove_own();
  } catch (const std::exception& e) {  // gloo::Exception, gloo::EnforceNotMet, our stores' errors
    throw std::runtime_error(explain(e.what(), o.timeout));
  }
  return std::unique_ptr<ProcessGroup>(new ProcessGroup(o.rank, o.world_size, o.timeout, std::move(impl)));
}

std::string ProcessGroup::failure() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return failure_;
}

template <typename Body>
void ProcessGroup::run(Collective kind, int64_t count, int64_t op_or_root, int64_t tag, const char* what, Millis timeout,
                       const char* who, Body&& body) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!failure_.empty())
    throw std::runtime_error(std::string(who) + ": the process group failed earlier and cannot be used (" + failure_ +
                             "); call destroyProcessGroup() and start again");
  if (!impl_) throw std::runtime_error(std::string(who) + ": the process group has been destroyed");
  try {
    // The check: [facts, −facts] reduced by max gives every fact's maximum and minimum.
    // int64 so that counts and tags compare exactly. The buffer has the same length in every
    // call, so ranks in different calls still agree on this one.
    const int64_t facts[4] = {static_cast<int64_t>(kind), count, op_or_root, tag};
    int64_t check[8];
    for (int i = 0; i < 4; ++i) {
      check[i] = facts[i];
      check[4 + i] = -facts[i];
    }
    gloo::AllreduceOptions opts(impl_->context);
    opts.setOutput(check, 8);
    opts.setReduceFunction(reduce_fn<int64_t>(ReduceOp::kMax));
    opts.setTimeout(timeout);
    gloo::allreduce(opts);
    const int64_t hi[4] = {check[0], check[1], check[2], check[3]};
    const int64_t lo[4] = {-check[4], -check[5], -check[6], -check[7]};
    std::string differs;
    if (hi[0] != lo[0]) {
      differs = std::string("the ranks are in different calls (") + collective_name(lo[0]) + " and " + collective_name(hi[0]) +
                "): every rank must make the same collective calls in the same order";
    } else if (hi[1] != lo[1]) {
      differs = "the ranks passed different lengths (from " + std::to_string(lo[1]) + " to " + std::to_string(hi[1]) +
                " elements): every rank must pass the same number of elements";
    } else if (hi[2] != lo[2]) {
      differs = kind == Collective::kBroadcast
                    ? "the ranks passed different src ranks (from " + std::to_string(lo[2]) + " to " + std::to_string(hi[2]) + ")"
                    : std::string("the ranks passed different ops (") + reduce_op_name(static_cast<ReduceOp>(lo[2])) + " and " +
                          reduce_op_name(static_cast<ReduceOp>(hi[2])) + ")";
    } else if (hi[3] != lo[3]) {
      differs = std::string(what) + " differs across ranks (from " + std::to_string(lo[3]) + " to " + std::to_string(hi[3]) + ")";
    }
    // Every rank sees the same maxima and minima, so all refuse the call together and the
    // group stays usable: nothing was exchanged but the check.
    if (!differs.empty()) throw Disagreement(std::string(who) + ": " + differs);
    body();
  } catch (const Disagreement&) {
    throw;
  } catch (const std::exception& e) {  // gloo::Exception, gloo::EnforceNotMet (not a gloo::Exception)
    failure_ = explain(e.what(), timeout);
    // Close every connection now: Gloo drops only the pair that failed, so a rank that is
    // not next to a dead one in the ring would otherwise wait out its whole timeout; closed
    // connections make every rank fail at once, each naming a rank gone away.
    impl_.reset();
    throw std::runtime_error(std::string(who) + ": " + failure_);
  }
}

void ProcessGroup::allreduce(float* data, size_t n, ReduceOp op, Millis timeout, const char* who, int64_t tag) {
  run(Collective::kAllReduce, static_cast<int64_t>(n), static_cast<int64_t>(op), tag, "the step", timeout, who, [&] {
    if (n == 0 || size_ == 1) return;
    gloo::AllreduceOptions opts(impl_->context);
    opts.setOutput(data, n);
    opts.setReduceFunction(reduce_fn<float>(op));
    opts.setTimeout(timeout);
    gloo::allreduce(opts);
  });
  if (op == ReduceOp::kMean && size_ > 1) {
    // torch's AVG: the sum divided by the world size (the same rounding on every rank).
    const float world = static_cast<float>(size_);
    for (size_t i = 0; i < n; ++i) data[i] /= world;
  }
}

void ProcessGroup::broadcast(float* data, size_t n, int root, Millis timeout, const char* who, int64_t tag) {
  run(Collective::kBroadcast, static_cast<int64_t>(n), root, tag, "the step", timeout, who, [&] {
    if (n == 0 || size_ == 1) return;
    gloo::BroadcastOptions opts(impl_->context);
    opts.setOutput(data, n);
    opts.setRoot(root);
    opts.setTimeout(timeout);
    gloo::broadcast(opts);
  });
}

void ProcessGroup::barrier(Millis timeout, const char* who) {
  // The agreement check is itself a full exchange among the ranks: nobody leaves it before
  // every rank has entered it.
  run(Collective::kBarrier, 0, 0, 0, "", timeout, who, [] {});
}

void ProcessGroup::agree(int64_t value, const char* what, Millis timeout, const char* who) {
  run(Collective::kAgree, 0, 0, value, what, timeout, who, [] {});
}

bool available() { return true; }

std::string backend_description() {
  return "Gloo " + std::to_string(GLOO_VERSION_MAJOR) + "." + std::to_string(GLOO_VERSION_MINOR) + "." +
         std::to_string(GLOO_VERSION_PATCH) + " (TCP transport)";
}

}  // namespace rnn::dist
