/*
 * Rollups: the HINCRBY ops an event adds to the hour/day/month hashes of
 * every dimension (common/keys.h: sg:{t}:r:<g>:<dim>:<val>:<per>, field
 * "<bucket>|<currency>|<measure>"). Three flat tables drive it
 * (granularities, dimensions, measures): a new dimension (device,
 * merchant, geo cell) or measure is one entry in rollup.c.
 */
#ifndef SALESGATE_WORKER_ROLLUP_H
#define SALESGATE_WORKER_ROLLUP_H

#include <stdint.h>

struct sg_event;
struct sg_plan;

/*
 * Adds the rollup ops of ev (borrowed) to p. Zero deltas add nothing.
 * Returns 0, SG_ENOMEM, or SG_ETOOLARGE when a key does not fit.
 */
int rollup_build(struct sg_plan *p, const struct sg_event *ev);

/*
 * Sign an event kind applies to amounts: +1 for a sale (PURCHASE, UPSERT),
 * -1 for a refund (RETURN, REVERSAL), 0 for anything else.
 */
int rollup_kind_sign(const struct sg_event *ev);

/*
 * The event's paid amount: ev->total when present, else the sum of its line
 * totals (saturating).
 */
int64_t rollup_event_amount(const struct sg_event *ev);

/*
 * Signed amount the event adds to net figures: +amount for a sale,
 * -|amount| for a refund, 0 otherwise.
 */
int64_t rollup_event_net(const struct sg_event *ev);

/* The event's currency, or "XXX" (ISO 4217 "no currency") when it has none. */
const char *rollup_currency(const struct sg_event *ev);

#endif
