#include "controllers/controller.h"

#include <set>

namespace keelson::controllers {

client::SharedInformer* ControllerContext::Informer(std::string_view group,
                                                    std::string_view resource) {
  auto informer = informers_->InformerFor(group, resource);
  // Controllers ask for built-in resources only: an unknown one is a programming error.
  if (!informer.ok()) return nullptr;
  return *informer;
}

client::EventRecorder* ControllerContext::Recorder(const std::string& component) {
  std::lock_guard lock(mu_);
  auto& recorder = recorders_[component];
  if (!recorder) {
    client::EventRecorderOptions o;
    o.reporting_controller = component;
    o.clock = clock_;
    recorder = std::make_unique<client::EventRecorder>(client_, std::move(o));
  }
  return recorder.get();
}

void ControllerContext::Shutdown() {
  std::lock_guard lock(mu_);
  for (auto& [name, recorder] : recorders_) recorder->Shutdown();
}

Result<std::vector<std::string>> SelectControllers(const std::vector<std::string>& flag,
                                                   const std::vector<ControllerDescriptor>& known) {
  // Aliases to names; every entry must name a known controller.
  std::vector<std::string> entries;
  for (const std::string& raw : flag) {
    if (raw == "*") {
      entries.push_back(raw);
      continue;
    }
    bool negated = !raw.empty() && raw[0] == '-';
    std::string name = negated ? raw.substr(1) : raw;
    const ControllerDescriptor* found = nullptr;
    for (const auto& d : known) {
      if (d.name == name) found = &d;
      for (const auto& a : d.aliases) {
        if (a == name) found = &d;
      }
    }
    if (!found) {
      return InvalidArgumentError("\"" + name + "\" is not in the list of known controllers");
    }
    entries.push_back((negated ? "-" : "") + found->name);
  }
  std::vector<std::string> selected;
  for (const auto& d : known) {
    // The first entry that names the controller decides; otherwise "*" enables the
    // controllers that are on by default.
    bool star = false, decided = false, enabled = false;
    for (const auto& e : entries) {
      if (e == d.name || e == "-" + d.name) {
        decided = true;
        enabled = e == d.name;
        break;
      }
      if (e == "*") star = true;
    }
    if (!decided) enabled = star && d.enabled_by_default;
    if (enabled) selected.push_back(d.name);
  }
  return selected;
}

}  // namespace keelson::controllers
