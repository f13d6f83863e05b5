// Strategy: everything that differs between kinds in how the generic registry store
// (registry/store.h) creates, updates, deletes and reads objects, as upstream's registry
// strategies (pkg/registry/<group>/<kind>/strategy.go) hold it. The store is kind-agnostic;
// it asks the strategy of the resource at each step:
//
//   create: Canonicalize -> NameErrors -> PrepareForCreate -> (common checks) -> Validate
//   update: Canonicalize -> PrepareForUpdate -> (common checks) -> ValidateUpdate
//   status: StatusStrategy wraps a kind's strategy: it keeps everything but the status and
//           checks ValidateStatusUpdate
//   delete: GracePeriod (pods), PrepareForDelete when marking for deletion
//   reads:  FieldLabels (field selectors), Printer (Tables)
//
// One strategy per kind (or per group where the rules are the group's), registered in one
// visible list: BuiltInStrategies() in strategies/registry.cc.
//
// Strategies are immutable after construction and thread-safe.
#pragma once

#include <boost/json/object.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/errors.h"
#include "api/object.h"
#include "api/resources.h"
#include "api/schema.h"
#include "apiserver/table.h"

namespace keelson::apiserver {

class Strategy {
 public:
  // `resource` must outlive the strategy (the built-in registry does).
  explicit Strategy(const api::ResourceInfo& resource);
  virtual ~Strategy() = default;
  Strategy(const Strategy&) = delete;
  Strategy& operator=(const Strategy&) = delete;

  const api::ResourceInfo& resource() const { return resource_; }
  // The schema of the kind (null for kinds without one).
  const api::TypeDecl* type() const { return type_; }

  // --- names
  // The problems of `name` as an object name of this kind, or with `prefix` as the
  // generateName it is made from. Default: a DNS-1123 subdomain.
  virtual std::vector<std::string> NameErrors(std::string_view name, bool prefix) const;

  // --- create and update
  // Normalises a decoded object before anything else reads it (a Secret's stringData goes
  // into data).
  virtual void Canonicalize(api::Object* obj) const;
  // Whether metadata.generation counts changes of the spec (1 at create, +1 per change).
  virtual bool TracksGeneration() const { return false; }
  // Whether writes of the main resource leave the status alone (the kind has a status
  // subresource).
  bool HasStatusSubresource() const;

  // --- create
  // What the server sets on a new object besides identity: the kind's initial status
  // (InitialStatus), generation 1, and anything else the kind's strategy owns.
  virtual void PrepareForCreate(api::Object* obj) const;
  // The problems of a new object: what every object meets (ValidateObjectMeta: metadata and
  // the schema's required fields), then the kind's own rules.
  virtual api::FieldCauses Validate(const api::Object& obj) const;

  // --- update
  // Carries what a write of the main resource may not change from `old` (the status, when
  // the kind has a status subresource) and counts the generation.
  virtual void PrepareForUpdate(api::Object* obj, const api::Object& old) const;
  // The problems of `obj` replacing `old`: ValidateObjectMeta (identity unchanged), then the
  // kind's own rules (immutable fields, transitions).
  virtual api::FieldCauses ValidateUpdate(const api::Object& obj, const api::Object& old) const;
  // The kind's rules for a write of the status subresource (counts, conditions, addresses).
  virtual api::FieldCauses ValidateStatusUpdate(const api::Object& obj,
                                                const api::Object& old) const;

