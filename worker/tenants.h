/*
 * The tenants the worker consumes: the members of sg:tenants, each with its
 * stream key and the id this consumer reads it from next (its own pending
 * entries from "0" first, then ">" for new ones).
 */
#ifndef SALESGATE_WORKER_TENANTS_H
#define SALESGATE_WORKER_TENANTS_H

#include <stddef.h>

#include "keys.h"

struct sg_rconn;

#define SG_STREAM_ID_MAX 48 /* "<ms>-<seq>" with NUL */

struct sg_tenant {
	char id[SG_TENANT_MAX + 1];    /* tenant id */
	char stream[SG_KEY_MAX];       /* sg:{t}:stream */
	char cursor[SG_STREAM_ID_MAX]; /* XREADGROUP id: ">" or the last pending id read */
};

struct sg_tenants {
	struct sg_tenant *v; /* tenants, in registry order of discovery */
	size_t n;            /* tenants used */
	size_t cap;          /* tenants allocated */
};

/* Prepares an empty list; allocates nothing. */
void tenants_init(struct sg_tenants *t);

/* Frees the list. Accepts NULL. */
void tenants_finish(struct sg_tenants *t);

/*
 * Reads SMEMBERS sg:tenants: adds the new tenants (creating the consumer
 * group with MKSTREAM at id 0; BUSYGROUP is fine) with cursor "0", and
 * drops the ones no longer registered. Invalid ids are logged and skipped.
 * Returns 0, or SG_EUNAVAIL when Redis failed (list left as it was).
 */
int tenants_refresh(struct sg_tenants *t, struct sg_rconn *rc);

/* Creates the consumer group of tenant t (BUSYGROUP is fine). Returns 0 or SG_EUNAVAIL. */
int tenants_create_group(struct sg_rconn *rc, const struct sg_tenant *t);

/* Sets every cursor to "0": read own pending entries again (after a reconnect). */
void tenants_rewind(struct sg_tenants *t);

/* The tenant whose stream key is name (len bytes), or NULL. */
struct sg_tenant *tenants_by_stream(struct sg_tenants *t, const char *name, size_t len);

#endif
