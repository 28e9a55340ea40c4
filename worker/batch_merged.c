/*
 * Applies a batch in merged units (--apply-batch N > 1). One event costs
 * Redis a few dozen small ops, ~1.5 us each inside a script; the events of
 * one tenant share many keys and fields (same hour, store, product), so
 * merging up to N of them into one plan (worker/merge.h) sends fewer ops
 * per event: Redis 77 -> 47 us/event at N = 256 (before profiles and
 * products kept hours only), 74 -> 35 from N = 256 to 2048 in chunks with
 * the listpack limit of deploy/redis.conf (bench isolated drain).
 *
 * Per tenant, in stream order, a unit is either
 *  - merged: consecutive non-UPSERT events, at most N, one EVALSHA that
 *    applies all of them or none; when its plan has more than
 *    --apply-max-ops ops, a "stage" EVALSHA that commits all of them or none
 *    and then one "chunk" EVALSHA per --apply-max-ops ops (journal.c), so
 *    merging many events never makes one script run long; or
 *  - alone: consecutive UPSERT events (and events that cannot be merged),
 *    one "apply" EVALSHA each, as with --apply-batch 1.
 * UPSERTs stay alone because their plan depends on the stored contrib
 * record (compare and set, "stale" retries): merging would need the
 * records of the whole unit at once. Splitting at them keeps stream order.
 *
 * Order. Each merged unit leaves the state of its events applied one by one
 * (merge.h), so applying the units in stream order gives the state of the
 * events one by one in stream order. A wave queues every tenant's units in
 * stream order (one pipeline) and then reads the replies; only a unit sent
 * back (refused or "stale") is applied out of order, after the tenant's later
 * units, in the next wave. So a wave is made so that none is sent back
 * unless another worker applies the same entries at the same time (no order
 * is defined then anyway):
 *  - before the first wave, one BITFIELD_RO per tenant finds the events
 *    already applied (a redelivery after a crash): acknowledged, not sent;
 *    a second entry with the q of an earlier one is applied alone (it finds
 *    its bit set and is acknowledged) instead of being merged;
 *  - a tenant's wave ends before an UPSERT whose upsert key an earlier
 *    UPSERT of the wave has: its contrib record is read again after that
 *    one is applied.
 * A merged unit that fails otherwise (an error reply, a key too long) is
 * retried event by event in the next wave, so one bad event cannot hold the
 * others back. Ops of different tenants share no key: their order does not
 * matter.
 *
 * Each merged EVALSHA is written to the socket as soon as it is built, so
 * Redis runs it while the next unit is merged (with several units per
 * read: --batch above --apply-batch, several tenants, UPSERTs between); a
 * chunked unit is run step by step instead (unit_send_chunked).
 */
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "error.h"
#include "journal.h"
#include "keys.h"
#include "log.h"
#include "merge.h"
#include "worker_private.h"

/* One EVALSHA group of a wave. */
struct unit {
	size_t from;                    /* first item */
	size_t to;                      /* after the last item; its TODO items were sent */
	int merged;                     /* 1: one "batch" EVALSHA; 0: one "apply" per item */
	int queued;                     /* EVALSHAs queued (a chunked unit: 0, run at once) */
	size_t chunks;                  /* chunked unit: its "chunk" runs (chunks 2..) */
	int chunks_left;                /* chunked unit: some chunk came back unapplied */
	char name[SG_JOURNAL_UNIT_MAX]; /* chunked unit: its journal name */
};

/* The units of one wave and the part of every tenant run it covers. */
struct wave {
	struct unit *units;    /* units in the order they were queued */
	size_t nu;             /* units used */
	size_t nread;          /* units whose replies are read */
	struct sg_range *runs; /* per tenant run: [first TODO item, end of this wave) */
	size_t nr;             /* runs used */
	int *reload;           /* set when a reply said NOSCRIPT */
};

static int unit_replies(struct sg_worker *w, struct unit *u, int *reload);
static void unit_result_merged(struct sg_worker *w, struct unit *u, const redisReply *r,
                               int *reload);

/* Whether item it is applied alone ("apply" mode). */
static int
item_alone(const struct sg_item *it)
{
	return it->solo || apply_is_upsert(&it->ev);
}

