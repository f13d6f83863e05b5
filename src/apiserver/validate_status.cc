// Status validation of a status subresource write (upstream's Validate*StatusUpdate): counts,
// conditions, addresses and quantities of the new status. The spec is not checked again: it
// has not changed, and an object stored under older rules must keep getting status updates.
#include <boost/json.hpp>

#include <set>

#include "apiserver/validate_kinds.h"

namespace keelson::apiserver::validation {
namespace {

int64_t IntOf(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_int64() ? v->as_int64() : 0;
}

void NonNegativeCounts(const json::object& st, std::initializer_list<const char*> fields,
                       Causes* out) {
  for (const char* f : fields) NonNegative(st, f, Child("status", f), out);
}

// `field` may not exceed `limit` (status.replicas, status.readyReplicas).
void AtMost(const json::object& st, const char* field, const char* limit,
            std::string_view detail, Causes* out) {
  if (IntOf(st, field) > IntOf(st, limit)) {
    Invalid(out, Child("status", field), std::to_string(IntOf(st, field)), detail);
  }
}

void ReplicaSetLike(const json::object& st, Causes* out) {
  NonNegativeCounts(st, {"replicas", "fullyLabeledReplicas", "readyReplicas",
                         "availableReplicas", "observedGeneration"}, out);
  constexpr std::string_view kMsg = "cannot be greater than status.replicas";
  AtMost(st, "fullyLabeledReplicas", "replicas", kMsg, out);
  AtMost(st, "readyReplicas", "replicas", kMsg, out);
  AtMost(st, "availableReplicas", "replicas", kMsg, out);
  AtMost(st, "availableReplicas", "readyReplicas", "cannot be greater than readyReplicas", out);
}

void Deployment(const json::object& st, const json::object* old_st, Causes* out) {
  NonNegativeCounts(st, {"observedGeneration", "replicas", "updatedReplicas", "readyReplicas",
                         "availableReplicas", "unavailableReplicas", "terminatingReplicas",
                         "collisionCount"}, out);
  constexpr std::string_view kMsg = "cannot be greater than status.replicas";
  AtMost(st, "updatedReplicas", "replicas", kMsg, out);
  AtMost(st, "readyReplicas", "replicas", kMsg, out);
  AtMost(st, "availableReplicas", "replicas", kMsg, out);
  AtMost(st, "availableReplicas", "readyReplicas", "cannot be greater than readyReplicas", out);
  const auto* now = st.if_contains("collisionCount");
  const auto* was = old_st ? old_st->if_contains("collisionCount") : nullptr;
  if (now != nullptr && was != nullptr && now->is_int64() && was->is_int64() &&
      now->as_int64() < was->as_int64()) {
    Invalid(out, "status.collisionCount", std::to_string(now->as_int64()),
            "cannot be decremented");
  }
}

void StatefulSet(const json::object& st, Causes* out) {
  NonNegativeCounts(st, {"replicas", "readyReplicas", "currentReplicas", "updatedReplicas",
                         "availableReplicas", "observedGeneration", "collisionCount"}, out);
  constexpr std::string_view kMsg = "cannot be greater than status.replicas";
  AtMost(st, "readyReplicas", "replicas", kMsg, out);
  AtMost(st, "currentReplicas", "replicas", kMsg, out);
  AtMost(st, "updatedReplicas", "replicas", kMsg, out);
  AtMost(st, "availableReplicas", "replicas", kMsg, out);
  AtMost(st, "availableReplicas", "readyReplicas", "cannot be greater than status.readyReplicas",
         out);
}

// metav1.Condition lists (ValidateConditions): PodDisruptionBudget status.
void MetaConditions(const json::object& st, Causes* out) {
  const auto* conds = AsArray(st.if_contains("conditions"));
  if (conds == nullptr) return;
  std::set<std::string> types;
  for (size_t i = 0; i < conds->size(); ++i) {
    const auto* c = AsObject(&(*conds)[i]);
    if (c == nullptr) continue;
    std::string p = Index("status.conditions", i);
    std::string type = Str(*c, "type");
    if (!types.insert(type).second) Duplicate(out, p + ".type", api::GoQuote(type));
    QualifiedName(type, p + ".type", out);
    std::string status = Str(*c, "status");
    if (status != "True" && status != "False" && status != "Unknown") {
      NotSupportedValue(out, p + ".status", status, {"False", "True", "Unknown"});
    }
    if (IntOf(*c, "observedGeneration") < 0) {
      Invalid(out, p + ".observedGeneration", std::to_string(IntOf(*c, "observedGeneration")),
              "must be greater than or equal to zero");
    }
    if (Str(*c, "lastTransitionTime").empty()) {
      Required(out, p + ".lastTransitionTime", "must be set");
    }
    std::string reason = Str(*c, "reason");
    if (reason.empty()) {
      Required(out, p + ".reason", "must be set");
    } else {
      // [A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?
      auto word = [](char ch) { return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_'; };
      bool ok = std::isalpha(static_cast<unsigned char>(reason.front())) && word(reason.back());
      for (char ch : reason) ok = ok && (word(ch) || ch == ',' || ch == ':');
      if (!ok) {
        InvalidString(out, p + ".reason", reason,
                      "a condition reason must start with alphabetic character, optionally "
                      "followed by a string of alphanumeric characters or '_,:', and must end "
                      "with an alphanumeric character or '_' (e.g. 'my_name',  or 'MY_NAME',  "
                      "or 'MyName',  or 'ReasonA,ReasonB',  or 'ReasonA:ReasonB', regex used "
                      "for validation is '[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?')");
      }
      if (reason.size() > 1024) {
        out->emplace_back(p + ".reason", "Too long: may not be more than 1024 bytes");
      }
    }
    if (Str(*c, "message").size() > 32 * 1024) {
      out->emplace_back(p + ".message", "Too long: may not be more than 32768 bytes");
    }
  }
}

void Job(const json::object& st, Causes* out) {
  NonNegativeCounts(st, {"active", "succeeded", "failed", "ready", "terminating"}, out);
  const auto* uncounted = AsObject(st.if_contains("uncountedTerminatedPods"));
  if (uncounted == nullptr) return;
  std::set<std::string> seen;
  for (const char* list : {"succeeded", "failed"}) {
    const auto* uids = AsArray(uncounted->if_contains(list));
    for (size_t i = 0; uids != nullptr && i < uids->size(); ++i) {
      std::string uid = Str(&(*uids)[i]);
      std::string p = Index(std::string("status.uncountedTerminatedPods.") + list, i);
      if (uid.empty()) {
        InvalidString(out, p, uid, "must not be empty");
      } else if (!seen.insert(uid).second) {
        Duplicate(out, p, api::GoQuote(uid));
      }
    }
  }
}

void IPList(const json::object& st, const char* list, Causes* out) {
  const auto* ips = AsArray(st.if_contains(list));
  if (ips == nullptr) return;
  std::set<std::string> seen;
  for (size_t i = 0; i < ips->size(); ++i) {
    const auto* e = AsObject(&(*ips)[i]);
    if (e == nullptr) continue;
    std::string ip = Str(*e, "ip");
    std::string p = Index(Child("status", list), i) + ".ip";
    if (!IsIP(ip)) {
      InvalidString(out, p, ip, "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)");
    } else if (!seen.insert(ip).second) {
      Duplicate(out, p, api::GoQuote(ip));
    }
  }
}

void Pod(const json::object& st, const json::object* old_st, Causes* out) {
  std::string nominated = Str(st, "nominatedNodeName");
  if (!nominated.empty() && (old_st == nullptr || Str(*old_st, "nominatedNodeName") != nominated)) {
    for (const auto& m : api::NameIsDNSSubdomain(nominated, false)) {
      InvalidString(out, "status.nominatedNodeName", nominated, m);
    }
  }
  IPList(st, "podIPs", out);
  IPList(st, "hostIPs", out);
}

void Node(const json::object& st, Causes* out) {
  for (const char* list : {"capacity", "allocatable"}) {
    const auto* m = AsObject(st.if_contains(list));
    if (m == nullptr) continue;
    for (const auto& [k, v] : *m) {
      // Upstream builds these paths as children, not keys: status.capacity.cpu.
      std::string p = std::string("status.") + list + "." + std::string(k);
      std::string q = Str(&v);
      if (auto sign = QuantitySign(q); sign && *sign < 0) {
        InvalidString(out, p, q, "must be greater than or equal to 0");
      }
    }
  }
  if (const auto* addrs = AsArray(st.if_contains("addresses"))) {
    std::set<std::pair<std::string, std::string>> seen;
    for (size_t i = 0; i < addrs->size(); ++i) {
      const auto* a = AsObject(&(*addrs)[i]);
      if (a == nullptr) continue;
      std::string type = Str(*a, "type"), address = Str(*a, "address");
      if (!seen.emplace(type, address).second) {
        Duplicate(out, Index("status.addresses", i),
                  "core.NodeAddress{Type:" + api::GoQuote(type) +
                      ", Address:" + api::GoQuote(address) + "}");
      }
    }
  }
}

}  // namespace

namespace {

// The status of `c.obj` and of the stored object, when there is one.
const json::object* NewStatus(const Check& c) { return ObjectAt(c.obj, {"status"}); }
const json::object* OldStatus(const Check& c) {
  return c.old ? ObjectAt(*c.old, {"status"}) : nullptr;
}

}  // namespace

void DeploymentStatus(const Check& c) {
  if (const auto* st = NewStatus(c)) Deployment(*st, OldStatus(c), c.out);
}

void ReplicaSetStatus(const Check& c) {
  if (const auto* st = NewStatus(c)) ReplicaSetLike(*st, c.out);
}

void StatefulSetStatus(const Check& c) {
  if (const auto* st = NewStatus(c)) StatefulSet(*st, c.out);
}

void DaemonSetStatus(const Check& c) {
  if (const auto* st = NewStatus(c)) {
    NonNegativeCounts(*st, {"currentNumberScheduled", "numberMisscheduled",
                            "desiredNumberScheduled", "numberReady", "observedGeneration",
                            "updatedNumberScheduled", "numberAvailable", "numberUnavailable",
                            "collisionCount"}, c.out);
  }
}

void JobStatus(const Check& c) {
  if (const auto* st = NewStatus(c)) Job(*st, c.out);
}

void PodDisruptionBudgetStatus(const Check& c) {
  if (const auto* st = NewStatus(c)) {
    MetaConditions(*st, c.out);
    NonNegativeCounts(*st, {"disruptionsAllowed", "currentHealthy", "desiredHealthy",
                            "expectedPods"}, c.out);
  }
}

void PodStatus(const Check& c) {
  if (const auto* st = NewStatus(c)) Pod(*st, OldStatus(c), c.out);
}

void NodeStatus(const Check& c) {
  if (const auto* st = NewStatus(c)) Node(*st, c.out);
}

void ResourceQuotaStatus(const Check& c) {
  if (NewStatus(c) != nullptr) ResourceQuotaStatus(c.obj, c.out);
}

}  // namespace keelson::apiserver::validation
