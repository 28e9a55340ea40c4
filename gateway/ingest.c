/* Shared ingest path: see ingest.h. */
#include "ingest.h"

#include <assert.h>
#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <stdlib.h>
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
/* Keys (5 + 2 per event) then arguments (2 + 4 per event) of a full call. */
#define ARGS_MAX (5 + 2 * EVENTS_PER_CALL + 2 + 4 * EVENTS_PER_CALL)
/* Idle call states a thread keeps for reuse. */
#define SPARE_MAX 64

/* One submission: the items of one request and how many lack an outcome. */
struct batch {
	struct sg_req *r;
	struct sg_ingest_item *items;
	size_t n;
	size_t pending; /* items without an outcome, +1 while submitting */
	sg_ingest_done done;
};

/* One event of a script call: its item and the submission it belongs to. */
struct slot {
	struct batch *b; /* holds a reference on b->r until the outcome is in */
	struct sg_ingest_item *it;
};

/*
 * One script call, first filled (a tenant's queue, or a chunk of a batch),
 * then in flight. Owned by the thread's pool, not by a request arena: a
 * coalesced call serves several requests and may outlive any one of them.
 */
struct call {
	struct sg_ingest_queue *q;
	struct call *next;                /* in q->active or q->spare */
	size_t n;
	struct slot slot[EVENTS_PER_CALL]; /* all of one tenant */
};

/* A loop thread's ingest state: only ever touched by that thread. */
struct sg_ingest_queue {
	struct sg_thread *t;
	struct event *flush_ev;       /* activated by the first event queued */
	int armed;                    /* flush_ev is active */
	struct call *active;          /* per tenant: single events waiting for the flush */
	struct call *spare;           /* idle call states */
	size_t nspare;
	struct sg_arena keys;         /* key strings of the call being built */
	const char *argv[ARGS_MAX];   /* keys then arguments of that call */
	size_t argvlen[ARGS_MAX];
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

/* Drops one pending outcome of b; the last one finishes the submission. */
static void
batch_release(struct batch *b)
{
	if (--b->pending == 0) {
		batch_finish(b);
	}
}

static struct call *
call_get(struct sg_ingest_queue *q)
{
	struct call *c = q->spare;

	if (c) {
		q->spare = c->next;
		q->nspare--;
	} else if (!(c = malloc(sizeof(*c)))) {
		return NULL;
	}
	c->q = q;
	c->next = NULL;
	c->n = 0;
	return c;
}

static void
call_put(struct call *c)
{
	struct sg_ingest_queue *q = c->q;

	if (q->nspare >= SPARE_MAX) {
		free(c);
		return;
	}
	c->next = q->spare;
	q->spare = c;
	q->nspare++;
}

/* Adds one item of b to c, with the reference its slot holds until the outcome. */
static void
call_add(struct call *c, struct batch *b, struct sg_ingest_item *it)
{
	assert(c->n < EVENTS_PER_CALL);
	req_ref(b->r);
	c->slot[c->n].b = b;
	c->slot[c->n].it = it;
	c->n++;
}

/* Every slot of c has its outcome: finishes the submissions and recycles c. */
static void
call_finish(struct call *c)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		struct sg_req *r = c->slot[i].b->r;
		batch_release(c->slot[i].b);
		req_unref(r);
	}
	call_put(c);
}

/* Gives every slot of c the same status (the call failed as a whole) and finishes it. */
static void
call_fail(struct call *c, int status)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		c->slot[i].it->status = status;
	}
	call_finish(c);
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

/* Reads status, id_or_field, stored|false, replayed at element off into the slot's item. */
static void
read_item(const struct slot *s, const struct redisReply *reply, size_t off)
{
	struct redisReply *const *e = reply->element + off;
	struct sg_ingest_item *it = s->it;
	struct sg_req *r = s->b->r; /* strings go to the arena of the request they answer */

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

/*
 * The script's answer: four elements per event, in slot order (an
 * idempotency conflict or replay answers the only event of its call).
 * Anything else fails the whole call: 503 when Redis is unreachable, slow
 * or transiently refusing, 500 for a script bug or an unexpected answer.
 */
static void
call_done(struct redisReply *reply, void *data, const char *errstr)
{
	struct call *c = data;
	size_t i;
	int transient;

	(void)errstr;
	if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 4 * c->n) {
		for (i = 0; i < c->n; i++) {
			read_item(&c->slot[i], reply, 4 * i);
		}
		call_finish(c);
		return;
	}
	transient = !reply || (reply->type == REDIS_REPLY_ERROR && transient_error(reply->str));
	call_fail(c, transient ? 503 : 500);
}

/* "sg:{tenant}:<name><suffix>" in the queue's key arena (*len set), or NULL. */
static const char *
key_dup(struct sg_ingest_queue *q, const char *tenant, const char *name, const char *suffix,
	size_t *len)
{
	char k[SG_KEY_MAX];

	*len = keys_tenant2(k, sizeof(k), tenant, name, suffix ? suffix : "");
	return *len ? arena_strndup(&q->keys, k, *len) : NULL;
}

