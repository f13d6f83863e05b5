// The garbage collector: deletes objects whose owners are gone, and carries out foreground
// and orphan deletions (upstream's pkg/controller/garbagecollector).
//
// The graph. Every resource the server's discovery lists that can be listed, watched and
// deleted (events excepted) has an informer; each object is a node keyed by uid, linked to
// the owners its metadata.ownerReferences name. An owner not (yet) seen is a virtual node,
// checked against the API. One thread applies the informers' changes to the graph, in order,
// and queues work:
//   - attempt-to-delete (uid): a dependent whose owner went, or whose owner is being deleted
//     in the foreground; an owner in the foreground whose blocking dependents changed; a
//     virtual owner to verify;
//   - attempt-to-orphan (uid): an owner being deleted with the `orphan` finalizer.
//
// Attempt to delete a dependent: its owners are classified as solid (exist), dangling (gone:
// not in the graph and confirmed absent by a GET, remembered in a cache of absent uids), or
// waiting (being deleted in the foreground). With a solid owner, dangling and waiting
// references are removed from it; with owners only waiting, it is deleted in the foreground
// when it has dependents of its own (else in the background); with no owner left it is
// deleted, propagating as its own finalizers say. Deletes carry the object's uid and
// resourceVersion as preconditions, so a decision made on the informer's copy never deletes
// an object that changed meanwhile (upstream reads the object again instead; a conflict here
// requeues it).
//
// An owner in the foreground (foregroundDeletion finalizer) has its dependents deleted and
// loses the finalizer once no dependent with blockOwnerDeletion is left; the API server then
// removes it. An owner with the `orphan` finalizer has its reference removed from every
// dependent, then loses the finalizer.
//
// Threads: the graph thread, --concurrent-gc-syncs attempt-to-delete workers, and as many
// orphan workers (at most 4).
#pragma once

#include <memory>

#include "controllers/controller.h"

namespace keelson::controllers {

Result<std::unique_ptr<Controller>> NewGarbageCollector(ControllerContext& ctx);

}  // namespace keelson::controllers
