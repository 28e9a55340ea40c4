/* Applies a batch of stream entries: decode, EVALSHA apply (pipelined), dead-letter, XACK. */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "error.h"
#include "event_codec.h"
#include "log.h"
#include "worker_private.h"

#define BATCH_ARENA_CHUNK 65536
#define SEQ_MAX INT64_C(4294967295) /* SETBIT's largest offset */

void
batch_init(struct sg_batch *b)
{
	memset(b, 0, sizeof(*b));
	arena_init(&b->arena, BATCH_ARENA_CHUNK);
}

void
batch_finish(struct sg_batch *b)
{
	if (b == NULL) {
		return;
	}
	free(b->v);
	arena_finish(&b->arena);
	memset(b, 0, sizeof(*b));
}

void
batch_reset(struct sg_batch *b)
{
	b->n = 0;
	arena_reset(&b->arena);
}

struct sg_item *
batch_push(struct sg_batch *b)
{
	struct sg_item *nv = NULL;

	if (b->n == b->cap) {
		size_t ncap = b->cap ? b->cap * 2 : 256;

		nv = realloc(b->v, ncap * sizeof(*nv));
		if (nv == NULL) {
			return NULL;
		}
		b->v = nv;
		b->cap = ncap;
	}
	memset(&b->v[b->n], 0, sizeof(b->v[0]));
	return &b->v[b->n++];
}

/* String value of field name of a stream entry, or NULL. */
static const redisReply *
entry_field(const redisReply *fields, const char *name)
{
	const redisReply *v = rconn_field(fields, name);

	return v != NULL && v->type == REDIS_REPLY_STRING ? v : NULL;
}

/* Parses the q field: 1 .. SETBIT's largest offset. Returns 0 or -1. */
static int
parse_q(const redisReply *v, int64_t *q)
{
	char *end = NULL;
	long long n = 0;

	if (v == NULL || v->len == 0 || v->len > 20) {
		return -1;
	}
	n = strtoll(v->str, &end, 10);
	if (*end != '\0' || n < 1 || n > SEQ_MAX) {
		return -1;
	}
	*q = n;
	return 0;
}

/* Fills one item from a well-formed entry's fields. */
static void
item_fill(struct sg_item *it, const redisReply *fields, enum sg_item_state state,
          const char *reason)
{
	const redisReply *e = NULL;

	if (fields->type != REDIS_REPLY_ARRAY) {
		it->state = SG_ITEM_DONE; /* deleted from the stream: nothing left to apply */
		log_info("pending entry was deleted", "stream", it->tenant->stream, "id", it->id,
		         NULL);
		return;
	}
	e = entry_field(fields, "e");
	it->state = state;
	it->reason = reason;
	if (e != NULL) {
		it->e = e->str;
		it->elen = e->len;
	}
	if (state == SG_ITEM_TODO && (e == NULL || parse_q(entry_field(fields, "q"), &it->q) < 0)) {
		it->state = SG_ITEM_DEADLETTER;
		it->reason = e ? "entry has no valid q field" : "entry has no e field";
	}
}

const char *
batch_add_entries(struct sg_batch *b, struct sg_tenant *t, const redisReply *entries,
                  int deliveries, enum sg_item_state state, const char *reason)
{
	const char *last = NULL;
	struct sg_item *it = NULL;

	for (size_t i = 0; entries->type == REDIS_REPLY_ARRAY && i < entries->elements; i++) {
		const redisReply *en = entries->element[i];

		if (en->type != REDIS_REPLY_ARRAY || en->elements != 2 ||
		    en->element[0]->type != REDIS_REPLY_STRING) {
			continue;
		}
		it = batch_push(b);
		if (it == NULL) {
			break; /* not taken: stays pending, read again */
		}
		it->tenant = t;
		it->id = en->element[0]->str;
		it->deliveries = deliveries;
		item_fill(it, en->element[1], state, reason);
		last = it->id;
	}
	return last;
}

