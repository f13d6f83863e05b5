// The proxy's reach into the node's kernel, behind interfaces so tests can watch and fail
// them: the packet filter (nftables transactions) and the connection tracking table.
//
// Implementations run Debian's `nft` and `conntrack` tools, optionally inside a network
// namespace (`ip netns exec NAME ...`: tests and benchmarks program a namespace of their own).
//
// Thread-safety: the implementations here may be called from any thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace keelson::proxy {

class PacketFilter {
 public:
  virtual ~PacketFilter() = default;
  // Applies `script` (nft's syntax, one command per line) as one transaction: all of it or
  // none. The error carries nft's message.
  [[nodiscard]] virtual Status Apply(const std::string& script) = 0;
  // Whether map (or set) `map` of table `table` (family ip) exists: the proxy's check that
  // its tables are still there. (Asking for one small map costs nft nothing; `nft list
  // tables` reads the whole ruleset first, 6 s at 10,000 Services.) Unavailable when nft
  // cannot be run.
  [[nodiscard]] virtual Result<bool> MapExists(const std::string& table,
                                               const std::string& map) = 0;
  // The table as `nft list table` prints it (for tests and drift checks).
  [[nodiscard]] virtual Result<std::string> ListTable(const std::string& table) = 0;
};

class Conntrack {
 public:
  virtual ~Conntrack() = default;
  // Deletes the flows of `protocol` ("udp", ...) whose original destination is `ip`, and,
  // with `endpoint_ip`, that were DNATed to it. Deleting nothing is not an error.
  [[nodiscard]] virtual Status ClearDestination(const std::string& protocol, const std::string& ip,
                                                const std::string& endpoint_ip) = 0;
  // The same for flows to node port `port` (any local address).
  [[nodiscard]] virtual Status ClearNodePort(const std::string& protocol, int port,
                                             const std::string& endpoint_ip) = 0;
};

struct ToolOptions {
  std::string nft = "nft";
  std::string conntrack = "conntrack";
  // Run the tools in this network namespace (a name under /run/netns); "" for the caller's.
  std::string netns;
};

std::unique_ptr<PacketFilter> NewNftPacketFilter(ToolOptions options);
std::unique_ptr<Conntrack> NewConntrackTool(ToolOptions options);

// Runs `argv` with `input` on its standard input; its exit code and what it wrote to standard
// output and error. Errors: the program cannot be started.
struct CommandResult {
  int exit_code = 0;
  std::string output;
};
Result<CommandResult> RunCommand(const std::vector<std::string>& argv, const std::string& input);
// The same in `options.netns` (through `ip netns exec`) when it names one.
Result<CommandResult> RunTool(const ToolOptions& options, std::vector<std::string> argv,
                              const std::string& input = "");

}  // namespace keelson::proxy