/* The same key into argv slot i. */
static int
set_key(struct sg_ingest_queue *q, size_t i, const char *tenant, const char *name,
	const char *suffix)
{
	q->argv[i] = key_dup(q, tenant, name, suffix, &q->argvlen[i]);
	return q->argv[i] ? 0 : -1;
}

static void
set_arg(struct sg_ingest_queue *q, size_t i, const char *s, size_t len)
{
	q->argv[i] = s;
	q->argvlen[i] = len;
}

/* KEYS[1..5]: evx, ev, seq, stream, then the idempotency record or the tenant key. */
static int
args_fixed(struct sg_ingest_queue *q, const char *tenant, const char *idem_key)
{
	static const char *const names[4] = {"evx", "ev", "seq", "stream"};
	size_t i;

	for (i = 0; i < 4; i++) {
		if (set_key(q, i, tenant, names[i], NULL) != 0) {
			return -1;
		}
	}
	return set_key(q, 4, tenant, idem_key ? "idem:" : "tenant", idem_key);
}

/* Encodes the events of c into the thread's buffer; offsets in off[]. */
static int
encode_all(struct sg_buf *enc, const struct call *c, size_t *off)
{
	size_t i;

	buf_clear(enc);
	for (i = 0; i < c->n; i++) {
		off[i] = enc->len;
		if (event_encode(c->slot[i].it->ev, enc) != 0) {
			return -1;
		}
	}
	off[c->n] = enc->len;
	return 0;
}

/* The tenant key, built once per call: the stand-in for a profile that need not exist. */
struct tenant_key {
	const char *s;
	size_t len;
};

/* KEYS[6 + 2i..]: store and profile (or tenant) key; ARGV[3 + 4i..]: the event. */
static int
args_event(struct sg_ingest_queue *q, const char *tenant, const struct tenant_key *tk,
	   const struct slot *s, size_t i, size_t nkeys, const char *mp, size_t mplen)
{
	const struct sg_ingest_item *it = s->it;
	const struct sg_event *ev = it->ev;
	size_t a = nkeys + 2 + 4 * i;
	const char *ext = ev->external_id ? ev->external_id : "";

	if (set_key(q, 5 + 2 * i, tenant, "store:", ev->store_id) != 0) {
		return -1;
	}
	if (!it->check_profile) {
		set_arg(q, 6 + 2 * i, tk->s, tk->len);
	} else if (set_key(q, 6 + 2 * i, tenant, "profile:", ev->profile_id) != 0) {
		return -1;
	}
	set_arg(q, a, ev->id, strlen(ev->id));
	set_arg(q, a + 1, ext, strlen(ext));
	set_arg(q, a + 2, mp, mplen); /* msgpack is binary: never strlen */
	set_arg(q, a + 3, it->check_profile ? "1" : "0", 1);
	return 0;
}

/*
 * Fills q->argv with the keys and arguments of c (see ingest.lua). They
 * only need to live until redis_evalsha returns, which copies them.
 */
static int
build_args(struct sg_ingest_queue *q, const struct call *c, const char *idem_key,
	   const char *idem_hash, int *nkeys, int *argc)
{
	struct sg_buf *enc = &q->t->enc;
	const char *tenant = c->slot[0].b->r->tenant;
	size_t nk = 5 + 2 * c->n, off[EVENTS_PER_CALL + 1], i;
	struct tenant_key tk = {NULL, 0};

	arena_reset(&q->keys);
	if (args_fixed(q, tenant, idem_key) != 0 || encode_all(enc, c, off) != 0) {
		return -1;
	}
	set_arg(q, nk, idem_hash ? idem_hash : "", idem_hash ? strlen(idem_hash) : 0);
	set_arg(q, nk + 1, IDEM_TTL_S, strlen(IDEM_TTL_S));
	/* KEYS[5] is the tenant key unless it holds the idempotency record */
	if (idem_key == NULL) {
		tk.s = q->argv[4];
		tk.len = q->argvlen[4];
	} else {
		tk.s = key_dup(q, tenant, "tenant", NULL, &tk.len);
	}
	if (tk.s == NULL) {
		return -1;
	}
	/* every slot is of one tenant: queues are per tenant, a lone call has one request */
	for (i = 0; i < c->n; i++) {
		if (args_event(q, tenant, &tk, &c->slot[i], i, nk, enc->data + off[i],
			       off[i + 1] - off[i]) != 0) {
			return -1;
		}
	}
	*nkeys = (int)nk;
	*argc = (int)(nk + 2 + 4 * c->n);
	return 0;
}

/* Sends c as one script call; when it cannot be sent every slot gets 503 at once. */
static void
call_send(struct call *c, const char *idem_key, const char *idem_hash)
{
	struct sg_ingest_queue *q = c->q;
	size_t n = c->n; /* c belongs to the callback once sent */
	int nkeys, argc;

	if (build_args(q, c, idem_key, idem_hash, &nkeys, &argc) != 0 ||
	    redis_evalsha(q->t->redis, SG_SCRIPT_INGEST, nkeys, argc, q->argv, q->argvlen,
			  call_done, c) != 0) {
		call_fail(c, 503);
		return;
	}
	metrics_count_ingest_call(n);
}

