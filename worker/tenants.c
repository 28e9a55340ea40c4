/* Tenant registry of the worker. */
#include "tenants.h"

#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "log.h"
#include "rconn.h"

void
tenants_init(struct sg_tenants *t)
{
	memset(t, 0, sizeof(*t));
}

void
tenants_finish(struct sg_tenants *t)
{
	if (t == NULL) {
		return;
	}
	free(t->v);
	memset(t, 0, sizeof(*t));
}

int
tenants_create_group(struct sg_rconn *rc, const struct sg_tenant *t)
{
	redisReply *r =
	    rconn_callv(rc, "XGROUP", "CREATE", t->stream, SG_GROUP, "0", "MKSTREAM", NULL);
	int rcode = 0;

	if (r == NULL) {
		return SG_EUNAVAIL;
	}
	if (r->type == REDIS_REPLY_ERROR && !rconn_is_error(r, "BUSYGROUP")) {
		log_warn("XGROUP CREATE failed", "stream", t->stream, "err", r->str, NULL);
		rcode = SG_EINTERNAL;
	}
	freeReplyObject(r);
	return rcode;
}

/* 1 when id is among the members of the SMEMBERS reply. */
static int
registered(const redisReply *members, const char *id)
{
	for (size_t i = 0; i < members->elements; i++) {
		const redisReply *m = members->element[i];

		if (m->type == REDIS_REPLY_STRING && strcmp(m->str, id) == 0) {
			return 1;
		}
	}
	return 0;
}

static int
known(const struct sg_tenants *t, const char *id)
{
	for (size_t i = 0; i < t->n; i++) {
		if (strcmp(t->v[i].id, id) == 0) {
			return 1;
		}
	}
	return 0;
}

/* Drops the tenants that left the registry (order kept). */
static void
tenants_drop_gone(struct sg_tenants *t, const redisReply *members)
{
	size_t w = 0;

	for (size_t i = 0; i < t->n; i++) {
		if (registered(members, t->v[i].id)) {
			t->v[w++] = t->v[i];
		} else {
			log_info("tenant removed", "tenant", t->v[i].id, NULL);
		}
	}
	t->n = w;
}

/* Adds tenant id (valid, new) and creates its group. */
static int
tenants_add(struct sg_tenants *t, struct sg_rconn *rc, const char *id)
{
	struct sg_tenant *nt = NULL;
	struct sg_tenant *nv = NULL;

	if (t->n == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 8;

		nv = realloc(t->v, ncap * sizeof(*nv));
		if (nv == NULL) {
			return SG_ENOMEM;
		}
		t->v = nv;
		t->cap = ncap;
	}
	nt = &t->v[t->n];
	memset(nt, 0, sizeof(*nt));
	strcpy(nt->id, id);
	strcpy(nt->cursor, "0");
	if (keys_tenant(nt->stream, sizeof(nt->stream), id, "stream") == 0) {
		return SG_ETOOLARGE;
	}
	if (tenants_create_group(rc, nt) == SG_EUNAVAIL) {
		return SG_EUNAVAIL;
	}
	t->n++;
	log_info("tenant added", "tenant", id, NULL);
	return 0;
}

int
tenants_refresh(struct sg_tenants *t, struct sg_rconn *rc)
{
	redisReply *r = rconn_callv(rc, "SMEMBERS", "sg:tenants", NULL);
	int rcode = 0;

	if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
		rcode = r ? SG_EINTERNAL : SG_EUNAVAIL;
		goto cleanup;
	}
	tenants_drop_gone(t, r);
	for (size_t i = 0; i < r->elements && rcode != SG_EUNAVAIL; i++) {
		const char *id =
		    r->element[i]->type == REDIS_REPLY_STRING ? r->element[i]->str : "";

		if (!keys_tenant_valid(id)) {
			log_warn("invalid tenant id in sg:tenants", "tenant", id, NULL);
		} else if (!known(t, id)) {
			rcode = tenants_add(t, rc, id);
		}
	}
cleanup:
	if (r != NULL) {
		freeReplyObject(r);
	}
	return rcode == SG_EUNAVAIL ? SG_EUNAVAIL : 0;
}

void
tenants_rewind(struct sg_tenants *t)
{
	for (size_t i = 0; i < t->n; i++) {
		strcpy(t->v[i].cursor, "0");
	}
}

struct sg_tenant *
tenants_by_stream(struct sg_tenants *t, const char *name, size_t len)
{
	for (size_t i = 0; i < t->n; i++) {
		if (strlen(t->v[i].stream) == len && memcmp(t->v[i].stream, name, len) == 0) {
			return &t->v[i];
		}
	}
	return NULL;
}
