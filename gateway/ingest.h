/*
 * The shared ingest path: canonical events -> EVALSHA "ingest" calls of up
 * to 50 events each, pipelined on the thread's Redis connection -> one
 * outcome per event. The
 * script checks references, idempotency and dedupe and appends to the
 * tenant's stream atomically, so a 2xx is only ever rendered for an event
 * Redis holds.
 */
#ifndef SALESGATE_GATEWAY_INGEST_H
#define SALESGATE_GATEWAY_INGEST_H

#include <stddef.h>

struct sg_event;
struct sg_req;

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

struct sg_ingest_batch;

/* Called once every item has its outcome, even when the client has left. */
typedef void (*sg_ingest_done)(struct sg_req *r, struct sg_ingest_item *items, size_t n);

/*
 * Stamps each event (evt_ id, received time, tenant), encodes it and sends
 * the items in calls of up to 50 events. idem_hash is the request's body hash when an
 * Idempotency-Key was sent (single events only; idem_key the key), else
 * NULL. Items that cannot be sent get status 503. done runs exactly once,
 * possibly before this returns (when nothing could be sent).
 */
void ingest_submit(struct sg_req *r, struct sg_ingest_item *items, size_t n, const char *idem_key,
		   const char *idem_hash, sg_ingest_done done);

#endif
