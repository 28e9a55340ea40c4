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
/* Events per script call: bounds how long one call holds Redis. */
#define EVENTS_PER_CALL 50

struct batch {
	struct sg_req *r;
	struct sg_ingest_item *items;
	size_t n;
	size_t pending;
	sg_ingest_done done;
};

/* One script call's callback context: items [item, item + n). */
struct call {
	struct batch *b;
	struct sg_ingest_item *item;
	size_t n;
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

/* Reads status, id_or_field, stored|false, replayed at element off into the item. */
static void
read_item(struct sg_req *r, struct sg_ingest_item *it, const struct redisReply *reply, size_t off)
{
	struct redisReply *const *e = reply->element + off;

	if (e[0]->type != REDIS_REPLY_INTEGER) {
		it->status = 500;
		return;
	}
	it->status = (int)e[0]->integer;
	it->id = copy_str(r, e[1], NULL);
	it->stored = copy_str(r, e[2], &it->stored_len);
	it->replayed = e[3]->type == REDIS_REPLY_INTEGER && e[3]->integer == 1;
}

/*
 * Error replies that say "not now" rather than "never": the client should
 * retry (503 + Retry-After), like when Redis cannot be reached at all.
 */
static int
transient_error(const char *msg)
{
	static const char *const prefixes[] = {"OOM",       "LOADING", "BUSY",       "READONLY",
					       "MASTERDOWN", "TRYAGAIN", "NOREPLICAS", "NOSCRIPT",
					       "CLUSTERDOWN"};
	size_t i;

	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		if (strncmp(msg, prefixes[i], strlen(prefixes[i])) == 0) {
			return 1;
		}
	}
	return 0;
}

/* Fills the n items of one call from its reply (four elements per item). */
static void
read_reply(struct sg_req *r, struct sg_ingest_item *items, size_t n, const struct redisReply *reply)
{
	size_t i;
	int status = 503;

	if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 4 * n) {
		for (i = 0; i < n; i++) {
			read_item(r, &items[i], reply, 4 * i);
		}
		return;
	}
	if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 4) {
		/* an idempotency answer (conflict or replay) covers the single item */
		read_item(r, &items[0], reply, 0);
		return;
	}
	if (reply && !(reply->type == REDIS_REPLY_ERROR && transient_error(reply->str))) {
		status = 500; /* a script bug or an unexpected answer */
	}
	for (i = 0; i < n; i++) {
		items[i].status = status;
	}
}

static void
call_done(struct redisReply *reply, void *data, const char *errstr)
{
	struct call *c = data;
	struct batch *b = c->b;
	struct sg_req *r = b->r;

	(void)errstr;
	read_reply(r, c->item, c->n, reply);
	if (--b->pending == 0) {
		batch_finish(b);
	}
	req_unref(r);
}

static const char *
tenant_key(struct sg_req *r, const char *name, const char *suffix, size_t *len)
{
	char k[SG_KEY_MAX];
	size_t n = keys_tenant2(k, sizeof(k), r->tenant, name, suffix ? suffix : "");

	*len = n;
	return n ? arena_strndup(&r->arena, k, n) : NULL;
}

/* Argument vector of one ingest call of n events (arena). */
struct args {
	const char **v;
	size_t *len;
	int nkeys;
	int argc;
};

static int
args_fixed(struct sg_req *r, struct args *a, const char *idem_key)
{
	static const char *const names[4] = {"evx", "ev", "seq", "stream"};
	int i;

	for (i = 0; i < 4; i++) {
		if (!(a->v[i] = tenant_key(r, names[i], NULL, &a->len[i]))) {
			return -1;
		}
	}
	a->v[4] = tenant_key(r, idem_key ? "idem:" : "tenant", idem_key, &a->len[4]);
	return a->v[4] ? 0 : -1;
}

