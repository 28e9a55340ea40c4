/*
 * The journal of chunked units (apply.lua "stage" / "chunk").
 *
 * Why: the more events one merged unit holds, the fewer ops each event
 * costs Redis (the hour, day and month cells, products and profiles of many
 * events fold into one field each), but one script run must stay short, as
 * it holds Redis for everyone. So a large unit is committed in one short
 * "stage" run (its events' applied bits set, its ops filed in chunks under
 * sg:{t}:journal) and its chunks are applied by one short "chunk" run each,
 * queued right behind the stage on the same pipeline.
 *
 * Exactly once: a chunk is removed in the run that applies it. A worker that
 * dies between the stage and its chunks leaves them filed; every worker's
 * maintenance (journal_sweep_tenant) applies the chunks older than
 * --claim-idle-ms, by which time their stager is presumed gone, and at once
 * those of an earlier life of itself (same consumer name, another nonce:
 * a restarted worker) and, after a reconnect, its own. Applying a chunk
 * twice is impossible either way: the second run finds it gone.
 *
 * Chunk names: "<unit>:<i>", unit = "<unix ms>-<consumer>-<nonce>-<counter>":
 * the time on Redis' clock (TIME, read at every maintenance), so hosts'
 * clocks do not matter; the nonce is random per process, so two processes
 * with the same consumer name (or a restarted one) never file the same
 * name, and the stage refuses a name already filed anyway.
 */
#include <ctype.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "error.h"
#include "journal.h"
#include "keys.h"
#include "log.h"
#include "timeutil.h"
#include "worker_private.h"

void
journal_init(struct sg_worker *w)
{
	uint64_t r = 0;

	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
		r = ((uint64_t)getpid() << 32) ^ (uint64_t)time_mono_us() ^ (uint64_t)time_now_ms();
	}
	snprintf(w->nonce, sizeof(w->nonce), "%016" PRIx64, r);
}

int
journal_clock_sync(struct sg_worker *w)
{
	redisReply *r = rconn_callv(&w->rc, "TIME", NULL);
	int rc = SG_EUNAVAIL;

	if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
	    r->element[0]->type == REDIS_REPLY_STRING && r->element[1]->type == REDIS_REPLY_STRING) {
		int64_t ms = strtoll(r->element[0]->str, NULL, 10) * 1000 +
		             strtoll(r->element[1]->str, NULL, 10) / 1000;

		w->clock_offset_ms = ms - time_now_ms();
		rc = 0;
	}
	freeReplyObject(r);
	return rc;
}

/* Now on Redis' clock (as of the last journal_clock_sync). */
static int64_t
redis_now_ms(const struct sg_worker *w)
{
	return time_now_ms() + w->clock_offset_ms;
}

int
journal_unit_name(struct sg_worker *w, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "%" PRId64 "-%s-%s-%" PRIu64, redis_now_ms(w),
	                 w->opts->consumer, w->nonce, ++w->units);

	return n > 0 && (size_t)n < outlen ? 0 : SG_ETOOLARGE;
}

int
journal_chunk_append(struct sg_worker *w, const char *tenant, const char *name)
{
	char journal[SG_KEY_MAX];
	char dead[SG_KEY_MAX];
	char prefix[SG_KEY_MAX];
	const char *argv[] = {"EVALSHA", w->rc.sha, "2", journal, dead, "chunk", name, prefix};
	size_t argvlen[sizeof(argv) / sizeof(argv[0])];

	if (keys_tenant(journal, sizeof(journal), tenant, "journal") == 0 ||
	    keys_tenant(dead, sizeof(dead), tenant, "deadletter") == 0 ||
	    keys_tenant(prefix, sizeof(prefix), tenant, "") == 0) {
		return SG_ETOOLARGE;
	}
	for (size_t i = 0; i < sizeof(argv) / sizeof(argv[0]); i++) {
		argvlen[i] = strlen(argv[i]);
	}
	return rconn_append(&w->rc, (int)(sizeof(argv) / sizeof(argv[0])), argv, argvlen) < 0
	           ? SG_EUNAVAIL
	           : 0;
}

