/*
 * Asynchronous Redis client for one event loop (one per gateway thread).
 * Wraps hiredis 0.14 with what it lacks: reconnection with back-off, a
 * deadline on every command (a watchdog on the oldest pending command: on a
 * stuck connection every pending command fails and the link is rebuilt),
 * a cap on in-flight commands, and scripts loaded once and called with
 * EVALSHA (a NOSCRIPT answer reloads the script and resends the command).
 *
 * Every callback is called exactly once, with a NULL reply and an errstr on
 * failure. hiredis types are forward-declared so they do not leak.
 */
#ifndef SALESGATE_COMMON_REDIS_ASYNC_H
#define SALESGATE_COMMON_REDIS_ASYNC_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct redisReply;
struct sg_redis;

/* Scripts the client keeps loaded; indexes into sg_redis_opts.scripts. */
struct sg_redis_script {
	const char *name; /* for logs */
	const char *body; /* Lua source */
};

struct sg_redis_opts {
	const char *host;
	int port;
	int timeout_ms;             /* deadline of one command (default 5000) */
	size_t max_inflight;        /* commands in flight before refusing (default 20000) */
	const struct sg_redis_script *scripts; /* loaded at every (re)connect */
	size_t nscripts;
};

/* Completion of one command: reply is owned by the client (valid during the call). */
typedef void (*sg_redis_cb)(struct redisReply *reply, void *data, const char *errstr);

/* Observer of round-trip latency in microseconds (metrics); may be NULL. */
typedef void (*sg_redis_rtt_cb)(int64_t usec);

/*
 * Creates a client on base and starts connecting. Strings in opts are copied
 * except scripts, which must outlive the client. Returns NULL on ENOMEM.
 */
struct sg_redis *redis_create(struct event_base *base, const struct sg_redis_opts *opts);

/* Fails every pending command (callbacks run) and frees. Accepts NULL. */
void redis_destroy(struct sg_redis *r);

/* 1 when connected and every script is loaded. */
int redis_ready(const struct sg_redis *r);

/* Commands sent and not yet answered. */
size_t redis_inflight(const struct sg_redis *r);

/* Installs the latency observer. */
void redis_set_rtt_observer(struct sg_redis *r, sg_redis_rtt_cb cb);

/*
 * Sends one command (binary-safe argv/argvlen, argv copied). Returns 0 when
 * sent: cb will run exactly once. Returns -1 when not ready, over the
 * in-flight cap or out of memory: cb will NOT run; answer 503.
 */
int redis_call(struct sg_redis *r, int argc, const char **argv, const size_t *argvlen,
	       sg_redis_cb cb, void *data);

/*
 * EVALSHA of script index `script` with argv = keys then args (numkeys
 * counted in argv). Same contract as redis_call.
 */
int redis_evalsha(struct sg_redis *r, size_t script, int numkeys, int argc, const char **argv,
		  const size_t *argvlen, sg_redis_cb cb, void *data);

#endif
