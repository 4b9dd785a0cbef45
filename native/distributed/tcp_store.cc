// The rendezvous store over TCP (tcp_store.h): a poll() loop on rank 0, blocking clients with
// deadlines everywhere else.
#include "distributed/tcp_store.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <list>
#include <map>
#include <stdexcept>

namespace rnn::dist {
namespace {

using Clock = std::chrono::steady_clock;

// Limits on what a request may carry: Gloo's keys are short and its values are a few hundred
// bytes of addresses per rank; anything larger is not a rank talking.
constexpr uint32_t kMaxKey = 4096;
constexpr uint32_t kMaxValue = 64u << 20;

std::string errno_text(int e) { return std::strerror(e); }

void put_u32(std::vector<char>& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint32_t get_u32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}
void put_bytes(std::vector<char>& out, const char* p, size_t n) {
  put_u32(out, static_cast<uint32_t>(n));
  out.insert(out.end(), p, p + n);
}

// The addresses host:port resolves to (TCP). Throws naming the host when it does not resolve.
struct AddrList {
  addrinfo* head = nullptr;
  AddrList(const std::string& host, int port, bool passive) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = passive ? AI_PASSIVE : 0;
    const std::string service = std::to_string(port);
    const int rv = getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &head);
    if (rv != 0)
      throw std::runtime_error("cannot resolve the master address " + host + " (" + gai_strerror(rv) + ")");
  }
  ~AddrList() {
    if (head) freeaddrinfo(head);
  }
};

void set_nodelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

// Writes all of buf; false when the connection is gone. MSG_NOSIGNAL: a closed peer must give
// EPIPE, not the SIGPIPE that would end a process that does not ignore it.
bool send_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    const ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

}  // namespace

std::string describe_key(const std::string& key) {
  // "rank_3": rank 3's host name, set as it arrives; "3": rank 3's connection addresses.
  std::string digits = key.rfind("rank_", 0) == 0 ? key.substr(5) : key;
  if (!digits.empty() && digits.find_first_not_of("0123456789") == std::string::npos)
    return "rank " + digits + " (key " + key + ")";
  return "key " + key;
}

// ---------------------------------------------------------------------------------------------
// Server

TcpStoreServer::TcpStoreServer(const std::string& addr, int port) {
  int last_errno = 0;
  // The master address itself first (a multi-homed machine listens where the ranks look); the
  // wildcard when that address is not one of this machine's (a NAT or a load balancer in front).
  for (const bool wildcard : {false, true}) {
    AddrList list(wildcard ? std::string() : addr, port, wildcard);
    for (addrinfo* ai = list.head; ai != nullptr; ai = ai->ai_next) {
      const int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
      if (fd < 0) continue;
      int one = 1;
      setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
      if (::bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && ::listen(fd, 1024) == 0) {
        listen_fd_ = fd;
        break;
      }
      last_errno = errno;
      ::close(fd);
      if (last_errno == EADDRINUSE) break;  // the wildcard would be taken too
    }
    if (listen_fd_ >= 0 || last_errno == EADDRINUSE) break;
  }
  if (listen_fd_ < 0) {
    if (last_errno == EADDRINUSE)
      throw std::runtime_error("MASTER_PORT " + std::to_string(port) + " on " + addr +
                               " is already in use (another job, or a rank 0 that has not exited); choose another port");
    throw std::runtime_error("cannot listen on " + addr + ":" + std::to_string(port) + " for the rendezvous (" +
                             errno_text(last_errno) + ")");
  }
  if (::pipe2(wake_fd_, O_CLOEXEC) != 0) {
    ::close(listen_fd_);
    throw std::runtime_error("cannot create the rendezvous server's wake-up pipe (" + errno_text(errno) + ")");
  }
  thread_ = std::thread([this] { serve(); });
}

TcpStoreServer::~TcpStoreServer() {
  const char byte = 0;
  (void)!::write(wake_fd_[1], &byte, 1);
  if (thread_.joinable()) thread_.join();
  ::close(listen_fd_);
  ::close(wake_fd_[0]);
  ::close(wake_fd_[1]);
}