  // --- delete
  // How long a deleted object lingers, marked, for someone else to finish the deletion:
  // nullopt (or 0) deletes it at once unless it has finalizers. `requested` is the
  // DeleteOptions' gracePeriodSeconds. Pods bound to a node wait for their kubelet.
  virtual std::optional<int64_t> GracePeriod(const api::Object& obj,
                                             std::optional<int64_t> requested) const;
  // Changes an object gets when it is marked for deletion (a namespace goes Terminating).
  virtual void PrepareForDelete(api::Object* obj) const;
  // What a delete does to the object's dependents when neither the request nor the object's
  // finalizers say (upstream's DefaultGarbageCollectionPolicy): most kinds delete them (in
  // the background); ReplicationControllers and Jobs orphan them, as v1 always has.
  enum class GcPolicy { kDeleteDependents, kOrphanDependents };
  virtual GcPolicy DefaultGcPolicy() const { return GcPolicy::kDeleteDependents; }
  // Whether the kind's own hold on deletion is on (a namespace's spec.finalizers): a delete
  // then only marks the object, which goes once the hold is off and no finalizers remain.
  virtual bool HoldsDeletion(const api::Object&) const { return false; }
  // Whether a delete that removes the object answers with it (upstream's ReturnDeletedObject:
  // pods, services, ...) rather than with a Status Success. An object only marked for deletion
  // is always the answer.
  virtual bool ReturnsDeletedObject() const { return false; }

  // --- reads
  // The field labels a field selector may name besides metadata.name and metadata.namespace
  // (upstream's per-kind field label conversion).
  virtual const std::vector<std::string>& FieldLabels() const;
  // metadata.name, metadata.namespace and FieldLabels(), sorted: what the watch cache indexes.
  std::vector<std::string> SelectableFields() const;
  // A field label lists and watches often ask one value of (pods: spec.nodeName, each
  // kubelet its own), which the watch cache keeps an index of. "" for none.
  virtual std::string IndexedField() const { return ""; }
  // Upstream's Table columns for the kind.
  virtual const TablePrinter& Printer() const;

 protected:
  // The status a new object starts with. Default: the status type's counters at zero.
  virtual api::Object InitialStatus(const api::Object& obj) const;


 private:
  const api::ResourceInfo& resource_;
  const api::TypeDecl* type_;
};

// A kind's strategy as the status subresource uses it: an update changes the status and
// nothing else, and meets the kind's status rules (upstream's <kind>StatusStrategy, which
// embeds the kind's strategy and overrides PrepareForUpdate and ValidateUpdate).
class StatusStrategy final : public Strategy {
 public:
  explicit StatusStrategy(const Strategy& main);

  void Canonicalize(api::Object*) const override {}
  bool TracksGeneration() const override { return main_.TracksGeneration(); }
  void PrepareForUpdate(api::Object* obj, const api::Object& old) const override;
  api::FieldCauses ValidateUpdate(const api::Object& obj, const api::Object& old) const override;
  const std::vector<std::string>& FieldLabels() const override { return main_.FieldLabels(); }
  const TablePrinter& Printer() const override { return main_.Printer(); }

 private:
  const Strategy& main_;
};

// Every strategy, by resource.
class StrategyRegistry {
 public:
  StrategyRegistry() = default;
  StrategyRegistry(StrategyRegistry&&) = default;

  // The strategy of the served resource `r` (by group and resource); null when none is
  // registered.
  const Strategy* Find(const api::ResourceInfo& r) const;
  // `s` serves `served` (its own resource() is the one whose objects it stores).
  void Add(const api::ResourceInfo& served, std::unique_ptr<Strategy> s);

 private:
  std::map<std::pair<std::string, std::string>, std::unique_ptr<Strategy>> by_resource_;
};

// The strategy of every stored resource of `registry` (strategies/registry.cc): the one list.
StrategyRegistry BuiltInStrategies(const api::ResourceRegistry& registry);

// A pod's quality of service class from its containers' (and init containers') cpu and
// memory requests and limits: "Guaranteed", "Burstable" or "BestEffort".
std::string PodQosClass(const api::Object& pod);

// A Secret's stringData is write-only: each of its entries goes into data (base64, over a
// data entry of the same key) and stringData itself is dropped, as upstream converts it.
void MergeSecretStringData(api::Object* secret);

}  // namespace keelson::apiserver
