#include "test/util/keelson_server.h"

#include <fstream>
#include <iterator>
#include <thread>

namespace keelson::testing {

KeelsonServer::KeelsonServer(std::string binary, std::vector<std::string> extra_flags,
                             bool local_node)
    : binary_(std::move(binary)), extra_flags_(std::move(extra_flags)), local_node_(local_node) {}

KeelsonServer::~KeelsonServer() {
  if (!local_node_) return;
  process_.Signal(SIGTERM);
  RunCommand({KEELSON_SOURCE_DIR "/scripts/node-cleanup.sh", (dir_.path() / "data/agent").string(),
              "--bridge", "keelson0"},
             "", std::chrono::seconds(60));
}

std::string KeelsonServer::log() const {
  std::string out;
  for (const char* f : {"stdout", "stderr"}) {
    std::ifstream in(dir_.path() / f);
    out += std::string((std::istreambuf_iterator<char>(in)), {});
  }
  return out;
}

Status KeelsonServer::Start() {
  if (port_ == 0) port_ = FreePort();
  std::vector<std::string> argv = {binary_,      "server",
                                   "--data-dir", (dir_.path() / "data").string(),
                                   "--port",     std::to_string(port_)};
  if (!local_node_) argv.push_back("--disable-agent");
  argv.insert(argv.end(), extra_flags_.begin(), extra_flags_.end());
  KEELSON_RETURN_IF_ERROR(process_.Start(argv, dir_.path() / "stdout", dir_.path() / "stderr"));
  for (int i = 0; i < 500; ++i) {
    std::ifstream in(dir_.path() / "stdout");
    std::string out((std::istreambuf_iterator<char>(in)), {});
    if (out.find("kubeconfig written to") != std::string::npos) return Status::Ok();
    if (!process_.running()) return InternalError("keelson server exited: " + log());
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return UnavailableError("keelson server did not start: " + log());
}

}  // namespace keelson::testing