/* Queues BITFIELD_RO GET u1 <q> of every TODO item of r. Returns the GETs queued or an error. */
static int
applied_query(struct sg_worker *w, const struct sg_range *r)
{
	struct sg_batch *b = &w->batch;
	size_t n = 2 + 3 * (r->to - r->from);
	const char **argv = arena_alloc(&b->arena, n * sizeof(*argv));
	size_t *argvlen = arena_alloc(&b->arena, n * sizeof(*argvlen));
	char key[SG_KEY_MAX];
	char *q = NULL;
	int argc = 2;

	if (argv == NULL || argvlen == NULL ||
	    keys_tenant(key, sizeof(key), b->v[r->from].tenant->id, "applied") == 0) {
		return SG_ENOMEM;
	}
	argv[0] = "BITFIELD_RO";
	argv[1] = key;
	for (size_t i = r->from; i < r->to; i++) {
		if (b->v[i].state != SG_ITEM_TODO) {
			continue;
		}
		if ((q = arena_alloc(&b->arena, 24)) == NULL) {
			return SG_ENOMEM;
		}
		snprintf(q, 24, "%" PRId64, b->v[i].q);
		argv[argc++] = "GET";
		argv[argc++] = "u1";
		argv[argc++] = q;
	}
	for (int i = 0; i < argc; i++) {
		argvlen[i] = strlen(argv[i]);
	}
	if (argc == 2) {
		return 0;
	}
	return rconn_append(&w->rc, argc, argv, argvlen) < 0 ? SG_EUNAVAIL : (argc - 2) / 3;
}

/* Marks DONE the TODO items of r whose bit the BITFIELD_RO reply says is set. */
static void
applied_take(struct sg_worker *w, const struct sg_range *r, const redisReply *reply)
{
	size_t k = 0;

	if (reply->type != REDIS_REPLY_ARRAY) {
		return; /* the script checks every bit anyway */
	}
	for (size_t i = r->from; i < r->to && k < reply->elements; i++) {
		struct sg_item *it = &w->batch.v[i];

		if (it->state != SG_ITEM_TODO) {
			continue;
		}
		if (reply->element[k]->type == REDIS_REPLY_INTEGER &&
		    reply->element[k]->integer == 1) {
			it->state = SG_ITEM_DONE; /* applied before: acknowledged */
		}
		k++;
	}
}

/* A TODO item's q and index, sorted to find repeated q's. */
struct q_at {
	int64_t q;
	size_t i;
};

static int
q_at_cmp(const void *a, const void *b)
{
	const struct q_at *x = a;
	const struct q_at *y = b;

	if (x->q != y->q) {
		return x->q < y->q ? -1 : 1;
	}
	return x->i < y->i ? -1 : (x->i > y->i);
}

/*
 * Marks alone every TODO item of r whose q an earlier TODO item of r has
 * (sorted: a read holds thousands of items). Returns 0 or SG_ENOMEM.
 */
static int
repeated_q_alone(struct sg_batch *b, const struct sg_range *r)
{
	struct q_at *v = malloc((r->to - r->from + 1) * sizeof(*v));
	size_t n = 0;

	if (v == NULL) {
		return SG_ENOMEM;
	}
	for (size_t i = r->from; i < r->to; i++) {
		if (b->v[i].state == SG_ITEM_TODO) {
			v[n].q = b->v[i].q;
			v[n++].i = i;
		}
	}
	qsort(v, n, sizeof(*v), q_at_cmp);
	for (size_t k = 1; k < n; k++) {
		if (v[k].q == v[k - 1].q) {
			b->v[v[k].i].solo = 1;
		}
	}
	free(v);
	return 0;
}

/*
 * Finds the items already applied (one BITFIELD_RO per tenant run, one
 * pipeline) and the repeated q's. Returns 0 or SG_EUNAVAIL; other failures
 * only leave the check to the script.
 */