/* Decodes every TODO item; undecodable ones go to the dead-letter stream. */
static void
batch_decode(struct sg_batch *b)
{
	struct sg_error err;

	for (size_t i = 0; i < b->n; i++) {
		struct sg_item *it = &b->v[i];

		if (it->state != SG_ITEM_TODO) {
			continue;
		}
		error_clear(&err);
		if (event_decode(it->e, it->elen, &b->arena, &it->ev, &err) != 0) {
			it->state = SG_ITEM_DEADLETTER;
			it->reason = arena_strdup(&b->arena, err.message[0] ? err.message
			                                                    : "undecodable event");
			it->reason = it->reason ? it->reason : "undecodable event";
		}
	}
}

/* Whether item it needs its contrib record read. */
static int
item_wants_contrib(const struct sg_item *it)
{
	return it->state == SG_ITEM_TODO && apply_is_upsert(&it->ev);
}

/* Queues the HGET of item it's contrib record. */
static int
contrib_append(struct sg_worker *w, const struct sg_item *it)
{
	char key[SG_KEY_MAX];

	keys_tenant(key, sizeof(key), it->tenant->id, "contrib");
	const char *argv[] = {"HGET", key, it->ev.upsert_key};
	size_t argvlen[] = {4, strlen(key), strlen(it->ev.upsert_key)};

	return rconn_append(&w->rc, 3, argv, argvlen) < 0 ? SG_EUNAVAIL : 0;
}

/* Takes the reply of item it's HGET. */
static int
contrib_take(struct sg_worker *w, struct sg_item *it)
{
	redisReply *r = rconn_reply(&w->rc);

	if (r == NULL) {
		return SG_EUNAVAIL;
	}
	it->contrib = NULL;
	it->contrib_len = 0;
	if (r->type == REDIS_REPLY_STRING) {
		it->contrib = arena_strndup(&w->batch.arena, r->str, r->len);
		it->contrib_len = it->contrib ? r->len : 0;
	}
	freeReplyObject(r);
	return 0;
}

int
batch_fetch_contrib(struct sg_worker *w, const struct sg_range *ranges, size_t n)
{
	struct sg_batch *b = &w->batch;
	int rc = 0;

	for (size_t k = 0; k < n && rc == 0; k++) {
		for (size_t i = ranges[k].from; i < ranges[k].to && rc == 0; i++) {
			rc = item_wants_contrib(&b->v[i]) ? contrib_append(w, &b->v[i]) : 0;
		}
	}
	for (size_t k = 0; k < n && rc == 0; k++) {
		for (size_t i = ranges[k].from; i < ranges[k].to && rc == 0; i++) {
			rc = item_wants_contrib(&b->v[i]) ? contrib_take(w, &b->v[i]) : 0;
		}
	}
	return rc;
}

void
batch_item_unbuildable(struct sg_worker *w, struct sg_item *it, int rc, const struct sg_error *err)
{
	it->state = rc == SG_ENOMEM ? SG_ITEM_FAILED : SG_ITEM_DEADLETTER;
	it->reason = arena_strdup(&w->batch.arena,
	                          err && err->message[0] ? err->message : error_code_name(rc));
	it->reason = it->reason ? it->reason : "cannot build the apply plan";
	log_warn("cannot apply event", "stream", it->tenant->stream, "id", it->id, "err",
	         it->reason, NULL);
}

int
batch_item_send(struct sg_worker *w, struct sg_item *it)
{
	struct sg_error err;
	const char **argv = NULL;
	const size_t *argvlen = NULL;
	int argc = 0;
	int rc = 0;

	error_clear(&err);
	rc = apply_build(&w->plan, &it->ev, it->tenant->id, it->q, it->contrib, it->contrib_len,
	                 &err);
	argc = rc == 0 ? plan_argv(&w->plan, w->rc.sha, &argv, &argvlen) : rc;
	if (argc < 0) {
		batch_item_unbuildable(w, it, argc, &err);
		return 0;
	}
	return rconn_append(&w->rc, argc, argv, argvlen) < 0 ? SG_EUNAVAIL : 0;
}

