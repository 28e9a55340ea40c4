/*
 * Trim: XTRIM <stream> MINID <id>, id being the lowest entry some consumer
 * group still needs: its lowest pending id (XPENDING summary), or when
 * nothing is pending the entry right after its last-delivered-id (XINFO
 * GROUPS). Never MAXLEN, which can drop entries nobody acknowledged. New
 * deliveries between the reads and the trim only ever have higher ids.
 */
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "log.h"
#include "worker_private.h"

/* A stream entry id. */
struct stream_id {
	uint64_t ms;  /* time part */
	uint64_t seq; /* sequence part */
};

static int
id_parse(const char *s, struct stream_id *id)
{
	char tail = 0;

	return s != NULL && sscanf(s, "%" SCNu64 "-%" SCNu64 "%c", &id->ms, &id->seq, &tail) == 2
	           ? 0
	           : -1;
}

static int
id_less(const struct stream_id *a, const struct stream_id *b)
{
	return a->ms < b->ms || (a->ms == b->ms && a->seq < b->seq);
}

/* The id right after id. */
static struct stream_id
id_next(struct stream_id id)
{
	if (id.seq == UINT64_MAX) {
		id.ms++;
		id.seq = 0;
	} else {
		id.seq++;
	}
	return id;
}

/* Lowest pending id of group (XPENDING summary). Returns 0, -1 none, SG_EUNAVAIL. */
static int
group_lowest_pending(struct sg_worker *w, struct sg_tenant *t, const char *group,
                     struct stream_id *id)
{
	redisReply *r = rconn_callv(&w->rc, "XPENDING", t->stream, group, NULL);
	int rc = -1;

	if (r == NULL) {
		return SG_EUNAVAIL;
	}
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 4 &&
	    r->element[1]->type == REDIS_REPLY_STRING && id_parse(r->element[1]->str, id) == 0) {
		rc = 0;
	}
	freeReplyObject(r);
	return rc;
}

/* Lowest id one group still needs. Returns 0, -1 (unknown: trim nothing), SG_EUNAVAIL. */
static int
group_needs(struct sg_worker *w, struct sg_tenant *t, const redisReply *g, struct stream_id *id)
{
	const redisReply *name = rconn_field(g, "name");
	const redisReply *pending = rconn_field(g, "pending");
	const redisReply *last = rconn_field(g, "last-delivered-id");

	if (name == NULL || name->type != REDIS_REPLY_STRING || pending == NULL ||
	    pending->type != REDIS_REPLY_INTEGER || last == NULL ||
	    last->type != REDIS_REPLY_STRING) {
		return -1;
	}
	if (pending->integer > 0) {
		return group_lowest_pending(w, t, name->str, id);
	}
	if (id_parse(last->str, id) < 0) {
		return -1;
	}
	*id = id_next(*id);
	return 0;
}

/* Lowest id any group needs. Returns 0, -1 (trim nothing) or SG_EUNAVAIL. */
static int
stream_needs(struct sg_worker *w, struct sg_tenant *t, struct stream_id *low)
{
	redisReply *r = rconn_callv(&w->rc, "XINFO", "GROUPS", t->stream, NULL);
	struct stream_id id = {0, 0};
	int found = 0;
	int rc = 0;

	if (r == NULL) {
		return SG_EUNAVAIL;
	}
	for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements && rc == 0; i++) {
		rc = group_needs(w, t, r->element[i], &id);
		if (rc == 0 && (!found || id_less(&id, low))) {
			*low = id;
			found = 1;
		}
	}
	freeReplyObject(r);
	return rc < 0 ? rc : (found ? 0 : -1);
}

int
trim_tenant(struct sg_worker *w, struct sg_tenant *t)
{
	struct stream_id low = {0, 0};
	char minid[SG_STREAM_ID_MAX];
	redisReply *r = NULL;
	int rc = stream_needs(w, t, &low);

	if (rc == SG_EUNAVAIL) {
		return rc;
	}
	if (rc < 0 || (low.ms == 0 && low.seq <= 1)) {
		return 0;
	}
	snprintf(minid, sizeof(minid), "%" PRIu64 "-%" PRIu64, low.ms, low.seq);
	r = rconn_callv(&w->rc, "XTRIM", t->stream, "MINID", minid, NULL);
	if (r == NULL) {
		return SG_EUNAVAIL;
	}
	if (r->type == REDIS_REPLY_INTEGER && r->integer > 0) {
		char n[24];

		snprintf(n, sizeof(n), "%lld", r->integer);
		log_debug("stream trimmed", "stream", t->stream, "minid", minid, "removed", n,
		          NULL);
	}
	freeReplyObject(r);
	return 0;
}