static int
batch_precheck(struct sg_worker *w, const struct sg_range *runs, size_t nr)
{
	int *queued = calloc(nr + 1, sizeof(*queued));
	redisReply *r = NULL;
	int rc = 0;

	for (size_t k = 0; k < nr && queued != NULL && rc == 0; k++) {
		rc = applied_query(w, &runs[k]);
		queued[k] = rc > 0;
		rc = rc == SG_EUNAVAIL ? rc : 0;
	}
	for (size_t k = 0; k < nr && queued != NULL && rc == 0; k++) {
		if (!queued[k]) {
			continue;
		}
		if ((r = rconn_reply(&w->rc)) == NULL) {
			rc = SG_EUNAVAIL;
			break;
		}
		applied_take(w, &runs[k], r);
		freeReplyObject(r);
	}
	for (size_t k = 0; k < nr && rc == 0; k++) {
		if (repeated_q_alone(&w->batch, &runs[k]) < 0) {
			break; /* merge_add refuses a repeated q anyway: it starts a new unit */
		}
	}
	free(queued);
	return rc;
}

/* Marks the TODO items of the unit to be applied alone from now on. */
static void
unit_solo(struct sg_worker *w, struct unit *u, const char *why)
{
	for (size_t i = u->from; i < u->to; i++) {
		if (w->batch.v[i].state == SG_ITEM_TODO) {
			w->batch.v[i].solo = 1;
		}
	}
	log_warn("merged apply failed, retrying event by event", "stream",
	         w->batch.v[u->from].tenant->stream, "id", w->batch.v[u->from].id, "err", why,
	         NULL);
}

/* Queues the "apply" EVALSHA of every TODO item of the unit. */
static int
unit_send_alone(struct sg_worker *w, struct unit *u)
{
	int rc = 0;

	for (size_t i = u->from; i < u->to && rc == 0; i++) {
		if (w->batch.v[i].state == SG_ITEM_TODO) {
			rc = batch_item_send(w, &w->batch.v[i]);
			u->queued += rc == 0 && w->batch.v[i].state == SG_ITEM_TODO;
		}
	}
	return rc;
}

/*
 * Merges one item into w->merge. Returns 1 when merged or dropped (its plan
 * cannot be built), 0 when the unit ends before it, or SG_ENOMEM.
 */
static int
unit_merge_item(struct sg_worker *w, struct sg_item *it)
{
	struct sg_error err;
	int rc = 0;

	if (item_alone(it) || merge_events(&w->merge) >= (size_t)w->opts->apply_batch) {
		return 0;
	}
	error_clear(&err);
	rc = apply_build(&w->plan, &it->ev, it->tenant->id, it->q, NULL, 0, &err);
	if (rc < 0) {
		batch_item_unbuildable(w, it, rc, &err);
		return 1;
	}
	rc = merge_add(&w->merge, &w->plan);
	if (rc == SG_EINVAL) {
		it->solo = 1; /* a shape merging would not reproduce: applied alone */
	}
	return rc == 0 ? 1 : (rc == SG_ENOMEM ? SG_ENOMEM : 0);
}

/* Name of the unit's i-th "chunk" run (0-based): chunk i + 2, the stage applies 1. */
static const char *
chunk_name(const struct unit *u, size_t i, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s:%zu", u->name, i + 2);
	return out;
}

/* Reads the replies of the units queued before u, in order. Returns 0 or SG_EUNAVAIL. */
static int
wave_sync(struct sg_worker *w, struct wave *wv, const struct unit *u)
{
	int rc = 0;

	for (; rc == 0 && wv->nread < (size_t)(u - wv->units); wv->nread++) {
		rc = unit_replies(w, &wv->units[wv->nread], wv->reload);
	}
	return rc;
}

/*
 * Runs a merged plan too large for one script run: its "stage" EVALSHA
 * (journal.c: applies chunk 1, files the others), then the "chunk" EVALSHA
 * of every other chunk, one at a time: pipelined, Redis would run them back
 * to back (it runs every command a client has sent before serving the
 * next client) and hold the gateways' ingest calls behind all of them. The
 * units queued before it are read first, so replies stay in order.
 */
