/*
 * The journal of chunked units: a merged unit too large for one script run
 * is committed by one "stage" run and applied by one "chunk" run per chunk
 * (common/lua/apply.lua, journal.c).
 */
#ifndef SALESGATE_WORKER_JOURNAL_H
#define SALESGATE_WORKER_JOURNAL_H

#include <stddef.h>

struct redisReply;
struct sg_tenant;
struct sg_worker;

#define SG_JOURNAL_UNIT_MAX 128 /* longest unit name, NUL included */
#define SG_UNIT_MAX_CHUNKS 64   /* a merged unit holds at most this many --apply-max-ops */

/* Draws w's nonce (once per process). */
void journal_init(struct sg_worker *w);

/*
 * Reads Redis TIME into w's clock offset, so that unit times and the
 * sweep's age use Redis' clock, not each host's. Returns 0 or SG_EUNAVAIL.
 * Not while a pipeline is in flight.
 */
int journal_clock_sync(struct sg_worker *w);

/*
 * A new unit name into out: "<unix ms>-<consumer>-<nonce>-<counter>", the
 * time on Redis' clock. Returns 0 or SG_ETOOLARGE.
 */
int journal_unit_name(struct sg_worker *w, char *out, size_t outlen);

/* Queues the "chunk" EVALSHA of chunk name of tenant. Returns 0 or SG_E*. */
int journal_chunk_append(struct sg_worker *w, const char *tenant, const char *name);

/*
 * Takes a "chunk" reply (logged unless applied). Returns 0 when this run
 * applied the chunk, 1 when it was gone (applied before, or never filed),
 * SG_EINVAL when it failed (now in the dead-letter stream), SG_EUNAVAIL when
 * it is still filed (an error reply).
 */
int journal_chunk_result(struct sg_worker *w, const char *tenant, const char *name,
                         const struct redisReply *r);

/*
 * Runs the "chunk" EVALSHA of chunk name and reads its reply (loading the
 * script again once on NOSCRIPT). Nothing else may be in flight. Returns
 * as journal_chunk_result, or SG_EUNAVAIL when the connection broke.
 */
int journal_chunk_run(struct sg_worker *w, const char *tenant, const char *name);

/*
 * Applies, one run at a time, the chunks of tenant t filed more than
 * --claim-idle-ms ago (their worker stopped between stage and chunks), those
 * of an earlier life of this worker, and with own set (after a reconnect)
 * its own. Returns 0 or SG_EUNAVAIL.
 */
int journal_sweep_tenant(struct sg_worker *w, struct sg_tenant *t, int own);

#endif