void
batch_item_result(struct sg_worker *w, struct sg_item *it, const redisReply *r, int *reload)
{
	if (r->type == REDIS_REPLY_STRING && strcmp(r->str, "stale") == 0) {
		return; /* the record's contrib changed under us: read it again, rebuild */
	}
	if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) {
		it->state = SG_ITEM_DONE; /* "ok", or "dup": applied before */
		w->applied += strcmp(r->str, "ok") == 0;
		return;
	}
	if (rconn_is_error(r, "NOSCRIPT")) {
		*reload = 1;
		return;
	}
	it->state = SG_ITEM_FAILED;
	log_error("apply failed", "stream", it->tenant->stream, "id", it->id, "err",
	          r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply", NULL);
}

/* One round: queue every TODO item, then read the replies in the same order. */
static int
batch_eval_round(struct sg_worker *w, int *reload)
{
	struct sg_batch *b = &w->batch;
	redisReply *r = NULL;
	int rc = 0;

	for (size_t i = 0; i < b->n && rc == 0; i++) {
		if (b->v[i].state == SG_ITEM_TODO) {
			rc = batch_item_send(w, &b->v[i]);
		}
	}
	for (size_t i = 0; i < b->n && rc == 0; i++) {
		if (b->v[i].state != SG_ITEM_TODO) {
			continue;
		}
		if ((r = rconn_reply(&w->rc)) == NULL) {
			return SG_EUNAVAIL;
		}
		batch_item_result(w, &b->v[i], r, reload);
		freeReplyObject(r);
	}
	return rc;
}

static size_t
batch_count(const struct sg_batch *b, enum sg_item_state state)
{
	size_t n = 0;

	for (size_t i = 0; i < b->n; i++) {
		n += b->v[i].state == state;
	}
	return n;
}

/*
 * Applies every TODO item one by one (--apply-batch 1), pipelined; what
 * still is TODO after the retries is left pending.
 */
static int
batch_apply(struct sg_worker *w)
{
	struct sg_range all = {0, w->batch.n};
	int reload = 0;
	int rc = 0;

	for (int round = 0; round < SG_BATCH_APPLY_ROUNDS && rc == 0; round++) {
		if (batch_count(&w->batch, SG_ITEM_TODO) == 0) {
			return 0;
		}
		if (reload && rconn_load_script(&w->rc) < 0) {
			return rconn_ok(&w->rc) ? 0 : SG_EUNAVAIL;
		}
		reload = 0;
		rc = batch_fetch_contrib(w, &all, 1);
		rc = rc ? rc : batch_eval_round(w, &reload);
	}
	for (size_t i = 0; i < w->batch.n && rc == 0; i++) {
		if (w->batch.v[i].state == SG_ITEM_TODO) {
			w->batch.v[i].state = SG_ITEM_FAILED;
			log_warn("event not applied after retries", "id", w->batch.v[i].id, NULL);
		}
	}
	return rc;
}

/* Delivery count of a pending entry from XPENDING, 1 when unknown. */
static int
item_deliveries(struct sg_worker *w, const struct sg_item *it)
{
	redisReply *r = NULL;
	int n = 1;

	if (it->deliveries > 0) {
		return it->deliveries;
	}
	r = rconn_callv(&w->rc, "XPENDING", it->tenant->stream, SG_GROUP, it->id, it->id, "1",
	                NULL);
	if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
	    r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements == 4 &&
	    r->element[0]->element[3]->type == REDIS_REPLY_INTEGER) {
		n = (int)r->element[0]->element[3]->integer;
	}
	if (r != NULL) {
		freeReplyObject(r);
	}
	return n;
}

