/*
 * Builds the apply plan of one event: profile and product rules, rollups,
 * and the replacement of an earlier UPSERT of the same record. Pure: it
 * reads nothing from Redis; the caller passes the stored contrib record.
 *
 * UPSERT rule: sg:{t}:contrib[upsert_key] holds
 *   {"q":<seq>,"rm":<received_ms>,"d":[["<key name>","<field>",<delta>],...]}
 * — every HINCRBY (rollups, profile orders/net) the record's current
 * version added. A version replaces the stored one only when it is newer,
 * newer meaning a higher tenant sequence q: q comes from the INCR in the
 * ingest script, so it is the order in which gateways accepted the
 * versions (received order, exact even when gateway clocks disagree and
 * whatever order workers see them in). A newer version sends its deltas
 * minus the stored ones and stores its own; an older one adds no counters
 * (profile/product facts still apply). The script refuses the plan with
 * "stale" when the stored record changed since it was read (compare and
 * set), and the caller reads it again and rebuilds.
 */
#ifndef SALESGATE_WORKER_APPLY_H
#define SALESGATE_WORKER_APPLY_H

#include <stddef.h>
#include <stdint.h>

struct sg_error;
struct sg_event;
struct sg_plan;

/* Whether ev replaces an earlier version (UPSERT with an upsert key). */
int apply_is_upsert(const struct sg_event *ev);

/*
 * Fills p with the plan of ev (borrowed) of tenant, tenant sequence q.
 * contrib / contrib_len: the stored contrib record of ev's upsert key as
 * read from Redis (NULL when none; ignored unless apply_is_upsert). Returns
 * 0, or SG_EINVAL (bad tenant, corrupt contrib record; err says which),
 * SG_ETOOLARGE (a key over SG_KEY_MAX) or SG_ENOMEM.
 */
int apply_build(struct sg_plan *p, const struct sg_event *ev, const char *tenant, int64_t q,
                const char *contrib, size_t contrib_len, struct sg_error *err);

#endif