static int
unit_send_chunked(struct sg_worker *w, struct wave *wv, struct unit *u, struct sg_plan *p)
{
	const char *tenant = w->batch.v[u->from].tenant->id;
	const char **argv = NULL;
	const size_t *argvlen = NULL;
	char chunk[SG_JOURNAL_UNIT_MAX + 24];
	int argc = plan_chunks(p, (size_t)w->opts->apply_max_ops);
	redisReply *r = NULL;
	int staged = 0;

	if (argc > 0 && (argc = journal_unit_name(w, u->name, sizeof(u->name))) == 0) {
		argc = plan_argv_stage(p, w->rc.sha, u->name, &argv, &argvlen);
	}
	if (argc < 0) {
		unit_solo(w, u, error_code_name(argc));
		return 0;
	}
	u->chunks = p->nchunks - 1; /* the stage applies chunk 1 */
	if (wave_sync(w, wv, u) < 0 || rconn_append(&w->rc, argc, argv, argvlen) < 0 ||
	    (r = rconn_reply(&w->rc)) == NULL) {
		return SG_EUNAVAIL;
	}
	staged = r->type == REDIS_REPLY_STATUS || r->type == REDIS_REPLY_STRING;
	unit_result_merged(w, u, r, wv->reload);
	freeReplyObject(r);
	wv->nread++; /* this unit's */
	for (size_t i = 0; staged && i < u->chunks; i++) {
		if (journal_chunk_run(w, tenant, chunk_name(u, i, chunk, sizeof(chunk))) == SG_EUNAVAIL) {
			if (!rconn_ok(&w->rc)) {
				return SG_EUNAVAIL; /* the sweep after the reconnect takes them */
			}
			u->chunks_left = 1; /* still filed: chunks_retry after the wave */
		}
	}
	return 0;
}

/* Merges the TODO items from u->from on, before end, sets u->to, queues the EVALSHA. */
static int
unit_send_merged(struct sg_worker *w, struct wave *wv, struct unit *u, size_t end)
{
	const char **argv = NULL;
	const size_t *argvlen = NULL;
	struct sg_plan *p = NULL;
	int argc = 0;
	int rc = merge_reset(&w->merge, w->batch.v[u->from].tenant->id);

	for (u->to = u->from; rc == 0 && u->to < end; u->to++) {
		if (w->batch.v[u->to].state == SG_ITEM_TODO &&
		    (rc = unit_merge_item(w, &w->batch.v[u->to])) <= 0) {
			u->to += rc < 0; /* out of memory: that item goes alone too */
			break;
		}
		rc = 0;
	}
	if (rc == 0 && merge_events(&w->merge) == 0) {
		return 0; /* all dropped, or the first one goes alone */
	}
	p = rc == 0 ? merge_build(&w->merge) : NULL;
	if (p != NULL && p->nops > (size_t)w->opts->apply_max_ops) {
		return unit_send_chunked(w, wv, u, p);
	}
	argc = p != NULL ? plan_argv(p, w->rc.sha, &argv, &argvlen) : SG_ENOMEM;
	if (argc < 0) {
		unit_solo(w, u, error_code_name(argc));
		return 0;
	}
	u->queued = 1;
	/* written at once: Redis runs it while the next unit is merged */
	return rconn_append(&w->rc, argc, argv, argvlen) < 0 || rconn_flush(&w->rc) < 0
	           ? SG_EUNAVAIL
	           : 0;
}

/* Queues the units of the TODO items of r, in order. */
static int
run_send(struct sg_worker *w, struct wave *wv, const struct sg_range *r)
{
	struct sg_item *v = w->batch.v;
	struct unit *u = NULL;
	size_t i = r->from;
	int rc = 0;

	while (i < r->to && rc == 0) {
		if (v[i].state != SG_ITEM_TODO) {
			i++;
			continue;
		}
		u = &wv->units[wv->nu++];
		memset(u, 0, sizeof(*u));
		u->from = u->to = i;
		if (item_alone(&v[i])) {
			while (u->to < r->to &&
			       (v[u->to].state != SG_ITEM_TODO || item_alone(&v[u->to]))) {
				u->to++;
			}
			rc = unit_send_alone(w, u);
		} else {
			u->merged = 1;
			rc = unit_send_merged(w, wv, u, r->to);
		}
		if (rc == 0 && u->to == i && v[i].state == SG_ITEM_TODO) {
			v[i].solo =
			    1; /* could not start a merged unit: alone, so the loop moves on */
		}
		i = u->to;
	}
	return rc;
}

