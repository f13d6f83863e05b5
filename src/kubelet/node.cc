#include "kubelet/node.h"

#include <chrono>
#include <filesystem>

#include "common/log.h"
#include "kubelet/server.h"

namespace keelson::kubelet {
namespace {

namespace fs = std::filesystem;

class NodeImpl final : public Node {
 public:
  ~NodeImpl() override { Stop(); }

  Kubelet* kubelet() override { return kubelet_.get(); }
  cri::Runtime* runtime() override { return runtime_.get(); }
  std::string RuntimeEndpoint() const override { return endpoint_; }
  int KubeletPort() const override { return server_ ? server_->port() : 0; }
  void Stop() override {
    if (kubelet_) kubelet_->Stop();
    if (server_) server_->Stop();
  }

  std::unique_ptr<containerd::ContainerdSupervisor> supervisor_;
  std::string endpoint_;
  std::unique_ptr<cri::Runtime> runtime_;
  std::unique_ptr<KubeletServer> server_;  // uses runtime_
  std::unique_ptr<Kubelet> kubelet_;
};

// The API server's token keys, fetched through the kubelet's client.
JwksFetcher FetchJwks(client::RestClient* client) {
  return [client]() -> Result<std::string> {
    api::HttpRequest req;
    req.method = "GET";
    req.target = "/openid/v1/jwks";
    req.path = req.target;
    req.headers.emplace_back("accept", "application/jwk-set+json, application/json");
    auto resp = client->Do(std::move(req));
    if (!resp.ok())
      return UnavailableError("fetching the API server's keys: " +
                              resp.error().ToStatus().message());
    if (resp->status != 200)
      return UnavailableError("fetching the API server's keys: HTTP " +
                              std::to_string(resp->status));
    return std::move(resp->body);
  };
}

// The archives named by `paths`: files as they are, directories' *.tar files in
// name order.
Result<std::vector<std::string>> Archives(const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  for (const auto& p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<std::string> found;
      for (const auto& e : fs::directory_iterator(p, ec)) {
        if (e.is_regular_file() && e.path().extension() == ".tar") found.push_back(e.path());
      }
      std::sort(found.begin(), found.end());
      out.insert(out.end(), found.begin(), found.end());
    } else if (fs::is_regular_file(p, ec)) {
      out.push_back(p);
    } else {
      return NotFoundError("image archive " + p + " does not exist");
    }
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<Node>> Node::Start(client::RestClient* client, NodeOptions options) {
  auto node = std::make_unique<NodeImpl>();
  auto archives = Archives(options.image_archives);
  if (!archives.ok()) return archives.status();
  std::string ctr = "ctr";
  if (options.container_runtime_endpoint.empty()) {
    options.containerd.data_dir = options.kubelet.data_dir;
    if (options.kubelet.cni_conf_dir.empty()) {
      options.kubelet.cni_conf_dir = options.kubelet.data_dir + "/containerd/net.d";
    }
    options.containerd.cni_conf_dir = options.kubelet.cni_conf_dir;
    auto sup = containerd::ContainerdSupervisor::Start(options.containerd);
    if (!sup.ok()) return sup.status();
    node->supervisor_ = std::move(*sup);
    node->endpoint_ = node->supervisor_->Endpoint();
    ctr = node->supervisor_->CtrBinary();
  } else {
    node->endpoint_ = options.container_runtime_endpoint;
  }
  containerd::CtrOptions co;
  co.ctr_binary = ctr;
  for (const auto& a : *archives) {
    auto s = containerd::ImportImages(node->endpoint_, a, co);
    if (!s.ok()) {
      LogWarning("kubelet", "importing " + a + ": " + s.message());
    } else {
      LogInfo("kubelet", "imported images of " + a);
    }
  }
  cri::GrpcRuntimeOptions ro;
  ro.endpoint = node->endpoint_;
  node->runtime_ = cri::NewGrpcRuntime(ro);
  auto version = node->runtime_->Version();
  if (!version.ok()) {
    return UnavailableError("container runtime at " + node->endpoint_ + ": " +
                            version.status().message());
  }
  KubeletServerOptions so;
  so.address = options.address;
  so.port = options.kubelet.kubelet_port;
  auto server = KubeletServer::Start(
      so, node->runtime_.get(),
      std::shared_ptr<RequestAuthenticator>(NewApiServerTokenAuthenticator(FetchJwks(client))));
  if (!server.ok()) return UnavailableError("the kubelet's server: " + server.status().message());
  node->server_ = std::move(*server);
  options.kubelet.kubelet_port = node->server_->port();
  auto k = Kubelet::Start(client, node->runtime_.get(), std::move(options.kubelet));
  if (!k.ok()) return k.status();
  node->kubelet_ = std::move(*k);
  return std::unique_ptr<Node>(std::move(node));
}

}  // namespace keelson::kubelet
