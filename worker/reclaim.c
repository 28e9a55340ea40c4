/*
 * Reclaim: entries pending longer than --claim-idle-ms belong to a consumer
 * that died (or to a batch that failed). Those delivered --max-deliveries
 * times go to the dead-letter stream; the others are claimed (XCLAIM, which
 * counts one more delivery) and applied here. Also forgets consumers with
 * nothing pending and no delivery for an hour, so restarts with fresh names
 * do not pile up in the group; the check and the delete are one script
 * (apply.lua "forget"), and a live consumer is recreated by its next read.
 */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "log.h"
#include "worker_private.h"

#define RECLAIM_COUNT 100            /* entries per XPENDING page */
#define RECLAIM_MAX_PAGES 100        /* pages per tenant and pass (10000 entries) */
#define CONSUMER_FORGET_MS 3600000LL /* idle time before an empty consumer goes */

/* One row of XPENDING's extended form: [id, consumer, idle, deliveries]. */
static int
pending_row(const redisReply *row, const char **id, long long *deliveries)
{
	if (row->type != REDIS_REPLY_ARRAY || row->elements != 4 ||
	    row->element[0]->type != REDIS_REPLY_STRING ||
	    row->element[3]->type != REDIS_REPLY_INTEGER) {
		return -1;
	}
	*id = row->element[0]->str;
	*deliveries = row->element[3]->integer;
	return 0;
}

/* Queues XRANGE id id for an entry to dead-letter; adds its item later. */
static int
dead_fetch(struct sg_worker *w, struct sg_tenant *t, const char *id)
{
	const char *argv[] = {"XRANGE", t->stream, id, id};
	size_t argvlen[] = {6, strlen(t->stream), strlen(id), strlen(id)};

	return rconn_append(&w->rc, 4, argv, argvlen);
}

/* Adds the dead-letter item of one pending row from its XRANGE reply. */
static void
dead_add(struct sg_worker *w, struct sg_tenant *t, const redisReply *range, const char *id,
         long long deliveries)
{
	char reason[64];
	const char *r = NULL;
	struct sg_item *it = NULL;

	snprintf(reason, sizeof(reason), "delivered %lld times", deliveries);
	r = arena_strdup(&w->batch.arena, reason);
	r = r ? r : "too many deliveries";
	if (batch_add_entries(&w->batch, t, range, (int)deliveries, SG_ITEM_DEADLETTER, r)) {
		return;
	}
	it = batch_push(&w->batch); /* gone from the stream: record and acknowledge it */
	if (it != NULL) {
		it->tenant = t;
		it->id = id;
		it->deliveries = (int)deliveries;
		it->state = SG_ITEM_DEADLETTER;
		it->reason = r;
	}
}

/* XCLAIM argv of the rows below max deliveries; returns argc (5 = none). */
static int
claim_argv(struct sg_worker *w, struct sg_tenant *t, const redisReply *pend, char *idle,
           const char **argv, size_t *argvlen)
{
	const char *id = NULL;
	long long n = 0;
	int argc = 0;

	argv[argc++] = "XCLAIM";
	argv[argc++] = t->stream;
	argv[argc++] = SG_GROUP;
	argv[argc++] = w->opts->consumer;
	argv[argc++] = idle;
	for (size_t i = 0; i < pend->elements; i++) {
		if (pending_row(pend->element[i], &id, &n) == 0 && n < w->opts->max_deliveries) {
			argv[argc++] = id;
		}
	}
	for (int i = 0; i < argc; i++) {
		argvlen[i] = strlen(argv[i]);
	}
	return argc;
}

/* Fetches the entries to dead-letter (pipelined XRANGEs) into the batch. */
static int
reclaim_dead(struct sg_worker *w, struct sg_tenant *t, const redisReply *pend, redisReply **ranges,
             size_t *nranges)
{
	const char *id = NULL;
	long long n = 0;
	size_t k = 0;

	for (size_t i = 0; i < pend->elements; i++) {
		if (pending_row(pend->element[i], &id, &n) == 0 && n >= w->opts->max_deliveries &&
		    dead_fetch(w, t, id) < 0) {
			return SG_EUNAVAIL;
		}
	}
	for (size_t i = 0; i < pend->elements; i++) {
		if (pending_row(pend->element[i], &id, &n) < 0 || n < w->opts->max_deliveries) {
			continue;
		}
		if ((ranges[k] = rconn_reply(&w->rc)) == NULL) {
			return SG_EUNAVAIL;
		}
		dead_add(w, t, ranges[k++], id, n);
		*nranges = k;
	}
	return 0;
}

/* Claims the other idle entries into the batch. */
static int
reclaim_claim(struct sg_worker *w, struct sg_tenant *t, const redisReply *pend,
              redisReply **claimed)
{
	const char *argv[RECLAIM_COUNT + 5];
	size_t argvlen[RECLAIM_COUNT + 5];
	char idle[24];
	int argc = 0;

	snprintf(idle, sizeof(idle), "%d", w->opts->claim_idle_ms);
	argc = claim_argv(w, t, pend, idle, argv, argvlen);
	if (argc == 5) {
		return 0;
	}
	*claimed = rconn_call(&w->rc, argc, argv, argvlen);
	if (*claimed == NULL) {
		return SG_EUNAVAIL;
	}
	if (batch_add_entries(&w->batch, t, *claimed, 0, SG_ITEM_TODO, NULL) != NULL) {
		log_info("reclaimed idle entries", "stream", t->stream, "consumer",
		         w->opts->consumer, NULL);
	}
	return 0;
}

