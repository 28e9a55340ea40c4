/* Synchronous Redis connection with deadlines, keep-alive and back-off. */
#include "rconn.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "scripts.h"

#define RCONN_MAX_ARGS 16 /* rconn_callv */

static struct timeval
tv_of_ms(int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	return tv;
}

void
rconn_init(struct sg_rconn *rc, const char *host, int port)
{
	memset(rc, 0, sizeof(*rc));
	snprintf(rc->host, sizeof(rc->host), "%s", host);
	rc->port = port;
	rc->backoff_ms = SG_RCONN_BACKOFF_MIN_MS;
}

void
rconn_close(struct sg_rconn *rc)
{
	if (rc == NULL || rc->ctx == NULL) {
		return;
	}
	redisFree(rc->ctx);
	rc->ctx = NULL;
}

int
rconn_ok(const struct sg_rconn *rc)
{
	return rc->ctx != NULL && rc->ctx->err == 0;
}

void
rconn_set_timeout(struct sg_rconn *rc, int ms)
{
	if (rconn_ok(rc)) {
		redisSetTimeout(rc->ctx, tv_of_ms(ms));
	}
}

void
rconn_sleep_ms(int ms, volatile sig_atomic_t *stop)
{
	struct timespec ts = {0, 0};

	while (ms > 0 && !*stop) {
		int slice = ms < 100 ? ms : 100;

		ts.tv_sec = 0;
		ts.tv_nsec = (long)slice * 1000000L;
		nanosleep(&ts, NULL);
		ms -= slice;
	}
}

/* One connection attempt. Returns 0, or -1 with errstr filled. */
static int
rconn_connect_once(struct sg_rconn *rc, char *errstr, size_t errlen)
{
	rconn_close(rc);
	rc->ctx = redisConnectWithTimeout(rc->host, rc->port, tv_of_ms(SG_RCONN_IO_TIMEOUT_MS));
	if (rc->ctx == NULL || rc->ctx->err) {
		snprintf(errstr, errlen, "%s", rc->ctx ? rc->ctx->errstr : "out of memory");
		rconn_close(rc);
		return -1;
	}
	if (redisSetTimeout(rc->ctx, tv_of_ms(SG_RCONN_IO_TIMEOUT_MS)) != REDIS_OK ||
	    redisEnableKeepAlive(rc->ctx) != REDIS_OK) {
		snprintf(errstr, errlen, "setsockopt: %s", strerror(errno));
		rconn_close(rc);
		return -1;
	}
	if (rconn_load_script(rc) < 0) {
		snprintf(errstr, errlen, "SCRIPT LOAD apply failed");
		rconn_close(rc);
		return -1;
	}
	return 0;
}

int
rconn_reconnect(struct sg_rconn *rc, volatile sig_atomic_t *stop)
{
	char addr[300];
	char err[200];
	char delay[16];

	snprintf(addr, sizeof(addr), "%s:%d", rc->host, rc->port);
	while (!*stop) {
		if (rconn_connect_once(rc, err, sizeof(err)) == 0) {
			rc->backoff_ms = SG_RCONN_BACKOFF_MIN_MS;
			log_info("redis connected", "addr", addr, NULL);
			return 0;
		}
		snprintf(delay, sizeof(delay), "%d", rc->backoff_ms);
		log_warn("redis connect failed", "addr", addr, "err", err, "retry_ms", delay, NULL);
		rconn_sleep_ms(rc->backoff_ms, stop);
		rc->backoff_ms *= 2;
		if (rc->backoff_ms > SG_RCONN_BACKOFF_MAX_MS) {
			rc->backoff_ms = SG_RCONN_BACKOFF_MAX_MS;
		}
	}
	return -1;
}

/* Logs and frees the context after an I/O error so rconn_ok says broken. */
static void
rconn_broke(struct sg_rconn *rc)
{
	if (rc->ctx != NULL) {
		log_warn("redis connection lost", "err", rc->ctx->errstr, NULL);
	}
	rconn_close(rc);
}

