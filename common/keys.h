/*
 * Redis key layout. Every key of a tenant carries the hash tag "{<tenant>}"
 * so that every script touches one slot and runs unchanged on Redis Cluster.
 *
 *   sg:tenants                      set of tenant ids (global)
 *   sg:apikey:<sha256 hex>          hash tenant, label, created_at (global)
 *   sg:{t}:tenant                   hash timezone, default_currency, created_at
 *   sg:{t}:store:<store_id>         hash external_id, name, timezone, address, lat, lon, ...
 *   sg:{t}:profile:<prof_id>        hash profile fields + purchase stats
 *   sg:{t}:profile_email            hash email -> prof_id (uniqueness)
 *   sg:{t}:profile_phone            hash phone -> prof_id (uniqueness)
 *   sg:{t}:product:<prod_id>        hash external_id, name, properties, first/last seen
 *   sg:{t}:ev                       hash evt_id -> msgpack event (the stored event)
 *   sg:{t}:evx                      hash external_id -> evt_id (dedupe)
 *   sg:{t}:idem:<key>               hash h (body sha256), s (status), e (evt_id); 24 h TTL
 *   sg:{t}:seq                      counter; each accepted event takes the next value
 *   sg:{t}:stream                   stream of accepted events: fields e (msgpack), q (seq)
 *   sg:{t}:applied                  bitmap: bit q set once event q is applied
 *   sg:{t}:contrib                  hash upsert_key -> the rollup deltas last applied for it
 *   sg:{t}:journal                  hash "<unit>:<i>" -> msgpack ops of a chunk staged and
 *                                   not yet applied (worker/journal.c); usually empty
 *   sg:{t}:deadletter               stream: fields id, e, reason, deliveries (an event), or
 *                                   chunk, ops, reason (a journal chunk that failed)
 *   sg:{t}:r:<g>:<dim>:<val>:<per>  rollup hash; g = h|d|m, per = yyyymm (h), yyyy (d),
 *                                   "all" (m); field "<bucket>|<currency>|<measure>",
 *                                   bucket = yyyymmddhh | yyyymmdd | yyyymm (UTC);
 *                                   dim all (val "-") and store: h, d, m; profile
 *                                   and product: h only (reads sum hours); measure
 *                                   g, r, t, rc, u (net = g - r is derived)
 *
 * The consumer group of every tenant stream is SG_GROUP.
 */
#ifndef SALESGATE_COMMON_KEYS_H
#define SALESGATE_COMMON_KEYS_H

#include <stddef.h>

#define SG_GROUP "workers"
#define SG_KEY_MAX 512
#define SG_TENANT_MAX 64 /* longest tenant id */

/*
 * Writes "sg:{<tenant>}:<name>" into out (SG_KEY_MAX bytes). Returns the
 * length, or 0 when it does not fit.
 */
size_t keys_tenant(char *out, size_t outlen, const char *tenant, const char *name);

/* Like keys_tenant with "<name><suffix>" ("profile:" + prof id). */
size_t keys_tenant2(char *out, size_t outlen, const char *tenant, const char *name,
		    const char *suffix);

/*
 * Checks a tenant id: 1-64 chars of [a-z0-9_-], starting with a letter or
 * digit. Returns 1 when valid.
 */
int keys_tenant_valid(const char *tenant);

#endif