int
journal_chunk_result(struct sg_worker *w, const char *tenant, const char *name,
                     const redisReply *r)
{
	(void)w;
	if (r->type == REDIS_REPLY_STATUS || r->type == REDIS_REPLY_STRING) {
		if (strcmp(r->str, "failed") == 0) {
			log_error("journal chunk failed: moved to the dead-letter stream", "tenant",
			          tenant, "chunk", name, NULL);
			return SG_EINVAL;
		}
		return strcmp(r->str, "gone") == 0; /* gone: applied by someone else, or never filed */
	}
	log_warn("journal chunk not applied", "tenant", tenant, "chunk", name,
	         "err", r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply", NULL);
	return SG_EUNAVAIL;
}

/* The unix ms a chunk name starts with, or -1. */
static int64_t
chunk_stamp(const char *name)
{
	char *end = NULL;
	long long ms = strtoll(name, &end, 10);

	return end != name && *end == '-' && ms > 0 ? (int64_t)ms : -1;
}

/*
 * Whether chunk name was filed by this worker: "<ms>-<consumer>-<nonce>-
 * <counter>:<i>", parsed from the right (a consumer name may hold '-'),
 * the consumer compared whole. *past is set when the nonce is another one:
 * an earlier life of this worker (a consumer name belongs to one live
 * process; the consumer group relies on that too).
 */
static int
chunk_is_mine(const struct sg_worker *w, const char *name, int *past)
{
	const char *colon = strrchr(name, ':');
	const char *dash = NULL;
	const char *nonce = NULL;
	const char *consumer = strchr(name, '-');
	size_t cl = strlen(w->opts->consumer);

	if (colon == NULL || consumer == NULL) {
		return 0;
	}
	for (dash = colon; dash > name && dash[-1] != '-'; dash--) {
	}
	if (dash - name < 18 || dash == colon) { /* "-<16 hex>-" before the counter */
		return 0;
	}
	nonce = dash - 17;
	for (int i = 0; i < 16; i++) {
		if (!isxdigit((unsigned char)nonce[i])) {
			return 0;
		}
	}
	if (nonce[-1] != '-' || (size_t)(nonce - 1 - (consumer + 1)) != cl ||
	    strncmp(consumer + 1, w->opts->consumer, cl) != 0) {
		return 0;
	}
	*past = strncmp(nonce, w->nonce, 16) != 0;
	return 1;
}

/*
 * Whether the sweep applies chunk name now: filed --claim-idle-ms ago
 * (its worker presumed gone), by an earlier life of this worker, or by
 * this one when own is set (after a reconnect: what it had in flight).
 */
static int
chunk_due(const struct sg_worker *w, const char *name, int64_t before, int own)
{
	int64_t ms = name != NULL ? chunk_stamp(name) : -1;
	int past = 0;

	return ms >= 0 && (ms < before || (chunk_is_mine(w, name, &past) && (past || own)));
}

int
journal_chunk_run(struct sg_worker *w, const char *tenant, const char *name)
{
	redisReply *r = NULL;
	int rc = 0;

	for (int attempt = 0; attempt < 2; attempt++) {
		if (journal_chunk_append(w, tenant, name) < 0 || (r = rconn_reply(&w->rc)) == NULL) {
			return SG_EUNAVAIL;
		}
		rc = journal_chunk_result(w, tenant, name, r);
		if (rc != SG_EUNAVAIL || !rconn_is_error(r, "NOSCRIPT") || attempt > 0 ||
		    rconn_load_script(&w->rc) < 0) {
			freeReplyObject(r);
			return rc;
		}
		freeReplyObject(r); /* the script was flushed: loaded again, once more */
	}
	return rc;
}

int
journal_sweep_tenant(struct sg_worker *w, struct sg_tenant *t, int own)
{
	char journal[SG_KEY_MAX];
	int64_t before = redis_now_ms(w) - w->opts->claim_idle_ms;
	redisReply *keys = NULL;
	int rc = 0;

	if (keys_tenant(journal, sizeof(journal), t->id, "journal") == 0) {
		return 0;
	}
	if ((keys = rconn_callv(&w->rc, "HKEYS", journal, NULL)) == NULL) {
		return SG_EUNAVAIL;
	}
	/* one at a time: pipelined, Redis would run them back to back */
	for (size_t i = 0; keys->type == REDIS_REPLY_ARRAY && i < keys->elements && rc == 0; i++) {
		const char *name = keys->element[i]->str;

		if (!chunk_due(w, name, before, own)) {
			continue;
		}
		rc = journal_chunk_run(w, t->id, name);
		if (rc == 0) {
			log_info("journal chunk swept", "tenant", t->id, "chunk", name, NULL);
		}
		rc = rc == SG_EUNAVAIL && !rconn_ok(&w->rc) ? rc : 0;
	}
	freeReplyObject(keys);
	return rc;
}