/* Moves one item to the dead-letter stream (acknowledging it) with apply.lua "deadletter". */
static int
item_deadletter(struct sg_worker *w, struct sg_item *it)
{
	char dl[SG_KEY_MAX];
	char deliveries[16];
	redisReply *r = NULL;

	keys_tenant(dl, sizeof(dl), it->tenant->id, "deadletter");
	snprintf(deliveries, sizeof(deliveries), "%d", item_deliveries(w, it));
	const char *argv[] = {"EVALSHA",    "",       "2",    it->tenant->stream, dl,
	                      "deadletter", SG_GROUP, it->id, it->e ? it->e : "", it->reason,
	                      deliveries};
	size_t argvlen[sizeof(argv) / sizeof(argv[0])];

	for (size_t i = 0; i < sizeof(argv) / sizeof(argv[0]); i++) {
		argvlen[i] = strlen(argv[i]);
	}
	argvlen[8] = it->e ? it->elen : 0; /* msgpack: binary */
	r = rconn_eval_apply(&w->rc, (int)(sizeof(argv) / sizeof(argv[0])), argv, argvlen);
	if (r == NULL) {
		return SG_EUNAVAIL;
	}
	it->state = r->type == REDIS_REPLY_INTEGER ? SG_ITEM_DEAD : SG_ITEM_FAILED;
	log_warn(r->type == REDIS_REPLY_INTEGER ? "entry dead-lettered" : "dead-letter failed",
	         "stream", it->tenant->stream, "id", it->id, "reason", it->reason, "deliveries",
	         deliveries, "err", r->type == REDIS_REPLY_ERROR ? r->str : NULL, NULL);
	freeReplyObject(r);
	return 0;
}

static int
batch_deadletter(struct sg_worker *w)
{
	int rc = 0;

	for (size_t i = 0; i < w->batch.n && rc == 0; i++) {
		if (w->batch.v[i].state == SG_ITEM_DEADLETTER) {
			rc = item_deadletter(w, &w->batch.v[i]);
		}
	}
	return rc;
}

/* Queues one XACK of the DONE items in [from, to) (same tenant). Returns 1 when queued. */
static int
ack_append(struct sg_worker *w, size_t from, size_t to, int *broken)
{
	struct sg_batch *b = &w->batch;
	const char **argv = arena_alloc(&b->arena, (to - from + 3) * sizeof(*argv));
	size_t *argvlen = arena_alloc(&b->arena, (to - from + 3) * sizeof(*argvlen));
	int argc = 3;

	if (argv == NULL || argvlen == NULL) {
		return 0; /* not acknowledged now: read again later, found applied */
	}
	argv[0] = "XACK";
	argv[1] = b->v[from].tenant->stream;
	argv[2] = SG_GROUP;
	for (size_t i = from; i < to; i++) {
		if (b->v[i].state == SG_ITEM_DONE) {
			argv[argc++] = b->v[i].id;
		}
	}
	if (argc == 3) {
		return 0;
	}
	for (int i = 0; i < argc; i++) {
		argvlen[i] = strlen(argv[i]);
	}
	*broken = rconn_append(&w->rc, argc, argv, argvlen) < 0;
	return !*broken;
}

/* One XACK per run of items of the same stream, pipelined. */
static int
batch_ack(struct sg_worker *w)
{
	struct sg_batch *b = &w->batch;
	redisReply *r = NULL;
	size_t queued = 0;
	size_t from = 0;
	int broken = 0;

	for (size_t i = 1; i <= b->n && !broken; i++) {
		if (i == b->n || b->v[i].tenant != b->v[from].tenant) {
			queued += (size_t)ack_append(w, from, i, &broken);
			from = i;
		}
	}
	for (size_t i = 0; i < queued && !broken; i++) {
		if ((r = rconn_reply(&w->rc)) == NULL) {
			return SG_EUNAVAIL;
		}
		freeReplyObject(r);
	}
	return broken ? SG_EUNAVAIL : 0;
}

int
batch_run(struct sg_worker *w)
{
	int rc = 0;

	if (w->batch.n == 0) {
		return 0;
	}
	batch_decode(&w->batch);
	rc = w->opts->apply_batch > 1 ? batch_apply_merged(w) : batch_apply(w);
	rc = rc ? rc : batch_deadletter(w);
	rc = rc ? rc : batch_ack(w);
	return rc;
}
