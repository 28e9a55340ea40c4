/*
 * The shared ingest path: canonical events -> EVALSHA "ingest" calls of up
 * to 50 events each, pipelined on the thread's Redis connection -> one
 * outcome per event. The script checks references, idempotency and dedupe
 * and appends to the tenant's stream atomically, so a 2xx is only ever
 * rendered for an event Redis holds.
 *
 * Single events without an Idempotency-Key are coalesced: each loop thread
 * queues them per tenant and sends each tenant's queue as one call at the
 * end of the loop iteration (or as soon as it holds 50 events). Every
 * request still gets the outcome of its own event.
 */
#ifndef SALESGATE_GATEWAY_INGEST_H
#define SALESGATE_GATEWAY_INGEST_H

#include <stddef.h>

struct sg_event;
struct sg_ingest_queue;
struct sg_req;
struct sg_thread;

/* Outcome of one event. */
struct sg_ingest_item {
	struct sg_event *ev;        /* the parsed event (arena), id and times set */
	int check_profile;          /* ev->profile_id was given as a prof_ id: must exist */
	int status;                 /* 201, 200, 404, 409, 503, 500 */
	const char *id;             /* evt_ id stored (201/200), or the missing field (404) */
	const char *stored;         /* 200 / replay: the stored msgpack event (arena) */
	size_t stored_len;
	int replayed;               /* answered from an Idempotency-Key record */
};

/* Called once every item has its outcome, even when the client has left. */
typedef void (*sg_ingest_done)(struct sg_req *r, struct sg_ingest_item *items, size_t n);

/*
 * Stamps each event (evt_ id, received time, tenant), encodes it and sends
 * the items of r in calls of up to 50 events (the batch route). idem_hash
 * is the request's body hash when an Idempotency-Key was sent (one item
 * only; idem_key the key), else NULL. Items that cannot be sent get status
 * 503. items stay r's (arena); r is referenced until every outcome is in.
 * done runs exactly once, possibly before this returns (when nothing
 * could be sent).
 */
void ingest_submit(struct sg_req *r, struct sg_ingest_item *items, size_t n, const char *idem_key,
		   const char *idem_hash, sg_ingest_done done);

/*
 * The single-event route: with an Idempotency-Key (idem_hash set) the item
 * goes alone, as ingest_submit; without, it is stamped and queued on r's
 * thread, to share a call with the other single events of r's tenant read
 * in the same loop iteration. Same outcome contract as ingest_submit: done
 * runs exactly once, after Redis answered (or with 503 when the call could
 * not be sent or failed transiently).
 */
void ingest_submit_one(struct sg_req *r, struct sg_ingest_item *it, const char *idem_key,
		       const char *idem_hash, sg_ingest_done done);

/*
 * Creates the ingest state of loop thread t (t->base and t->redis set):
 * the per-tenant queues, their flush event on t->base, reusable call
 * states and argument space. NULL on ENOMEM.
 */
struct sg_ingest_queue *ingest_queue_create(struct sg_thread *t);

/*
 * Frees q at thread exit, after the thread's Redis client is destroyed
 * (its failed calls come back to q). Single events still queued are
 * answered 503, never dropped. Accepts NULL.
 */
void ingest_queue_destroy(struct sg_ingest_queue *q);

#endif
