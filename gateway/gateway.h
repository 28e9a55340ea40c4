/*
 * The gateway process: its configuration, and the context each event-loop
 * thread owns (a Redis connection, caches and reusable buffers). A request
 * is only ever touched by the thread its connection belongs to.
 */
#ifndef SALESGATE_GATEWAY_GATEWAY_H
#define SALESGATE_GATEWAY_GATEWAY_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "buf.h"
#include "redis_async.h"

struct event_base;
struct sg_auth_cache;
struct sg_idem_inflight;
struct sg_ingest_queue;
struct sg_req;

/* Indexes of the scripts the gateway loads (order of gateway_scripts[]). */
enum sg_script_id {
	SG_SCRIPT_INGEST = 0,
	SG_SCRIPT_RECORD_UPSERT,
	SG_SCRIPT_PROFILE_UPSERT,
	SG_SCRIPT_EVENT_GET,
	SG_SCRIPT_TENANT_UPSERT,
	SG_SCRIPT_COUNT,
};

struct sg_gateway {
	char listen_host[64];
	int listen_port;
	char redis_host[256];
	int redis_port;
	int threads;
	uint64_t max_body;          /* bytes; larger bodies get 413 */
	int redis_timeout_ms;       /* deadline of one Redis command */
	const char *admin_token;    /* NULL: admin API disabled */
	atomic_int draining;        /* set on SIGTERM: readyz 503, no new work */
	atomic_long inflight;       /* requests accepted and not yet answered */
	struct sg_idem_inflight *idem; /* idempotency keys in flight (shared, locked) */
};

struct sg_thread {
	struct sg_gateway *gw;
	struct event_base *base;
	struct sg_redis *redis;
	struct sg_auth_cache *auth;          /* API key -> tenant, short TTL */
	struct sg_idem_inflight *idem;       /* = gw->idem */
	struct sg_ingest_queue *ingest;      /* single events coalesced per loop iteration */
	struct sg_buf out;                   /* reply body, reused */
	struct sg_buf enc;                   /* msgpack encoding, reused */
	struct sg_arena parse;               /* JSON parse trees, reset by each parse */
	struct sg_req *free_reqs;            /* finished request states, reused */
	size_t nfree_reqs;
};

/* The process-wide configuration (set once at start-up). */
extern struct sg_gateway *gateway_config;

/* The Lua scripts every gateway thread keeps loaded, by enum sg_script_id. */
extern const struct sg_redis_script gateway_scripts[];

#endif
