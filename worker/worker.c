/* The consumer loop of one worker process. */
#include "worker.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "journal.h"
#include "log.h"
#include "timeutil.h"
#include "worker_private.h"

#define REFRESH_EVERY_US 2000000  /* re-read sg:tenants */
#define MAINTAIN_EVERY_US 5000000 /* reclaim and trim */
#define ERROR_PAUSE_MS 200        /* after an unexpected error reply */
#define MIN_PER_STREAM 64         /* XREADGROUP COUNT per stream at least */

/* 1 when every stream is read with ">" (the read may block). */
static int
all_new(const struct sg_tenants *t)
{
	for (size_t i = 0; i < t->n; i++) {
		if (strcmp(t->v[i].cursor, ">") != 0) {
			return 0;
		}
	}
	return 1;
}

/* --batch is shared by the streams: one read holds about that many entries. */
static size_t
per_stream_count(const struct sg_worker *w)
{
	size_t n = w->tenants.n;

	return n > 0 && (size_t)w->opts->batch / n > MIN_PER_STREAM ? (size_t)w->opts->batch / n
	                                                            : (size_t)MIN_PER_STREAM;
}

/* XREADGROUP GROUP <g> <consumer> COUNT <per_stream> BLOCK <ms> STREAMS <streams...> <ids...>. */
static redisReply *
read_entries(struct sg_worker *w, size_t per_stream)
{
	size_t n = w->tenants.n;
	const char **argv = calloc(9 + 2 * n, sizeof(*argv));
	size_t *argvlen = calloc(9 + 2 * n, sizeof(*argvlen));
	char count[24];
	char block[24];
	int blocking = all_new(&w->tenants);
	redisReply *r = NULL;
	size_t argc = 0;

	if (argv == NULL || argvlen == NULL) {
		goto cleanup;
	}
	snprintf(count, sizeof(count), "%zu", per_stream);
	snprintf(block, sizeof(block), "%d", w->opts->block_ms);
	const char *head[] = {"XREADGROUP", "GROUP", SG_GROUP, w->opts->consumer, "COUNT",
	                      count,        "BLOCK", block,    "STREAMS"};
	for (size_t i = 0; i < 9; i++) {
		argv[argc++] = head[i];
	}
	for (size_t i = 0; i < n; i++) {
		argv[argc++] = w->tenants.v[i].stream;
	}
	for (size_t i = 0; i < n; i++) {
		argv[argc++] = w->tenants.v[i].cursor;
	}
	for (size_t i = 0; i < argc; i++) {
		argvlen[i] = strlen(argv[i]);
	}
	if (blocking) {
		rconn_set_timeout(&w->rc, w->opts->block_ms + SG_RCONN_IO_TIMEOUT_MS);
	}
	r = rconn_call(&w->rc, (int)argc, argv, argvlen);
	if (blocking) {
		rconn_set_timeout(&w->rc, SG_RCONN_IO_TIMEOUT_MS);
	}
cleanup:
	free(argv);
	free(argvlen);
	return r;
}

/* Adds one stream's entries to the batch and moves its cursor. */
static void
take_stream(struct sg_worker *w, const redisReply *s)
{
	struct sg_tenant *t = NULL;
	const char *last = NULL;

	if (s->type != REDIS_REPLY_ARRAY || s->elements != 2 ||
	    s->element[0]->type != REDIS_REPLY_STRING) {
		return;
	}
	t = tenants_by_stream(&w->tenants, s->element[0]->str, s->element[0]->len);
	if (t == NULL) {
		return;
	}
	last = batch_add_entries(&w->batch, t, s->element[1], 0, SG_ITEM_TODO, NULL);
	if (strcmp(t->cursor, ">") == 0) {
		return;
	}
	if (last == NULL) {
		strcpy(t->cursor, ">"); /* own pending entries all read: now new ones */
	} else {
		snprintf(t->cursor, sizeof(t->cursor), "%s", last);
	}
}

/* Recreates every group after NOGROUP (a stream or group was deleted). */
static int
recreate_groups(struct sg_worker *w)
{
	for (size_t i = 0; i < w->tenants.n; i++) {
		if (tenants_create_group(&w->rc, &w->tenants.v[i]) == SG_EUNAVAIL) {
			return SG_EUNAVAIL;
		}
	}
	return 0;
}

/*
 * --linger-ms: while reads of new entries come back short (no stream gave
 * as many entries as it was asked for), the next one waits until linger has
 * passed since the last one started, so each read, and the unit it is
 * merged into, holds what arrived meanwhile: with a live stream, many small
 * units cost Redis far more per event than a few larger ones (their events
 * share fewer hours, days, stores, products). A stream with a backlog fills
 * its count, and then the next read follows at once.
 */
static void
linger(struct sg_worker *w)
{
	int64_t wait_us = w->last_read_us + (int64_t)w->opts->linger_ms * 1000 - time_mono_us();

	if (w->opts->linger_ms > 0 && all_new(&w->tenants) && !w->last_read_full && wait_us > 0) {
		rconn_sleep_ms((int)((wait_us + 999) / 1000), w->stop);
	}
}

