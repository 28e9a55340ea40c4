/*
 * The worker's Redis connection: the SYNCHRONOUS hiredis API on purpose.
 * The worker is a dedicated blocking loop (read a batch, apply it, ack it),
 * so a blocking context is the simplest correct shape; the gateway is the
 * async side. hiredis 0.14 has no deadline of its own, so every socket
 * read and write gets one with redisSetTimeout (longer only around an
 * XREADGROUP BLOCK), and TCP keep-alive finds half-open connections.
 *
 * Any I/O or protocol error marks the connection broken; the loop then
 * calls rconn_reconnect, which retries with exponential back-off
 * (100 ms .. 5 s) and reloads apply.lua.
 */
#ifndef SALESGATE_WORKER_RCONN_H
#define SALESGATE_WORKER_RCONN_H

#include <signal.h>
#include <stddef.h>

struct redisContext;
struct redisReply;

#define SG_RCONN_IO_TIMEOUT_MS 5000 /* deadline of one socket read or write */
#define SG_RCONN_BACKOFF_MIN_MS 100
#define SG_RCONN_BACKOFF_MAX_MS 5000

struct sg_rconn {
	struct redisContext *ctx; /* NULL while disconnected */
	char host[256];           /* Redis host */
	int port;                 /* Redis port */
	char sha[41];             /* SHA1 of apply.lua as SCRIPT LOAD answered */
	int backoff_ms;           /* next reconnect delay */
};

/* Prepares rc for host:port; connects nothing. */
void rconn_init(struct sg_rconn *rc, const char *host, int port);

/* Closes the connection. Accepts NULL. */
void rconn_close(struct sg_rconn *rc);

/*
 * (Re)connects, sets deadlines and keep-alive, loads apply.lua; on failure
 * logs, sleeps the back-off and retries until it works or *stop is set.
 * Returns 0 when connected, -1 when stopped.
 */
int rconn_reconnect(struct sg_rconn *rc, volatile sig_atomic_t *stop);

/* 1 while connected and no I/O error happened. */
int rconn_ok(const struct sg_rconn *rc);

/* Sets the per-socket-call deadline in ms. */
void rconn_set_timeout(struct sg_rconn *rc, int ms);

/*
 * Sends one command and returns its reply (caller frees with
 * freeReplyObject), or NULL when the connection failed (now broken).
 */
struct redisReply *rconn_call(struct sg_rconn *rc, int argc, const char **argv,
                              const size_t *argvlen);

/* rconn_call with NUL-terminated arguments, ended by NULL. */
struct redisReply *rconn_callv(struct sg_rconn *rc, const char *arg0, ...)
    __attribute__((sentinel));

/* Queues one command of a pipeline. Returns 0, or -1 (broken). */
int rconn_append(struct sg_rconn *rc, int argc, const char **argv, const size_t *argvlen);

/*
 * Writes the queued commands to the socket now (redisGetReply would only
 * write them when the first reply is wanted), so Redis runs them while
 * the caller prepares the next ones. Returns 0, or -1 (broken).
 */
int rconn_flush(struct sg_rconn *rc);

/* Reads the next pipelined reply (caller frees). NULL when broken. */
struct redisReply *rconn_reply(struct sg_rconn *rc);

/*
 * Runs EVALSHA of apply.lua: argv[0] must be "EVALSHA"; argv[1] / argvlen[1]
 * are set here to the loaded SHA. On NOSCRIPT (script cache flushed) it
 * loads the script and retries once. Returns the reply (caller frees) or
 * NULL when the connection broke.
 */
struct redisReply *rconn_eval_apply(struct sg_rconn *rc, int argc, const char **argv,
                                    size_t *argvlen);

/* SCRIPT LOAD apply.lua into rc->sha. Returns 0, or -1 (logged). */
int rconn_load_script(struct sg_rconn *rc);

/*
 * Value of field name in a flat [field, value, ...] reply (stream entry
 * fields, XINFO records), or NULL. Borrowed from reply.
 */
const struct redisReply *rconn_field(const struct redisReply *reply, const char *name);

/* Sleeps ms in short slices, returning early once *stop is set. */
void rconn_sleep_ms(int ms, volatile sig_atomic_t *stop);

/* 1 when reply is an error starting with prefix ("NOSCRIPT", "BUSYGROUP"). */
int rconn_is_error(const struct redisReply *reply, const char *prefix);

#endif
