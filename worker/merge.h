/*
 * Merging the apply plans of consecutive events of one tenant into one batch
 * plan: one EVALSHA (apply.lua "batch" mode) that leaves Redis exactly as
 * applying the events one by one, in the order they were added, would.
 * Pure: reads nothing from Redis.
 *
 * Per key+field over the merged events (plan.h op codes):
 *   I  the deltas summed. Sent even when the sum is 0: one by one, +x then
 *      -x leaves the field at "0", and HINCRBY 0 creates it the same way.
 *   N  the first value (HSETNX: the first one lands, the others find it set).
 *   L  the lowest value, G the greatest; of equal values the first (a later
 *      equal value does not replace the stored one).
 *   S  each member once.
 *   W / C  "newest wins" (rules.c: W last_seen v, C sku/ean/name/properties,
 *      N of the same fields, then G last_seen v). One by one, an event's C
 *      lands when v >= the guard field's stored value, which is the greatest
 *      of what was stored before the batch and of the G values of the earlier
 *      events. Call an event "relatively guarded" when v >= the G values of
 *      the earlier merged events: its guard holds one by one iff, in
 *      addition, v >= the value stored before the batch. Relatively guarded
 *      events have non-decreasing v (merge_add checks it), so the events
 *      whose guard holds are a tail of them, and the last write of field f is
 *      by r_f, the last relatively guarded event carrying f, if its guard
 *      holds. The batch plan sends, per f, W(v of r_f) C(f, value of r_f)
 *      before every G of the guard field; equal v go to the later event (the
 *      guard holds on >=). When no guard holds, f keeps its stored value or
 *      the first N fills it: the same as one by one.
 * Ops on different key+fields do not interact except W, which reads the
 * guard field before the G ops write it. The plan sends the ops key by key
 * (one msgpack group per key and code, plan.h), in each key a guard field's
 * W / C groups and then its G first, then the other classes.
 *
 * Events with an upsert key and plans of another shape than the rules make
 * (mixed classes on one field, C without W on its key, two W on one key,
 * non-integer or beyond 2^53 L/G/W values) are refused (apply them alone).
 */
#ifndef SALESGATE_WORKER_MERGE_H
#define SALESGATE_WORKER_MERGE_H

#include <stddef.h>
#include <stdint.h>

#include "plan.h"

#define SG_MERGE_MAX_OPS 20000 /* a cap of a merged plan's ops (the worker passes its own) */

struct sg_merge_entry;

/* A slot of the (key, field) table. */
struct sg_merge_slot {
	uint32_t entry; /* entry index + 1; 0: empty */
	uint32_t hash;  /* hash of (key, field): most probes end without a strcmp */
};

struct sg_merge {
	struct sg_plan plan;         /* the batch plan: keys and strings now, ops at merge_build */
	struct sg_merge_entry *e;    /* merged ops, one per key+field, first occurrence order */
	size_t ne;                   /* entries used */
	size_t e_cap;                /* entries allocated */
	struct sg_merge_slot *slots; /* open addressing on (key, field) */
	size_t slots_cap;            /* power of two */
	size_t nevents;              /* events merged */
	size_t bound;                /* ops the plan will have at most */
	size_t max_ops;              /* refuse an event that could take bound above it */
	int *kmap;                   /* merge_add scratch: batch key of each event key, -1 new */
	size_t kmap_cap;             /* entries allocated in kmap */
	int32_t *oent;               /* merge_add scratch: entry of each event op, -1 new */
	size_t oent_cap;             /* entries allocated in oent */
	uint32_t *order;             /* merge_build scratch: entries by key and class */
	size_t order_cap;            /* entries allocated in order */
	uint32_t *bucket;            /* merge_build scratch: counting sort buckets */
	size_t bucket_cap;           /* entries allocated in bucket */
	uint64_t *qslots;            /* open addressing on the merged q's: q + 1, 0 = empty */
	size_t qslots_cap;           /* power of two, 0 before the first event */
};

/* Prepares an empty merge with a cap of max_ops ops per batch plan; allocates nothing. */
void merge_init(struct sg_merge *m, size_t max_ops);

/* Frees everything the merge holds. Accepts NULL. */
void merge_finish(struct sg_merge *m);

/*
 * Empties the merge for a batch of tenant's events (copied). Returns 0, or
 * SG_EINVAL when the tenant id is invalid.
 */
int merge_reset(struct sg_merge *m, const char *tenant);

/*
 * Adds the plan of one event (borrowed; apply_build's, of the merge's
 * tenant). Returns
 *   0             merged;
 *   SG_ECONFLICT  not merged, the merge is unchanged: the event cannot join
 *                 these events (the op cap, its q already merged, or a
 *                 key+field the earlier events use another way): send the
 *                 batch and start the next one with it;
 *   SG_EINVAL     not merged, unchanged: the plan cannot be merged at all
 *                 (an upsert, another tenant, or a shape apply.lua's one-by-
 *                 one semantics would not match): apply it alone;
 *   SG_ENOMEM     out of memory; the merge must be reset before reuse.
 */
int merge_add(struct sg_merge *m, const struct sg_plan *ev);

/* Number of events merged since the last merge_reset. */
size_t merge_events(const struct sg_merge *m);

/*
 * Writes the ops of the batch plan and returns it (owned by m, valid until
 * the next change to m), ready for plan_argv. NULL when out of memory or
 * when no event was merged.
 */
struct sg_plan *merge_build(struct sg_merge *m);

#endif
