/*
 * Inside of a worker process, shared by worker.c (the loop), batch.c
 * (apply + ack), reclaim.c (dead consumers, dead letters) and trim.c.
 */
#ifndef SALESGATE_WORKER_WORKER_PRIVATE_H
#define SALESGATE_WORKER_WORKER_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "event.h"
#include "merge.h"
#include "plan.h"
#include "rconn.h"
#include "tenants.h"
#include "worker.h"

struct redisReply;
struct sg_error;

#define SG_BATCH_APPLY_ROUNDS 8 /* NOSCRIPT / stale retries of an item within one batch */

enum sg_item_state {
	SG_ITEM_TODO = 0,   /* decoded, to apply */
	SG_ITEM_DONE,       /* applied now or before: XACK */
	SG_ITEM_FAILED,     /* left pending: reclaimed and retried later */
	SG_ITEM_DEADLETTER, /* to move to the dead-letter stream */
	SG_ITEM_DEAD,       /* dead-lettered (the script acknowledged it) */
};

/* One stream entry of a batch. Strings point into the reply it came from. */
struct sg_item {
	struct sg_tenant *tenant; /* stream it came from */
	const char *id;           /* stream entry id */
	const char *e;            /* msgpack event; NULL when the entry has none */
	size_t elen;              /* length of e */
	int64_t q;                /* tenant sequence number (field q) */
	int deliveries;           /* delivery count when known, else 0 */
	enum sg_item_state state; /* what happens to it next */
	const char *reason;       /* SG_ITEM_DEADLETTER: why (arena or static) */
	const char *contrib;      /* stored contrib record of an UPSERT (arena); NULL none */
	size_t contrib_len;       /* length of contrib */
	struct sg_event ev;       /* decoded event (arena) */
	int attempts;             /* sends that came back NOSCRIPT or "stale" */
	int solo;                 /* apply alone, never merged (batch_merged.c) */
};

/* The entries being applied together, and the memory they decode into. */
struct sg_batch {
	struct sg_item *v;     /* items */
	size_t n;              /* items used */
	size_t cap;            /* items allocated */
	struct sg_arena arena; /* decoded events, reasons, contrib copies */
};

struct sg_worker {
	const struct sg_worker_opts *opts; /* borrowed */
	volatile sig_atomic_t *stop;       /* set by the signal handler */
	struct sg_rconn rc;                /* the Redis connection */
	struct sg_tenants tenants;         /* streams consumed */
	struct sg_plan plan;               /* reused for every event */
	struct sg_merge merge;             /* reused for every merged unit (--apply-batch > 1) */
	struct sg_batch batch;             /* reused for every batch */
	int64_t applied;                   /* events applied since start (stats) */
	uint64_t units;                    /* chunked units staged (journal unit names) */
	char nonce[17];                    /* random per process: unit names never collide */
	int64_t clock_offset_ms;           /* Redis TIME - this host's clock (journal times) */
	int64_t last_read_us;              /* monotonic start of the last read of new entries */
	int last_read_full;                /* some stream gave all it was asked for */
	int sweep_own;                     /* next sweep: own chunks too (after a reconnect) */
};

/* Prepares an empty batch; allocates nothing. */
void batch_init(struct sg_batch *b);

/* Frees the batch. Accepts NULL. */
void batch_finish(struct sg_batch *b);

/* Empties the batch, keeping its memory. */
void batch_reset(struct sg_batch *b);

/* Appends a zeroed item. Returns it, or NULL when out of memory. */
struct sg_item *batch_push(struct sg_batch *b);

/*
 * Adds the entries of an XREADGROUP / XCLAIM / XRANGE entry array
 * ([[id, [field, value, ...]], ...]) of tenant t. The reply must outlive
 * the batch run. Entries without e or q are marked for the dead-letter
 * stream; deleted ones (nil fields) are acknowledged. state is the initial
 * state of well-formed entries (SG_ITEM_TODO, or SG_ITEM_DEADLETTER with
 * reason). Returns the id of the last entry (in the reply) or NULL when none.
 */
const char *batch_add_entries(struct sg_batch *b, struct sg_tenant *t,
                              const struct redisReply *entries, int deliveries,
                              enum sg_item_state state, const char *reason);

/*
 * Decodes, applies (pipelined EVALSHA, NOSCRIPT and "stale" retried),
 * dead-letters and acknowledges (one XACK per stream) every item of w's
 * batch. Returns 0, or SG_EUNAVAIL when the connection broke (the
 * unacknowledged entries stay pending and are read again).
 */
int batch_run(struct sg_worker *w);

/* Items [from, to) of a batch. */
struct sg_range {
	size_t from; /* first item */
	size_t to;   /* after the last */
};

/*
 * Reads the stored contrib record of every TODO UPSERT item of the n
 * ranges (one pipeline) into it->contrib. Returns 0 or SG_EUNAVAIL.
 */
int batch_fetch_contrib(struct sg_worker *w, const struct sg_range *ranges, size_t n);

/*
 * Builds item it's own apply plan ("apply" mode, w->plan) and queues its
 * EVALSHA. An item whose plan cannot be built changes state (dead-letter,
 * or left pending when out of memory) and nothing is queued. Returns 0, or
 * SG_EUNAVAIL when the connection broke.
 */
int batch_item_send(struct sg_worker *w, struct sg_item *it);

/*
 * Takes the reply r (borrowed) of item it's "apply" EVALSHA: DONE on "ok" /
 * "dup", still TODO on "stale" or NOSCRIPT (then sets *reload), FAILED on
 * any other error.
 */
void batch_item_result(struct sg_worker *w, struct sg_item *it, const struct redisReply *r,
                       int *reload);

/*
 * Marks item it, whose plan could not be built (rc, err may be NULL),
 * for the dead-letter stream, or as failed (left pending) when rc is
 * SG_ENOMEM, and logs why.
 */
void batch_item_unbuildable(struct sg_worker *w, struct sg_item *it, int rc,
                            const struct sg_error *err);

/*
 * Applies every TODO item of w's batch in merged units (batch_merged.c,
 * --apply-batch > 1). Returns 0, or SG_EUNAVAIL when the connection broke.
 */
int batch_apply_merged(struct sg_worker *w);

/*
 * Reclaims tenant t's entries idle for claim_idle_ms: dead-letters those
 * delivered max_deliveries times or more, claims and applies the rest.
 * Returns 0 or SG_EUNAVAIL.
 */
int reclaim_tenant(struct sg_worker *w, struct sg_tenant *t);

/*
 * Trims tenant t's stream with XTRIM MINID below the lowest entry any
 * consumer group still needs. Returns 0 or SG_EUNAVAIL.
 */
int trim_tenant(struct sg_worker *w, struct sg_tenant *t);

#endif