/*
 * A submission of n items of r, each event stamped (evt_ id, received
 * time, tenant). NULL when memory ran out: then every item got 503 and
 * done already ran.
 */
static struct batch *
batch_start(struct sg_req *r, struct sg_ingest_item *items, size_t n, sg_ingest_done done)
{
	struct batch *b = arena_alloc(&r->arena, sizeof(*b));
	int64_t now = time_now_ms();
	size_t i;

	for (i = 0; i < n; i++) {
		struct sg_event *ev = items[i].ev;
		ids_event(now, ev->id);
		ev->received_ms = now;
		ev->tenant = r->tenant;
		items[i].status = 503; /* until Redis answers */
	}
	if (!b) {
		done(r, items, n);
		return NULL;
	}
	b->r = r;
	b->items = items;
	b->n = n;
	b->pending = n + 1; /* held until every item is handed over */
	b->done = done;
	return b;
}

void
ingest_submit(struct sg_req *r, struct sg_ingest_item *items, size_t n, const char *idem_key,
	      const char *idem_hash, sg_ingest_done done)
{
	struct batch *b = batch_start(r, items, n, done);
	struct call *c;
	size_t i, j;

	if (!b) {
		return;
	}
	for (i = 0; i < n; i += EVENTS_PER_CALL) {
		size_t k = n - i < EVENTS_PER_CALL ? n - i : EVENTS_PER_CALL;
		if (!(c = call_get(r->thr->ingest))) {
			for (j = 0; j < k; j++) {
				batch_release(b); /* those items keep their 503 */
			}
			continue;
		}
		for (j = 0; j < k; j++) {
			call_add(c, b, &items[i + j]);
		}
		call_send(c, idem_key, idem_hash);
	}
	batch_release(b);
}

/* The call collecting tenant's single events, unlinked from q->active. */
static struct call *
queue_take(struct sg_ingest_queue *q, const char *tenant)
{
	struct call **link;

	/* linear: a loop iteration sees few tenants, bounded by the requests it reads */
	for (link = &q->active; *link; link = &(*link)->next) {
		struct call *c = *link;
		if (strcmp(c->slot[0].b->r->tenant, tenant) == 0) {
			*link = c->next;
			c->next = NULL;
			return c;
		}
	}
	return call_get(q);
}

static void
queue_arm(struct sg_ingest_queue *q)
{
	if (!q->armed) {
		q->armed = 1;
		event_active(q->flush_ev, EV_TIMEOUT, 0);
	}
}

void
ingest_submit_one(struct sg_req *r, struct sg_ingest_item *it, const char *idem_key,
		  const char *idem_hash, sg_ingest_done done)
{
	struct sg_ingest_queue *q = r->thr->ingest;
	struct batch *b;
	struct call *c;

	if (idem_hash) {
		/* the script checks and records an Idempotency-Key per call */
		ingest_submit(r, it, 1, idem_key, idem_hash, done);
		return;
	}
	if (!(b = batch_start(r, it, 1, done))) {
		return;
	}
	if (!(c = queue_take(q, r->tenant))) {
		batch_release(b);
		batch_release(b); /* out of memory: the item keeps its 503 */
		return;
	}
	call_add(c, b, it);
	batch_release(b); /* the call holds the remaining outcome */
	if (c->n == EVENTS_PER_CALL) {
		call_send(c, NULL, NULL);
		return;
	}
	c->next = q->active;
	q->active = c;
	queue_arm(q);
}

/* Sends every tenant's queued single events: one call per tenant. */
static void
queue_flush(struct sg_ingest_queue *q)
{
	struct call *c;

	/* unlinked first: a failed send answers requests, which may queue again */
	while ((c = q->active)) {
		q->active = c->next;
		c->next = NULL;
		call_send(c, NULL, NULL);
	}
}

static void
flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sg_ingest_queue *q = arg;

	(void)fd;
	(void)what;
	q->armed = 0;
	queue_flush(q);
}

struct sg_ingest_queue *
ingest_queue_create(struct sg_thread *t)
{
	struct sg_ingest_queue *q = calloc(1, sizeof(*q));

	if (!q) {
		return NULL;
	}
	q->t = t;
	arena_init(&q->keys, 16384);
	q->flush_ev = event_new(t->base, -1, 0, flush_cb, q);
	if (!q->flush_ev) {
		free(q);
		return NULL;
	}
	return q;
}

void
ingest_queue_destroy(struct sg_ingest_queue *q)
{
	struct call *c;

	if (!q) {
		return;
	}
	while ((c = q->active)) {
		q->active = c->next;
		call_fail(c, 503); /* the loop is gone: answered, never silently dropped */
	}
	while ((c = q->spare)) {
		q->spare = c->next;
		free(c);
	}
	event_free(q->flush_ev);
	arena_finish(&q->keys);
	free(q);
}