/* Encodes the n events into the thread buffer; offsets in off[], lengths in len[]. */
static int
encode_all(struct sg_req *r, struct sg_ingest_item *items, size_t n, size_t *off, size_t *len)
{
	struct sg_buf *enc = &r->thr->enc;
	size_t i;

	buf_clear(enc);
	for (i = 0; i < n; i++) {
		off[i] = enc->len;
		if (event_encode(items[i].ev, enc) != 0) {
			return -1;
		}
		len[i] = enc->len - off[i];
	}
	return 0;
}

static int
build_args(struct sg_req *r, struct args *a, struct sg_ingest_item *items, size_t n,
	   const char *idem_key, const char *idem_hash)
{
	size_t total = 5 + 2 * n + 2 + 4 * n, i;
	size_t *off = arena_alloc(&r->arena, sizeof(*off) * n);
	size_t *mlen = arena_alloc(&r->arena, sizeof(*mlen) * n);
	const char **args;
	size_t *arglen;

	a->v = arena_alloc(&r->arena, sizeof(*a->v) * total);
	a->len = arena_alloc(&r->arena, sizeof(*a->len) * total);
	if (!off || !mlen || !a->v || !a->len || args_fixed(r, a, idem_key) != 0 ||
	    encode_all(r, items, n, off, mlen) != 0) {
		return -1;
	}
	a->nkeys = (int)(5 + 2 * n);
	a->argc = (int)total;
	args = a->v + a->nkeys;
	arglen = a->len + a->nkeys;
	args[0] = idem_hash ? idem_hash : "";
	args[1] = IDEM_TTL_S;
	for (i = 0; i < n; i++) {
		struct sg_event *ev = items[i].ev;
		const char **v = args + 2 + 4 * i;
		a->v[5 + 2 * i] = tenant_key(r, "store:", ev->store_id, &a->len[5 + 2 * i]);
		a->v[6 + 2 * i] = tenant_key(r, items[i].check_profile ? "profile:" : "tenant",
					     items[i].check_profile ? ev->profile_id : NULL,
					     &a->len[6 + 2 * i]);
		if (!a->v[5 + 2 * i] || !a->v[6 + 2 * i]) {
			return -1;
		}
		v[0] = ev->id;
		v[1] = ev->external_id ? ev->external_id : "";
		v[2] = r->thr->enc.data + off[i];
		v[3] = items[i].check_profile ? "1" : "0";
	}
	arglen[0] = strlen(args[0]);
	arglen[1] = strlen(args[1]);
	for (i = 0; i < n; i++) {
		const char **v = args + 2 + 4 * i;
		size_t *l = arglen + 2 + 4 * i;
		l[0] = strlen(v[0]);
		l[1] = strlen(v[1]);
		l[2] = mlen[i]; /* msgpack is binary: never strlen */
		l[3] = 1;
	}
	return 0;
}

/* Sends one call for n items; returns 0 when its callback will run. */
static int
send_call(struct batch *b, struct sg_ingest_item *items, size_t n, const char *idem_key,
	  const char *idem_hash)
{
	struct sg_req *r = b->r;
	struct call *c = arena_alloc(&r->arena, sizeof(*c));
	struct args a;

	if (!c || build_args(r, &a, items, n, idem_key, idem_hash) != 0) {
		return -1;
	}
	c->b = b;
	c->item = items;
	c->n = n;
	req_ref(r);
	if (redis_evalsha(r->thr->redis, SG_SCRIPT_INGEST, a.nkeys, a.argc, a.v, a.len, call_done,
			  c) != 0) {
		req_unref(r);
		return -1;
	}
	metrics_count_ingest_call(n);
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
	}
	for (i = 0; i < n; i += EVENTS_PER_CALL) {
		size_t k = n - i < EVENTS_PER_CALL ? n - i : EVENTS_PER_CALL, j;
		b->pending++;
		if (send_call(b, items + i, k, idem_key, idem_hash) != 0) {
			for (j = i; j < i + k; j++) {
				items[j].status = 503;
			}
			b->pending--;
		}
	}
	if (--b->pending == 0) {
		batch_finish(b);
	}
}
