// The key-value store the ranks meet in before Gloo connects them (the role of torch's
// TCPStore; the Gloo in Debian 12 has file and Redis stores but no TCP one). Rank 0 runs a
// TcpStoreServer on MASTER_ADDR:MASTER_PORT; every rank, rank 0 included, talks to it through
// a TcpStore, which is a gloo::rendezvous::Store.
//
// Wire format (both directions), integers little-endian:
//   request  = op (1 byte: 'S' set, 'G' get, 'W' wait) · key (u32 length, bytes)
//              · value (u32 length, bytes; 'S' only)
//   reply    = 'K' (set or wait done) | 'V' · value (u32 length, bytes) | 'E' · message
// A get or wait of a key not yet set is answered when some rank sets it. Malformed or
// oversized requests (anything but a rank connecting) close that connection only.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gloo/rendezvous/store.h>

namespace rnn::dist {

class TcpStoreServer {
 public:
  // Binds and listens on addr:port (the address addr resolves to, or every interface when
  // that address is not this machine's); throws std::runtime_error when the port is taken.
  TcpStoreServer(const std::string& addr, int port);
  ~TcpStoreServer();  // stops the thread, closes every connection
  TcpStoreServer(const TcpStoreServer&) = delete;
  TcpStoreServer& operator=(const TcpStoreServer&) = delete;

 private:
  void serve();

  int listen_fd_ = -1;
  int wake_fd_[2] = {-1, -1};  // a pipe: writing to [1] ends serve()
  std::thread thread_;
};

class TcpStore : public gloo::rendezvous::Store {
 public:
  // Connects to the server, retrying until `timeout` (rank 0's server may start later).
  TcpStore(const std::string& addr, int port, std::chrono::milliseconds timeout);
  ~TcpStore() override;

  void set(const std::string& key, const std::vector<char>& data) override;
  std::vector<char> get(const std::string& key) override;
  void wait(const std::vector<std::string>& keys) override;
  void wait(const std::vector<std::string>& keys, const std::chrono::milliseconds& timeout) override;

 private:
  // Sends a request and reads its reply before `deadline`; returns the reply's value. `timeout`
  // is the whole wait the caller was given, for the message when the deadline passes.
  std::vector<char> request(char op, const std::string& key, const std::vector<char>* value,
                            std::chrono::steady_clock::time_point deadline, std::chrono::milliseconds timeout);

  int fd_ = -1;
  std::string where_;  // "127.0.0.1:29500", for messages
  std::chrono::milliseconds timeout_;
};

// What the store's keys mean, for a timeout's message: Gloo's rendezvous sets "rank_<r>" when
// rank r arrives and "<r>" with its addresses; a wait on either names the rank that is late.
std::string describe_key(const std::string& key);

}  // namespace rnn::dist
