/* Shared ingest path: see ingest.h. */
#include "ingest.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>

#include "event.h"
#include "event_codec.h"
#include "gateway.h"
#include "ids.h"
#include "keys.h"
#include "metrics.h"
#include "redis_async.h"
#include "request.h"
#include "timeutil.h"

#define IDEM_TTL_S "86400"
#define NKEYS 7

struct batch {
	struct sg_req *r;
	struct sg_ingest_item *items;
	size_t n;
	size_t pending;
	sg_ingest_done done;
};

/* One item's callback context. */
struct call {
	struct batch *b;
	struct sg_ingest_item *item;
};

static void
batch_finish(struct batch *b)
{
	size_t i, acc = 0, dup = 0;

	for (i = 0; i < b->n; i++) {
		acc += b->items[i].status == 201 && !b->items[i].replayed;
		dup += b->items[i].status == 200 && !b->items[i].replayed;
	}
	metrics_count_events(acc, dup);
	/* always called, so handlers can release what they hold (idempotency keys) */
	b->done(b->r, b->items, b->n);
}

static const char *
copy_str(struct sg_req *r, const struct redisReply *s, size_t *len)
{
	if (!s || s->type != REDIS_REPLY_STRING) {
		return NULL;
	}
	if (len) {
		*len = s->len;
	}
	return arena_strndup(&r->arena, s->str, s->len);
}

/* Reads {status, id_or_field, stored|false, replayed} into the item. */
static void
read_reply(struct sg_req *r, struct sg_ingest_item *it, const struct redisReply *reply)
{
	if (!reply) {
		it->status = 503;
		return;
	}
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 4 ||
	    reply->element[0]->type != REDIS_REPLY_INTEGER) {
		it->status = reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "OOM", 3) == 0
				     ? 503
				     : 500;
		return;
	}
	it->status = (int)reply->element[0]->integer;
	it->id = copy_str(r, reply->element[1], NULL);
	it->stored = copy_str(r, reply->element[2], &it->stored_len);
	it->replayed = reply->element[3]->type == REDIS_REPLY_INTEGER &&
		       reply->element[3]->integer == 1;
}

static void
call_done(struct redisReply *reply, void *data, const char *errstr)
{
	struct call *c = data;
	struct batch *b = c->b;
	struct sg_req *r = b->r;

	(void)errstr;
	read_reply(r, c->item, reply);
	if (--b->pending == 0) {
		batch_finish(b);
	}
	req_unref(r);
}

static int
tenant_key(struct sg_req *r, char *out, const char *name, const char *suffix)
{
	size_t n = suffix ? keys_tenant2(out, SG_KEY_MAX, r->tenant, name, suffix)
			  : keys_tenant(out, SG_KEY_MAX, r->tenant, name);

	return n ? (int)n : -1;
}

/* Sends one item; returns 0 when its callback will run. */
static int
send_item(struct batch *b, struct sg_ingest_item *it, const char *idem_key, const char *idem_hash)
{
	struct sg_req *r = b->r;
	struct sg_thread *t = r->thr;
	struct sg_event *ev = it->ev;
	char k[NKEYS][SG_KEY_MAX];
	const char *argv[NKEYS + 6];
	size_t argvlen[NKEYS + 6];
	struct call *c;
	int i;

	buf_clear(&t->enc);
	if (event_encode(ev, &t->enc) != 0 || tenant_key(r, k[0], "evx", NULL) < 0 ||
	    tenant_key(r, k[1], "ev", NULL) < 0 || tenant_key(r, k[2], "seq", NULL) < 0 ||
	    tenant_key(r, k[3], "stream", NULL) < 0 ||
	    tenant_key(r, k[4], "store:", ev->store_id) < 0 ||
	    tenant_key(r, k[5], it->check_profile ? "profile:" : "tenant",
		       it->check_profile ? ev->profile_id : NULL) < 0 ||
	    tenant_key(r, k[6], idem_key ? "idem:" : "tenant", idem_key) < 0) {
		return -1;
	}
	c = arena_alloc(&r->arena, sizeof(*c));
	if (!c) {
		return -1;
	}
	c->b = b;
	c->item = it;
	for (i = 0; i < NKEYS; i++) {
		argv[i] = k[i];
		argvlen[i] = strlen(k[i]);
	}
	argv[7] = ev->id;
	argv[8] = ev->external_id ? ev->external_id : "";
	argv[9] = t->enc.data;
	argvlen[9] = t->enc.len;
	argv[10] = it->check_profile ? "1" : "0";
	argv[11] = idem_hash ? idem_hash : "";
	argv[12] = IDEM_TTL_S;
	for (i = 7; i < NKEYS + 6; i++) {
		if (i != 9) {
			argvlen[i] = strlen(argv[i]);
		}
	}
	req_ref(r);
	if (redis_evalsha(t->redis, SG_SCRIPT_INGEST, NKEYS, NKEYS + 6, argv, argvlen, call_done,
			  c) != 0) {
		req_unref(r);
		return -1;
	}
	return 0;
}

void
ingest_submit(struct sg_req *r, struct sg_ingest_item *items, size_t n, const char *idem_key,
	      const char *idem_hash, sg_ingest_done done)
{
	struct batch *b = arena_alloc(&r->arena, sizeof(*b));
	int64_t now = time_now_ms();
	size_t i;

	if (!b) {
		for (i = 0; i < n; i++) {
			items[i].status = 503;
		}
		done(r, items, n);
		return;
	}
	b->r = r;
	b->items = items;
	b->n = n;
	b->pending = 1; /* held until every item is sent */
	b->done = done;
	for (i = 0; i < n; i++) {
		struct sg_event *ev = items[i].ev;
		ids_event(now, ev->id);
		ev->received_ms = now;
		ev->tenant = r->tenant;
		b->pending++;
		if (send_item(b, &items[i], idem_key, idem_hash) != 0) {
			items[i].status = 503;
			b->pending--;
		}
	}
	if (--b->pending == 0) {
		batch_finish(b);
	}
}