struct redisReply *
rconn_call(struct sg_rconn *rc, int argc, const char **argv, const size_t *argvlen)
{
	redisReply *reply = NULL;

	if (!rconn_ok(rc)) {
		return NULL;
	}
	reply = redisCommandArgv(rc->ctx, argc, argv, argvlen);
	if (reply == NULL) {
		rconn_broke(rc);
	}
	return reply;
}

struct redisReply *
rconn_callv(struct sg_rconn *rc, const char *arg0, ...)
{
	const char *argv[RCONN_MAX_ARGS];
	size_t argvlen[RCONN_MAX_ARGS];
	const char *a = arg0;
	int argc = 0;
	va_list ap;

	va_start(ap, arg0);
	while (a != NULL && argc < RCONN_MAX_ARGS) {
		argv[argc] = a;
		argvlen[argc++] = strlen(a);
		a = va_arg(ap, const char *);
	}
	va_end(ap);
	return rconn_call(rc, argc, argv, argvlen);
}

int
rconn_append(struct sg_rconn *rc, int argc, const char **argv, const size_t *argvlen)
{
	if (!rconn_ok(rc)) {
		return -1;
	}
	if (redisAppendCommandArgv(rc->ctx, argc, argv, argvlen) != REDIS_OK) {
		rconn_broke(rc);
		return -1;
	}
	return 0;
}

int
rconn_flush(struct sg_rconn *rc)
{
	int done = 0;

	while (rconn_ok(rc) && !done) {
		if (redisBufferWrite(rc->ctx, &done) != REDIS_OK) {
			rconn_broke(rc);
		}
	}
	return rconn_ok(rc) ? 0 : -1;
}

struct redisReply *
rconn_reply(struct sg_rconn *rc)
{
	void *reply = NULL;

	if (!rconn_ok(rc)) {
		return NULL;
	}
	if (redisGetReply(rc->ctx, &reply) != REDIS_OK || reply == NULL) {
		rconn_broke(rc);
		return NULL;
	}
	return reply;
}

int
rconn_load_script(struct sg_rconn *rc)
{
	redisReply *r = rconn_callv(rc, "SCRIPT", "LOAD", sg_script_apply, NULL);
	int ok = r != NULL && r->type == REDIS_REPLY_STRING && r->len == 40;

	if (ok) {
		memcpy(rc->sha, r->str, 40);
		rc->sha[40] = '\0';
	} else {
		log_error("SCRIPT LOAD apply failed", "err",
		          r && r->type == REDIS_REPLY_ERROR ? r->str : "no reply", NULL);
	}
	if (r != NULL) {
		freeReplyObject(r);
	}
	return ok ? 0 : -1;
}

struct redisReply *
rconn_eval_apply(struct sg_rconn *rc, int argc, const char **argv, size_t *argvlen)
{
	redisReply *r = NULL;

	for (int attempt = 0; attempt < 2; attempt++) {
		argv[1] = rc->sha;
		argvlen[1] = strlen(rc->sha);
		r = rconn_call(rc, argc, argv, argvlen);
		if (attempt > 0 || !rconn_is_error(r, "NOSCRIPT")) {
			break;
		}
		freeReplyObject(r);
		r = NULL;
		if (rconn_load_script(rc) < 0) {
			break;
		}
	}
	return r;
}

int
rconn_is_error(const struct redisReply *reply, const char *prefix)
{
	return reply != NULL && reply->type == REDIS_REPLY_ERROR &&
	       strncmp(reply->str, prefix, strlen(prefix)) == 0;
}

const struct redisReply *
rconn_field(const struct redisReply *reply, const char *name)
{
	for (size_t i = 0; reply->type == REDIS_REPLY_ARRAY && i + 1 < reply->elements; i += 2) {
		const redisReply *f = reply->element[i];

		if (f->type == REDIS_REPLY_STRING && strcmp(f->str, name) == 0) {
			return reply->element[i + 1];
		}
	}
	return NULL;
}