/* XPENDING <stream> <group> IDLE <ms> - + <count>. */
static redisReply *
pending_idle(struct sg_worker *w, struct sg_tenant *t)
{
	char idle[24];
	char count[24];

	snprintf(idle, sizeof(idle), "%d", w->opts->claim_idle_ms);
	snprintf(count, sizeof(count), "%d", RECLAIM_COUNT);
	return rconn_callv(&w->rc, "XPENDING", t->stream, SG_GROUP, "IDLE", idle, "-", "+", count,
	                   NULL);
}

/*
 * 1 when consumer record c (XINFO CONSUMERS) looks forgettable: nothing
 * pending, idle an hour, not us. apply.lua checks again atomically.
 */
static int
consumer_forgettable(const redisReply *c, const char *self)
{
	const redisReply *name = rconn_field(c, "name");
	const redisReply *pending = rconn_field(c, "pending");
	const redisReply *idle = rconn_field(c, "idle");

	return name != NULL && name->type == REDIS_REPLY_STRING && pending != NULL &&
	       pending->type == REDIS_REPLY_INTEGER && pending->integer == 0 && idle != NULL &&
	       idle->type == REDIS_REPLY_INTEGER && idle->integer >= CONSUMER_FORGET_MS &&
	       strcmp(name->str, self) != 0;
}

/* Deletes one consumer with apply.lua "forget" (which checks again, atomically). */
static int
forget_consumer(struct sg_worker *w, struct sg_tenant *t, const char *name)
{
	char idle[24];
	const char *argv[] = {"EVALSHA", "", "1", t->stream, "forget", SG_GROUP, name, idle};
	size_t argvlen[sizeof(argv) / sizeof(argv[0])];
	redisReply *r = NULL;

	snprintf(idle, sizeof(idle), "%lld", CONSUMER_FORGET_MS);
	for (size_t i = 0; i < sizeof(argv) / sizeof(argv[0]); i++) {
		argvlen[i] = strlen(argv[i]);
	}
	r = rconn_eval_apply(&w->rc, (int)(sizeof(argv) / sizeof(argv[0])), argv, argvlen);
	if (r == NULL) {
		return SG_EUNAVAIL;
	}
	if (r->type == REDIS_REPLY_INTEGER && r->integer == 1) {
		log_info("forgot idle consumer", "stream", t->stream, "consumer", name, NULL);
	}
	freeReplyObject(r);
	return 0;
}

/* Forgets the group's consumers with nothing pending, idle for an hour. */
static int
forget_consumers(struct sg_worker *w, struct sg_tenant *t)
{
	redisReply *r = rconn_callv(&w->rc, "XINFO", "CONSUMERS", t->stream, SG_GROUP, NULL);
	int rc = 0;

	if (r == NULL) {
		return SG_EUNAVAIL;
	}
	for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements && rc == 0; i++) {
		if (consumer_forgettable(r->element[i], w->opts->consumer)) {
			rc = forget_consumer(w, t, rconn_field(r->element[i], "name")->str);
		}
	}
	freeReplyObject(r);
	return rc;
}

/* One page of at most RECLAIM_COUNT idle entries. Sets *full when the page was full. */
static int
reclaim_page(struct sg_worker *w, struct sg_tenant *t, int *full)
{
	redisReply *ranges[RECLAIM_COUNT];
	redisReply *claimed = NULL;
	redisReply *pend = pending_idle(w, t);
	size_t nranges = 0;
	int rc = 0;

	*full = 0;
	if (pend == NULL) {
		return SG_EUNAVAIL;
	}
	if (pend->type != REDIS_REPLY_ARRAY || pend->elements == 0) {
		goto cleanup; /* nothing idle (or NOGROUP: the loop recreates groups) */
	}
	*full = pend->elements >= RECLAIM_COUNT;
	batch_reset(&w->batch);
	rc = reclaim_dead(w, t, pend, ranges, &nranges);
	rc = rc ? rc : reclaim_claim(w, t, pend, &claimed);
	rc = rc ? rc : batch_run(w);
cleanup:
	batch_reset(&w->batch);
	for (size_t i = 0; i < nranges; i++) {
		freeReplyObject(ranges[i]);
	}
	if (claimed != NULL) {
		freeReplyObject(claimed);
	}
	freeReplyObject(pend);
	return rc;
}

int
reclaim_tenant(struct sg_worker *w, struct sg_tenant *t)
{
	int full = 1;
	int rc = 0;

	/* claimed entries are no longer idle, so each page moves on to the next ones */
	for (int page = 0; page < RECLAIM_MAX_PAGES && full && rc == 0 && !*w->stop; page++) {
		rc = reclaim_page(w, t, &full);
	}
	return rc ? rc : forget_consumers(w, t);
}