void TcpStoreServer::serve() {
  struct Client {
    int fd;
    std::vector<char> in;  // bytes received, not yet a whole request
  };
  struct Waiter {
    int fd;
    std::string key;
    char op;  // 'G' answers with the value, 'W' with 'K'
  };
  std::list<Client> clients;
  std::list<Waiter> waiters;
  std::map<std::string, std::vector<char>> data;

  auto answer = [&](int fd, char op, const std::vector<char>& value) {
    std::vector<char> out;
    if (op == 'G') {
      out.push_back('V');
      put_bytes(out, value.data(), value.size());
    } else {
      out.push_back('K');
    }
    return send_all(fd, out.data(), out.size());
  };
  auto close_client = [&](std::list<Client>::iterator it) {
    waiters.remove_if([&](const Waiter& w) { return w.fd == it->fd; });
    ::close(it->fd);
    return clients.erase(it);
  };

  // Handles the whole requests in c.in; false to drop the connection.
  auto handle = [&](Client& c) -> bool {
    for (;;) {
      const size_t have = c.in.size();
      if (have < 5) return true;
      const char op = c.in[0];
      if (op != 'S' && op != 'G' && op != 'W') return false;
      const uint32_t klen = get_u32(&c.in[1]);
      if (klen > kMaxKey) return false;
      size_t need = 5 + klen;
      uint32_t vlen = 0;
      if (op == 'S') {
        if (have < need + 4) return true;
        vlen = get_u32(&c.in[need]);
        if (vlen > kMaxValue) return false;
        need += 4 + vlen;
      }
      if (have < need) return true;
      std::string key(&c.in[5], klen);
      if (op == 'S') {
        std::vector<char> value(c.in.begin() + 5 + klen + 4, c.in.begin() + need);
        if (data.count(key)) {
          std::vector<char> out{'E'};
          const std::string msg = "key " + key + " is already set (two ranks with the same RANK?)";
          put_bytes(out, msg.data(), msg.size());
          if (!send_all(c.fd, out.data(), out.size())) return false;
        } else {
          const auto& stored = data.emplace(key, std::move(value)).first->second;
          if (!send_all(c.fd, "K", 1)) return false;
          for (auto w = waiters.begin(); w != waiters.end();) {
            if (w->key == key) {
              answer(w->fd, w->op, stored);  // a failed send shows up as that client's EOF
              w = waiters.erase(w);
            } else {
              ++w;
            }
          }
        }
      } else {
        auto found = data.find(key);
        if (found != data.end()) {
          if (!answer(c.fd, op, found->second)) return false;
        } else {
          waiters.push_back({c.fd, key, op});
        }
      }
      c.in.erase(c.in.begin(), c.in.begin() + static_cast<std::ptrdiff_t>(need));
    }
  };

  std::vector<pollfd> fds;
  char buf[65536];
  for (;;) {
    fds.clear();
    fds.push_back({wake_fd_[0], POLLIN, 0});
    fds.push_back({listen_fd_, POLLIN, 0});
    for (const Client& c : clients) fds.push_back({c.fd, POLLIN, 0});
    const int n = ::poll(fds.data(), fds.size(), -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // nothing sensible left to do; clients time out with a clear message
    }
    if (fds[0].revents) return;
    if (fds[1].revents & POLLIN) {
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd >= 0) {
        set_nodelay(fd);
        clients.push_back({fd, {}});
      }
    }
    // fds[2..] match the clients as they were when polled; new ones are at the end of the list.
    size_t k = 2;
    for (auto it = clients.begin(); it != clients.end() && k < fds.size(); ++k) {
      if (fds[k].revents == 0) {
        ++it;
        continue;
      }
      const ssize_t r = ::recv(it->fd, buf, sizeof(buf), 0);
      if (r < 0 && (errno == EINTR || errno == EAGAIN)) {
        ++it;
        continue;
      }
      if (r <= 0) {
        it = close_client(it);
        continue;
      }
      it->in.insert(it->in.end(), buf, buf + r);
      it = handle(*it) ? std::next(it) : close_client(it);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Client

TcpStore::TcpStore(const std::string& addr, int port, std::chrono::milliseconds timeout)
    : where_(addr + ":" + std::to_string(port)), timeout_(timeout) {
  const auto deadline = Clock::now() + timeout;
  std::string last = "no address";
  // Rank 0 may not be listening yet: retry refused connections until the deadline.
  while (fd_ < 0) {
    AddrList list(addr, port, false);
    for (addrinfo* ai = list.head; ai != nullptr && fd_ < 0; ai = ai->ai_next) {
      const int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
      if (fd < 0) continue;
      if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
        fd_ = fd;
      } else {
        last = errno_text(errno);
        ::close(fd);
      }
    }
    if (fd_ >= 0) break;
    if (Clock::now() >= deadline)
      throw std::runtime_error("could not reach rank 0's rendezvous at " + where_ + " within " +
                               std::to_string(timeout.count()) + " ms (" + last +
                               "): is rank 0 running, and are MASTER_ADDR and MASTER_PORT the same on every rank?");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  set_nodelay(fd_);
}

TcpStore::~TcpStore() {
  if (fd_ >= 0) ::close(fd_);
}

std::vector<char> TcpStore::request(char op, const std::string& key, const std::vector<char>* value,
                                    Clock::time_point deadline, std::chrono::milliseconds timeout) {
  std::vector<char> out{op};
  put_bytes(out, key.data(), key.size());
  if (value) put_bytes(out, value->data(), value->size());
  if (!send_all(fd_, out.data(), out.size()))
    throw std::runtime_error("the rendezvous at " + where_ + " closed the connection (rank 0 has exited?)");

  std::vector<char> in;
  char buf[4096];
  // Reads until the reply is whole: 'K'; 'V' or 'E' with a length-prefixed payload.
  for (;;) {
    if (!in.empty()) {
      if (in[0] == 'K') return {};
      if ((in[0] == 'V' || in[0] == 'E') && in.size() >= 5) {
        const uint32_t len = get_u32(&in[1]);
        if (len > kMaxValue) break;
        if (in.size() >= 5 + static_cast<size_t>(len)) {
          std::vector<char> payload(in.begin() + 5, in.begin() + 5 + len);
          if (in[0] == 'E') throw std::runtime_error("rendezvous: " + std::string(payload.begin(), payload.end()));
          return payload;
        }
      } else if (in[0] != 'V' && in[0] != 'E') {
        break;
      }
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0)
      throw std::runtime_error("the rendezvous timed out after " + std::to_string(timeout.count()) +
                               " ms waiting for " + describe_key(key) + ": that rank has not started, or has failed");
    pollfd p{fd_, POLLIN, 0};
    const int n = ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 1000)));
    if (n < 0 && errno != EINTR) break;
    if (n <= 0) continue;
    const ssize_t r = ::recv(fd_, buf, sizeof(buf), 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0)
      throw std::runtime_error("the rendezvous at " + where_ + " closed the connection (rank 0 has exited?)");
    in.insert(in.end(), buf, buf + r);
  }
  throw std::runtime_error("the rendezvous at " + where_ + " sent a malformed reply (is something else listening on that port?)");
}

void TcpStore::set(const std::string& key, const std::vector<char>& data) {
  request('S', key, &data, Clock::now() + timeout_, timeout_);
}

std::vector<char> TcpStore::get(const std::string& key) { return request('G', key, nullptr, Clock::now() + timeout_, timeout_); }

void TcpStore::wait(const std::vector<std::string>& keys) { wait(keys, timeout_); }

void TcpStore::wait(const std::vector<std::string>& keys, const std::chrono::milliseconds& timeout) {
  const auto deadline = Clock::now() + timeout;  // one deadline for all the keys
  for (const std::string& key : keys) request('W', key, nullptr, deadline, timeout);
}

}  // namespace rnn::dist
