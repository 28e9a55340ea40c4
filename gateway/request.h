/*
 * One HTTP request in flight, and the only way handlers answer it.
 *
 * Lifetime: created when its headers start, owned by a reference count —
 * one reference for the HTTP request, one per Redis command in flight. When
 * the client goes away first (on_request_fini), `http` becomes NULL and the
 * pending Redis callbacks only drop their reference. Handlers must reply
 * exactly once on every path (req_reply* are no-ops after the first reply
 * or once the client is gone).
 */
#ifndef SALESGATE_GATEWAY_REQUEST_H
#define SALESGATE_GATEWAY_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"

struct evhtp_request;
struct sg_error;
struct sg_route;
struct sg_thread;

#define SG_REQ_MAX_PARAMS 4
#define SG_REQ_MAX_HEADERS 100

struct sg_req {
	struct evhtp_request *http;      /* NULL once the client is gone */
	struct sg_thread *thr;           /* the loop thread owning the connection */
	const struct sg_route *route;    /* matched route, NULL before routing */
	int route_index;                 /* metrics label index */
	char id[48];                     /* X-Request-Id (echoed or generated) */
	int64_t start_us;                /* monotonic start, for latency */
	uint64_t body_bytes;             /* body bytes received */
	size_t nheaders;                 /* headers received */
	unsigned too_large : 1;          /* body over the limit: answer 413 */
	unsigned too_many_headers : 1;   /* answer 431 */
	unsigned paused : 1;             /* evhtp request paused while we wait */
	unsigned replied : 1;            /* a reply was sent */
	unsigned counted : 1;            /* counted in gateway inflight */
	int refs;                        /* see above */
	int status;                      /* status sent, for logs and metrics */
	struct sg_arena arena;           /* everything this request allocates */
	const char *tenant;              /* after authentication */
	const char *params[SG_REQ_MAX_PARAMS]; /* path parameters, arena strings */
	size_t nparams;
	void *state;                     /* handler-owned state, in the arena */
	struct sg_req *next_free;        /* link in the thread's free list */
};

/*
 * A request state for thread t: reused from the thread's free list (its
 * arena keeps its first chunk) or allocated. refs is 1. NULL on ENOMEM.
 */
struct sg_req *req_create(struct sg_thread *t);

/* Frees the thread's cached request states (at thread exit). */
void req_pool_drain(struct sg_thread *t);

/* Takes a reference (before starting an async operation). */
void req_ref(struct sg_req *r);

/* Drops a reference; at zero the state returns to its thread's free list. */
void req_unref(struct sg_req *r);

/* 1 when the client is gone or already answered (nothing more to send). */
int req_done(const struct sg_req *r);

/* A request header, or NULL. */
const char *req_header(const struct sg_req *r, const char *name);

/* A query parameter, URL-decoded into the arena, or NULL. */
const char *req_query(struct sg_req *r, const char *name);

/*
 * The whole body as one contiguous block, in place (not NUL-terminated:
 * use *len). Valid until the handler returns; "" when empty, NULL when
 * the client is gone or memory ran out.
 */
const char *req_body(struct sg_req *r, size_t *len);

/* Adds a response header (copied). */
void req_add_header(struct sg_req *r, const char *name, const char *value);

/* Sends status with a JSON body (copied). Resumes a paused request. */
void req_reply_json(struct sg_req *r, int status, const char *body, size_t len);

/*
 * Sends the error for err: the status is mapped from err->code in one place
 * (SG_EINVAL 400, SG_EAUTH 401, SG_EFORBIDDEN 403, SG_ENOTFOUND 404,
 * SG_ECONFLICT / SG_EINFLIGHT 409, SG_ETOOLARGE 413, SG_EUNAVAIL 503 with
 * Retry-After, others 500), in the route's dialect error shape.
 */
void req_reply_error(struct sg_req *r, const struct sg_error *err);

/*
 * Sends err with an explicit status and machine code (for answers the
 * result codes do not name: 405, 415, 431, IDEMPOTENCY_CONFLICT, ...).
 * 503 and IDEMPOTENCY_IN_FLIGHT carry Retry-After.
 */
void req_reply_error_as(struct sg_req *r, int status, const char *code,
			const struct sg_error *err);

/* req_reply_error_as with a message and no field details. */
void req_reply_problem(struct sg_req *r, int status, const char *code, const char *message);

/* Maps a result code to its HTTP status. */
int req_status_of(int code);

struct jsonw;

/* Writes err as {"code","message","details":[{"field","issue"}],"request_id"?}. */
void req_write_error(struct jsonw *w, const struct sg_error *err, const char *code_name,
		     const char *request_id);

/* Renders err as {"error":{"code","message","details":[...]}} into the thread's out buffer. */
void req_render_error(struct sg_req *r, const struct sg_error *err, const char *code_name);

#endif