/* Whether some stream of an XREADGROUP reply gave count entries (it may hold more). */
static int
reply_full(const redisReply *r, size_t count)
{
	for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
		const redisReply *s = r->element[i];

		if (s->type == REDIS_REPLY_ARRAY && s->elements == 2 &&
		    s->element[1]->type == REDIS_REPLY_ARRAY && s->element[1]->elements >= count) {
			return 1;
		}
	}
	return 0;
}

/* Reads one batch from every stream and applies it. Returns 0 or SG_EUNAVAIL. */
static int
worker_step(struct sg_worker *w)
{
	int fresh = all_new(&w->tenants);
	size_t count = per_stream_count(w);
	int64_t start = 0;
	redisReply *r = NULL;
	int rc = 0;

	linger(w);
	start = time_mono_us();
	r = read_entries(w, count);
	if (fresh && r != NULL) {
		w->last_read_us = start;
		w->last_read_full = reply_full(r, count);
	}

	if (r == NULL) {
		return rconn_ok(&w->rc) ? 0 : SG_EUNAVAIL;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		log_warn("XREADGROUP failed", "err", r->str, NULL);
		rc = rconn_is_error(r, "NOGROUP") ? recreate_groups(w) : 0;
		rconn_sleep_ms(ERROR_PAUSE_MS, w->stop);
		goto cleanup;
	}
	batch_reset(&w->batch);
	for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
		take_stream(w, r->element[i]);
	}
	rc = batch_run(w);
	batch_reset(&w->batch);
cleanup:
	freeReplyObject(r);
	return rc;
}

/* Reclaim, trim and sweep the journal of every stream. */
static int
worker_maintain(struct sg_worker *w)
{
	int rc = journal_clock_sync(w);
	int own = w->sweep_own;

	for (size_t i = 0; i < w->tenants.n && rc == 0 && !*w->stop; i++) {
		rc = reclaim_tenant(w, &w->tenants.v[i]);
		rc = rc ? rc : trim_tenant(w, &w->tenants.v[i]);
		rc = rc ? rc : journal_sweep_tenant(w, &w->tenants.v[i], own);
	}
	w->sweep_own = rc == 0 && !*w->stop ? 0 : w->sweep_own;
	return rc;
}

/* One turn of the loop: the periodic jobs that are due, then one batch. */
static void
worker_turn(struct sg_worker *w, int64_t *next_refresh, int64_t *next_maintain)
{
	int64_t now = time_mono_us();

	if (now >= *next_refresh) {
		*next_refresh = now + REFRESH_EVERY_US;
		if (tenants_refresh(&w->tenants, &w->rc) < 0) {
			return;
		}
	}
	if (now >= *next_maintain) {
		*next_maintain = now + MAINTAIN_EVERY_US;
		if (worker_maintain(w) < 0) {
			return;
		}
	}
	if (w->tenants.n == 0) {
		rconn_sleep_ms(w->opts->block_ms < 1000 ? w->opts->block_ms : 1000, w->stop);
		return;
	}
	worker_step(w);
}

int
worker_run(const struct sg_worker_opts *opts, volatile sig_atomic_t *stop)
{
	struct sg_worker w;
	int64_t next_refresh = 0;
	int64_t next_maintain = 0;
	char applied[24];
	char units[24];

	memset(&w, 0, sizeof(w));
	w.opts = opts;
	w.stop = stop;
	rconn_init(&w.rc, opts->host, opts->port);
	tenants_init(&w.tenants);
	plan_init(&w.plan);
	/* a unit's ops are bounded by its events (--apply-batch); a script run's by chunks */
	merge_init(&w.merge, (size_t)opts->apply_max_ops * SG_UNIT_MAX_CHUNKS);
	journal_init(&w);
	batch_init(&w.batch);
	log_info("worker started", "consumer", opts->consumer, NULL);
	while (!*stop) {
		if (!rconn_ok(&w.rc)) {
			if (rconn_reconnect(&w.rc, stop) < 0) {
				break;
			}
			tenants_rewind(
			    &w.tenants); /* what we had read and not acked is ours again */
			next_refresh = 0;
			next_maintain = 0; /* and the chunks it had in flight are swept */
			w.sweep_own = 1;
		}
		worker_turn(&w, &next_refresh, &next_maintain);
	}
	snprintf(applied, sizeof(applied), "%lld", (long long)w.applied);
	snprintf(units, sizeof(units), "%llu", (unsigned long long)w.units);
	log_info("worker stopped", "consumer", opts->consumer, "applied", applied, "chunked_units",
	         units, NULL);
	batch_finish(&w.batch);
	merge_finish(&w.merge);
	plan_finish(&w.plan);
	tenants_finish(&w.tenants);
	rconn_close(&w.rc);
	return 0;
}
