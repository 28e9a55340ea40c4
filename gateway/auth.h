/*
 * Tenant API keys: a per-thread cache of key -> tenant with a short TTL, so
 * an ingest request costs one Redis round trip in steady state. A miss costs
 * one HGET of the hashed key (keys are stored as SHA-256, never in clear).
 * A revoked key keeps working for at most SG_AUTH_TTL_MS on a gateway that
 * had it cached.
 */
#ifndef SALESGATE_GATEWAY_AUTH_H
#define SALESGATE_GATEWAY_AUTH_H

#include <stddef.h>

struct sg_auth_cache;
struct sg_req;

#define SG_AUTH_TTL_MS 10000
#define SG_AUTH_NEGATIVE_TTL_MS 1000

typedef void (*sg_auth_next)(struct sg_req *r);

/* Creates an empty cache. Returns NULL on ENOMEM. */
struct sg_auth_cache *auth_cache_create(void);

/* Frees the cache. Accepts NULL. */
void auth_cache_destroy(struct sg_auth_cache *c);

/*
 * Resolves key (NULL when the client sent none) to r->tenant, then calls
 * next(r). On failure replies itself: 401 for a missing or unknown key,
 * 503 when Redis cannot be asked.
 */
void auth_tenant(struct sg_req *r, const char *key, sg_auth_next next);

/* Constant-time comparison of the admin bearer token. Returns 1 when equal. */
int auth_admin_ok(struct sg_req *r);

#endif
