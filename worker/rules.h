/*
 * Profile and product rules of one event, as plan ops (see plan.h):
 *  - light profile auto-create (HSETNX external_id, created_at, light=1)
 *    when the event names both a prof_ id and the sender's customer id;
 *  - profile purchase stats: first/last_purchase_at, orders, net:<CUR>;
 *  - product records: external_id, sku, ean, name, properties, first/last
 *    seen, and membership of sg:{t}:products.
 */
#ifndef SALESGATE_WORKER_RULES_H
#define SALESGATE_WORKER_RULES_H

struct sg_event;
struct sg_plan;

/*
 * Adds the profile ops of ev (borrowed) to p. The orders and net:<CUR>
 * counters are SG_OP_INCR ops, so an UPSERT can replace them like rollups.
 * Returns 0, SG_ENOMEM or SG_ETOOLARGE.
 */
int rules_profile(struct sg_plan *p, const struct sg_event *ev);

/*
 * Adds the product ops of every line with a product (the first line of a
 * product speaks for the event). Descriptive fields (sku, ean, name,
 * properties) follow "newest occurred wins": set when the event's
 * occurred_ms >= the stored last_seen, else only filled when missing.
 * Returns 0, SG_ENOMEM or SG_ETOOLARGE.
 */
int rules_products(struct sg_plan *p, const struct sg_event *ev);

#endif
