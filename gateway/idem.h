/*
 * Idempotency keys being processed by this gateway (all its threads; only
 * requests that carry a key touch it): a second request with the same
 * tenant + key while the first is in flight gets 409 + Retry-After instead
 * of racing it. (Across gateways the ingest script serialises them: the
 * second sees the first's recorded outcome.)
 */
#ifndef SALESGATE_GATEWAY_IDEM_H
#define SALESGATE_GATEWAY_IDEM_H

struct sg_idem_inflight;

/* Creates an empty set. Returns NULL on ENOMEM. */
struct sg_idem_inflight *idem_inflight_create(void);

/* Frees the set. Accepts NULL. */
void idem_inflight_destroy(struct sg_idem_inflight *s);

/* Adds tenant+key. Returns 0, 1 when already present, -1 on ENOMEM. */
int idem_inflight_add(struct sg_idem_inflight *s, const char *tenant, const char *key);

/* Removes tenant+key (no-op when absent). */
void idem_inflight_remove(struct sg_idem_inflight *s, const char *tenant, const char *key);

#endif