/* Marks DONE the unit's TODO items whose q the script says were applied before. */
static size_t
unit_dups(struct sg_worker *w, const struct unit *u, const redisReply *r)
{
	size_t n = 0;

	for (size_t k = 0; k < r->elements; k++) {
		if (r->element[k]->type != REDIS_REPLY_INTEGER) {
			continue;
		}
		for (size_t i = u->from; i < u->to; i++) {
			struct sg_item *it = &w->batch.v[i];

			if (it->state == SG_ITEM_TODO && it->q == r->element[k]->integer) {
				it->state = SG_ITEM_DONE;
				n++;
			}
		}
	}
	return n;
}

/* Takes the reply of a merged unit's EVALSHA. */
static void
unit_result_merged(struct sg_worker *w, struct unit *u, const redisReply *r, int *reload)
{
	if (r->type == REDIS_REPLY_STATUS || r->type == REDIS_REPLY_STRING) {
		for (size_t i = u->from; i < u->to; i++) {
			struct sg_item *it = &w->batch.v[i];

			w->applied += it->state == SG_ITEM_TODO;
			it->state = it->state == SG_ITEM_TODO ? SG_ITEM_DONE : it->state;
		}
	} else if (r->type == REDIS_REPLY_ARRAY) {
		if (unit_dups(w, u, r) == 0) {
			unit_solo(w, u, "refused without naming an event of the batch");
		}
	} else if (rconn_is_error(r, "NOSCRIPT")) {
		*reload = 1;
		for (size_t i = u->from; i < u->to; i++) {
			w->batch.v[i].attempts += w->batch.v[i].state == SG_ITEM_TODO;
		}
	} else {
		unit_solo(w, u, r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
	}
}

/*
 * Runs again, one at a time, the chunks of the units that had one come back
 * unapplied (an error reply: OOM, a replica, ...; "chunk" is idempotent, the
 * applied ones answer "gone"). What still fails stays filed for the sweep.
 * Order: what refused a chunk refused the rest of the wave too, which the
 * next wave sends again, after these; only a refusal that came and went
 * within one wave lets a later unit of the wave land first.
 */
static int
chunks_retry(struct sg_worker *w, struct wave *wv)
{
	char chunk[SG_JOURNAL_UNIT_MAX + 24];
	int rc = 0;

	for (size_t k = 0; k < wv->nu && rc == 0; k++) {
		struct unit *u = &wv->units[k];

		for (size_t i = 0; u->chunks_left && i < u->chunks && rc == 0; i++) {
			rc = journal_chunk_run(w, w->batch.v[u->from].tenant->id,
			                       chunk_name(u, i, chunk, sizeof(chunk)));
			rc = rc == SG_EUNAVAIL && !rconn_ok(&w->rc) ? rc : 0;
		}
		u->chunks_left = 0;
	}
	return rc;
}

/* Reads the replies of one unit. */
static int
unit_replies(struct sg_worker *w, struct unit *u, int *reload)
{
	redisReply *r = NULL;
	size_t i = u->from;

	for (int k = 0; k < u->queued; k++) {
		if ((r = rconn_reply(&w->rc)) == NULL) {
			return SG_EUNAVAIL;
		}
		if (u->merged) {
			unit_result_merged(w, u, r, reload);
		} else {
			while (w->batch.v[i].state != SG_ITEM_TODO) {
				i++; /* the item of this reply: the next one still TODO */
			}
			batch_item_result(w, &w->batch.v[i], r, reload);
			w->batch.v[i].attempts += w->batch.v[i].state == SG_ITEM_TODO;
			i++;
		}
		freeReplyObject(r);
	}
	return 0;
}

/*
 * End of a tenant's wave from its first TODO item: before the first UPSERT
 * whose upsert key an earlier TODO UPSERT of the wave has (its contrib record
 * is read after that one is applied), else the end of the run.
 */
static size_t
wave_end(const struct sg_batch *b, size_t from, size_t run_end)
{
	for (size_t i = from; i < run_end; i++) {
		if (b->v[i].state != SG_ITEM_TODO || !apply_is_upsert(&b->v[i].ev)) {
			continue;
		}
		for (size_t j = from; j < i; j++) {
			if (b->v[j].state == SG_ITEM_TODO && apply_is_upsert(&b->v[j].ev) &&
			    strcmp(b->v[j].ev.upsert_key, b->v[i].ev.upsert_key) == 0) {
				return i;
			}
		}
	}
	return run_end;
}

/*
 * One wave: the part of every tenant run wave_end allows, queued in order
 * (one pipeline), then the replies read; *wv->reload set on NOSCRIPT.
 * Returns 0 or SG_EUNAVAIL.
 */
static int
wave_run(struct sg_worker *w, struct wave *wv, const struct sg_range *runs, size_t nr)
{
	struct sg_batch *b = &w->batch;
	int rc = 0;

	wv->nu = 0;
	wv->nread = 0;
	for (size_t k = 0; k < nr; k++) {
		size_t i = runs[k].from;

		while (i < runs[k].to && b->v[i].state != SG_ITEM_TODO) {
			i++;
		}
		wv->runs[k].from = i;
		wv->runs[k].to = wave_end(b, i, runs[k].to);
	}
	rc = batch_fetch_contrib(w, wv->runs, nr);
	for (size_t k = 0; k < nr && rc == 0; k++) {
		rc = run_send(w, wv, &wv->runs[k]);
	}
	for (; wv->nread < wv->nu && rc == 0; wv->nread++) {
		rc = unit_replies(w, &wv->units[wv->nread], wv->reload);
	}
	for (size_t k = 0; k < wv->nu && rc == 0; k++) {
		if (wv->units[k].chunks_left) {
			return chunks_retry(w, wv);
		}
	}
	return rc;
}

/* Leaves pending (FAILED) the TODO items sent too often; returns how many stay TODO. */
static size_t
batch_give_up(struct sg_batch *b)
{
	size_t todo = 0;

	for (size_t i = 0; i < b->n; i++) {
		struct sg_item *it = &b->v[i];

		if (it->state == SG_ITEM_TODO && it->attempts >= SG_BATCH_APPLY_ROUNDS) {
			it->state = SG_ITEM_FAILED;
			log_warn("event not applied after retries", "id", it->id, NULL);
		}
		todo += it->state == SG_ITEM_TODO;
	}
	return todo;
}

/* The runs of items of one tenant (the batch holds each stream's entries together). */
static size_t
batch_runs(const struct sg_batch *b, struct sg_range *runs)
{
	size_t nr = 0;
	size_t from = 0;

	for (size_t i = 1; i <= b->n; i++) {
		if (i == b->n || b->v[i].tenant != b->v[from].tenant) {
			runs[nr].from = from;
			runs[nr++].to = i;
			from = i;
		}
	}
	return nr;
}

int
batch_apply_merged(struct sg_worker *w)
{
	size_t n = w->batch.n;
	struct sg_range *runs = calloc(n + 1, sizeof(*runs));
	int reload = 0;
	struct wave wv = {calloc(2 * n + 1, sizeof(struct unit)), 0, 0,
	                  calloc(n + 1, sizeof(*runs)), 0, &reload};
	int rc = 0;

	if (runs == NULL || wv.units == NULL || wv.runs == NULL) {
		goto done; /* nothing applied: left pending, read again */
	}
	wv.nr = batch_runs(&w->batch, runs);
	rc = batch_precheck(w, runs, wv.nr);
	/* every wave settles an item, isolates a failed unit or counts an attempt: it ends */
	while (rc == 0 && batch_give_up(&w->batch) > 0) {
		if (reload && rconn_load_script(&w->rc) < 0) {
			rc = rconn_ok(&w->rc) ? 0 : SG_EUNAVAIL;
			break;
		}
		reload = 0;
		rc = wave_run(w, &wv, runs, wv.nr);
	}
done:
	free(runs);
	free(wv.units);
	free(wv.runs);
	return rc;
}
