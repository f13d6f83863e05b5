// PluginStatus: what a scheduling framework plugin answers (upstream's framework.Status).
//
// Success is the default and costs nothing to build. Unschedulable means the pod does not fit
// now but might after something changes (preemption may help); UnschedulableAndUnresolvable
// means preemption cannot help on that node; Error aborts the cycle; Skip (PreFilter,
// PreScore) means the plugin has nothing to do for this pod; Wait (Permit) holds the pod;
// Pending means the pod waits on something outside the scheduler. Reasons are the texts that
// go into FailedScheduling ("node(s) were unschedulable"). Value type, cheap to copy,
// thread-compatible.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keelson::scheduler {

enum class Code : unsigned char {
  kSuccess,
  kError,
  kUnschedulable,
  kUnschedulableAndUnresolvable,
  kWait,
  kSkip,
  kPending,
};

std::string_view CodeName(Code code);

class PluginStatus {
 public:
  PluginStatus() = default;
  PluginStatus(Code code, std::string reason)
      : code_(code), reasons_(std::make_shared<const std::vector<std::string>>(
                         std::vector<std::string>{std::move(reason)})) {}
  PluginStatus(Code code, std::vector<std::string> reasons)
      : code_(code),
        reasons_(std::make_shared<const std::vector<std::string>>(std::move(reasons))) {}
  explicit PluginStatus(Code code) : code_(code) {}

  static PluginStatus Skip() { return PluginStatus(Code::kSkip); }

  Code code() const { return code_; }
  bool IsSuccess() const { return code_ == Code::kSuccess; }
  bool IsSkip() const { return code_ == Code::kSkip; }
  bool IsWait() const { return code_ == Code::kWait; }
  // Unschedulable or UnschedulableAndUnresolvable (upstream's IsRejected also counts Pending).
  bool IsRejected() const {
    return code_ == Code::kUnschedulable || code_ == Code::kUnschedulableAndUnresolvable ||
           code_ == Code::kPending;
  }
  const std::vector<std::string>& reasons() const {
    static const std::vector<std::string> kNone;
    return reasons_ ? *reasons_ : kNone;
  }
  // The reasons joined by ", ".
  std::string Message() const;
  // The plugin that answered (set by the framework). A view of the plugin's name, which has
  // static storage (every plugin's Name() does).
  std::string_view plugin() const { return plugin_; }
  PluginStatus&& WithPlugin(std::string_view plugin) && {
    plugin_ = plugin;
    return std::move(*this);
  }
  void SetPlugin(std::string_view plugin) { plugin_ = plugin; }

 private:
  Code code_ = Code::kSuccess;
  // Shared and immutable: copying a status (thousands per failed cycle, one per node) costs a
  // reference count, and plugins can keep their common statuses prebuilt.
  std::shared_ptr<const std::vector<std::string>> reasons_;
  std::string_view plugin_;
};

}  // namespace keelson::scheduler
