/* Canonical ids from references: a prefixed id as is, anything else derived. */
#ifndef SALESGATE_GATEWAY_REFS_H
#define SALESGATE_GATEWAY_REFS_H

struct sg_req;

/*
 * Resolves ref against prefix ("store_", "prof_", "prod_"): a ref that
 * starts with prefix is already canonical; any other ref is an external id
 * and maps to ids_derived(prefix, tenant, ref). Returns an arena string
 * (NULL on ENOMEM); *is_external tells which case applied (may be NULL).
 */
const char *refs_resolve(struct sg_req *r, const char *prefix, const char *ref, int *is_external);

/* 1 when s starts with a prefix reserved for canonical ids (evt_, prof_, store_, prod_). */
int refs_reserved(const char *s);

#endif
