/* Asynchronous Redis client: see redis_async.h for the contract. */
#include "redis_async.h"

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "timeutil.h"

#define WATCHDOG_PERIOD_MS 200
#define HEARTBEAT_PERIOD_MS 1000
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 2000
#define ARGV_STACK 32

typedef void (*internal_cb)(struct sg_redis *r, struct redisReply *reply, size_t arg);

/* One command in flight, in send order (replies arrive in that order). */
struct pending {
	struct pending *prev, *next; /* FIFO links; unlinked once orphaned */
	struct sg_redis *r;
	sg_redis_cb cb;              /* user completion, or NULL for internal */
	void *data;                  /* user data */
	internal_cb icb;             /* internal completion (script load, ping) */
	size_t iarg;                 /* argument of icb */
	char *cmd;                   /* formatted command, kept for a NOSCRIPT resend */
	size_t cmdlen;
	int64_t sent_us;             /* monotonic time sent */
	size_t script;               /* script index + 1 for EVALSHA, else 0 */
	int retried;                 /* already resent after NOSCRIPT */
	int orphan;                  /* completed by us; the hiredis callback only frees */
};

struct sg_redis {
	struct event_base *base;
	char *host;
	int port;
	int timeout_ms;
	size_t max_inflight;
	const struct sg_redis_script *scripts;
	size_t nscripts;
	char (*shas)[41];            /* SHA1 of each script, filled on load */
	size_t loaded;               /* scripts loaded on this connection */
	unsigned char *is_loaded;    /* per script: loaded on this connection (counted once) */
	int reset_pending;           /* reset the connection from the watchdog, not a callback */
	struct redisAsyncContext *ac; /* NULL while disconnected */
	int connected;               /* TCP connection established */
	int64_t connect_started_us;  /* for the connect deadline */
	int64_t connected_us;        /* when connected: scripts must load within the deadline */
	int backoff_ms;              /* next reconnect delay */
	struct event *reconnect_ev;
	struct event *watchdog_ev;
	int64_t last_heartbeat_us;
	struct pending *head, *tail; /* commands in flight */
	size_t inflight;
	sg_redis_rtt_cb rtt;
	int destroying;
};

static void start_connect(struct sg_redis *r);
static void reply_cb(struct redisAsyncContext *ac, void *reply, void *privdata);

static void
fifo_push(struct sg_redis *r, struct pending *p)
{
	p->next = NULL;
	p->prev = r->tail;
	if (r->tail) {
		r->tail->next = p;
	} else {
		r->head = p;
	}
	r->tail = p;
	r->inflight++;
}

static void
fifo_unlink(struct sg_redis *r, struct pending *p)
{
	if (p->prev) {
		p->prev->next = p->next;
	} else {
		r->head = p->next;
	}
	if (p->next) {
		p->next->prev = p->prev;
	} else {
		r->tail = p->prev;
	}
	p->prev = p->next = NULL;
	r->inflight--;
}

static void
pending_free(struct pending *p)
{
	if (p) {
		redisFreeCommand(p->cmd);
		free(p);
	}
}

/* Completes p toward its owner (user or internal) without freeing it. */
static void
pending_complete(struct pending *p, struct redisReply *reply, const char *errstr)
{
	if (p->cb) {
		p->cb(reply, p->data, errstr);
	} else if (p->icb) {
		p->icb(p->r, reply, p->iarg);
	}
}

/*
 * Fails every pending command now and forgets the connection: the hiredis
 * callbacks that follow find their command orphaned and only free it.
 */
static void
fail_all(struct sg_redis *r, const char *why)
{
	struct pending *p;

	while ((p = r->head) != NULL) {
		fifo_unlink(r, p);
		p->orphan = 1;
		pending_complete(p, NULL, why);
	}
}

static void
schedule_reconnect(struct sg_redis *r)
{
	struct timeval tv = {r->backoff_ms / 1000, (r->backoff_ms % 1000) * 1000};

	if (r->destroying) {
		return;
	}
	evtimer_add(r->reconnect_ev, &tv);
	r->backoff_ms *= 2;
	if (r->backoff_ms > BACKOFF_MAX_MS) {
		r->backoff_ms = BACKOFF_MAX_MS;
	}
}

/* Drops the current connection (if any) and schedules a new one. */
static void
reset_connection(struct sg_redis *r, const char *why)
{
	struct redisAsyncContext *ac = r->ac;

	if (r->connected) {
		log_event(SG_LOG_WARN, "redis disconnected", "reason", why, NULL);
	}
	r->ac = NULL;
	r->connected = 0;
	r->loaded = 0;
	r->reset_pending = 0;
	if (r->is_loaded) {
		memset(r->is_loaded, 0, r->nscripts);
	}
	fail_all(r, why);
	if (ac) {
		ac->data = NULL;
		redisAsyncFree(ac);
	}
	schedule_reconnect(r);
}

static int
send_formatted(struct sg_redis *r, struct pending *p)
{
	if (redisAsyncFormattedCommand(r->ac, reply_cb, p, p->cmd, p->cmdlen) != REDIS_OK) {
		return -1;
	}
	p->sent_us = time_mono_us();
	fifo_push(r, p);
	return 0;
}

static struct pending *
pending_new(struct sg_redis *r, int argc, const char **argv, const size_t *argvlen)
{
	struct pending *p = calloc(1, sizeof(*p));
	int len;

	if (!p) {
		return NULL;
	}
	len = redisFormatCommandArgv(&p->cmd, argc, argv, argvlen);
	if (len < 0) {
		free(p);
		return NULL;
	}
	p->cmdlen = (size_t)len;
	p->r = r;
	return p;
}

static int
send_internal(struct sg_redis *r, int argc, const char **argv, const size_t *argvlen,
	      internal_cb icb, size_t iarg)
{
	struct pending *p = pending_new(r, argc, argv, argvlen);

	if (!p) {
		return -1;
	}
	p->icb = icb;
	p->iarg = iarg;
	if (send_formatted(r, p) != 0) {
		pending_free(p);
		return -1;
	}
	return 0;
}

static void
script_loaded(struct sg_redis *r, struct redisReply *reply, size_t idx)
{
	if (!reply || reply->type != REDIS_REPLY_STRING || reply->len != 40) {
		log_event(SG_LOG_ERROR, "script load failed", "script", r->scripts[idx].name,
			  "error", reply && reply->str ? reply->str : "no reply", NULL);
		return;
	}
	memcpy(r->shas[idx], reply->str, 40);
	r->shas[idx][40] = '\0';
	if (r->is_loaded[idx]) {
		return; /* a reload after NOSCRIPT: the SHA is the same, readiness unchanged */
	}
	r->is_loaded[idx] = 1;
	if (++r->loaded == r->nscripts) {
		log_event(SG_LOG_INFO, "redis ready", NULL);
	}
}

static int
load_script(struct sg_redis *r, size_t idx)
{
	const char *argv[3] = {"SCRIPT", "LOAD", r->scripts[idx].body};
	size_t argvlen[3] = {6, 4, strlen(r->scripts[idx].body)};

	return send_internal(r, 3, argv, argvlen, script_loaded, idx);
}

/* A NOSCRIPT answer: reload the script, then resend the same command behind it. */
static int
resend_after_noscript(struct sg_redis *r, struct pending *p)
{
	p->retried = 1;
	if (load_script(r, p->script - 1) != 0) {
		return -1;
	}
	return send_formatted(r, p);
}

static void
reply_cb(struct redisAsyncContext *ac, void *reply_, void *privdata)
{
	struct pending *p = privdata;
	struct redisReply *reply = reply_;
	struct sg_redis *r = ac->data;

	if (p->orphan || !r) {
		pending_free(p);
		return;
	}
	fifo_unlink(r, p);
	if (r->rtt && reply) {
		r->rtt(time_mono_us() - p->sent_us);
	}
	if (reply && reply->type == REDIS_REPLY_ERROR && p->script && !p->retried &&
	    strncmp(reply->str, "NOSCRIPT", 8) == 0 && resend_after_noscript(r, p) == 0) {
		return;
	}
	pending_complete(p, reply, reply ? NULL : "connection lost");
	pending_free(p);
}

static void
on_connect(const struct redisAsyncContext *ac, int status)
{
	struct sg_redis *r = ac->data;
	size_t i;

	if (!r) {
		return;
	}
	if (status != REDIS_OK) {
		/* hiredis frees ac after this callback */
		r->ac = NULL;
		reset_connection(r, ac->errstr[0] ? ac->errstr : "connect failed");
		return;
	}
	r->connected = 1;
	r->connected_us = time_mono_us();
	r->backoff_ms = BACKOFF_MIN_MS;
	redisEnableKeepAlive((redisContext *)&ac->c);
	log_event(SG_LOG_INFO, "redis connected", NULL);
	for (i = 0; i < r->nscripts; i++) {
		if (load_script(r, i) != 0) {
			/* hiredis 0.14 frees a context freed here at once: let the watchdog do it */
			r->reset_pending = 1;
			return;
		}
	}
}

static void
on_disconnect(const struct redisAsyncContext *ac, int status)
{
	struct sg_redis *r = ac->data;

	(void)status;
	if (!r) {
		return;
	}
	/* hiredis frees ac after this callback: forget it before resetting */
	r->ac = NULL;
	reset_connection(r, ac->errstr[0] ? ac->errstr : "connection closed");
}

static void
start_connect(struct sg_redis *r)
{
	struct redisAsyncContext *ac = redisAsyncConnect(r->host, r->port);

	if (!ac) {
		schedule_reconnect(r);
		return;
	}
	if (ac->err) {
		redisAsyncFree(ac);
		schedule_reconnect(r);
		return;
	}
	ac->data = r;
	r->ac = ac;
	r->connect_started_us = time_mono_us();
	redisLibeventAttach(ac, r->base);
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
}

static void
reconnect_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	start_connect(arg);
}

static void
heartbeat_done(struct sg_redis *r, struct redisReply *reply, size_t arg)
{
	(void)r;
	(void)reply;
	(void)arg;
}

/* Deadlines: the oldest command, the connect attempt; and an idle PING. */
static void
watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sg_redis *r = arg;
	int64_t now = time_mono_us();
	int64_t limit = (int64_t)r->timeout_ms * 1000;
	static const char *ping[1] = {"PING"};
	static const size_t pinglen[1] = {4};

	(void)fd;
	(void)what;
	if (r->reset_pending) {
		reset_connection(r, "script load send failed");
		return;
	}
	if (r->head && now - r->head->sent_us > limit) {
		reset_connection(r, "timeout");
		return;
	}
	if (r->connected && r->loaded != r->nscripts && now - r->connected_us > limit) {
		/* e.g. -LOADING while Redis reads its data set: connect again later */
		reset_connection(r, "scripts not loaded");
		return;
	}
	if (r->ac && !r->connected && now - r->connect_started_us > limit) {
		reset_connection(r, "connect timeout");
		return;
	}
	if (r->connected && !r->head && now - r->last_heartbeat_us > HEARTBEAT_PERIOD_MS * 1000) {
		r->last_heartbeat_us = now;
		if (send_internal(r, 1, ping, pinglen, heartbeat_done, 0) != 0) {
			reset_connection(r, "heartbeat send failed");
		}
	}
}

struct sg_redis *
redis_create(struct event_base *base, const struct sg_redis_opts *opts)
{
	struct sg_redis *r = calloc(1, sizeof(*r));
	struct timeval tv = {0, WATCHDOG_PERIOD_MS * 1000};

	if (!r) {
		return NULL;
	}
	r->base = base;
	r->host = strdup(opts->host);
	r->port = opts->port;
	r->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : 5000;
	r->max_inflight = opts->max_inflight ? opts->max_inflight : 20000;
	r->scripts = opts->scripts;
	r->nscripts = opts->nscripts;
	r->shas = calloc(opts->nscripts ? opts->nscripts : 1, sizeof(*r->shas));
	r->is_loaded = calloc(opts->nscripts ? opts->nscripts : 1, 1);
	r->backoff_ms = BACKOFF_MIN_MS;
	r->reconnect_ev = evtimer_new(base, reconnect_cb, r);
	r->watchdog_ev = event_new(base, -1, EV_PERSIST, watchdog_cb, r);
	if (!r->host || !r->shas || !r->is_loaded || !r->reconnect_ev || !r->watchdog_ev) {
		redis_destroy(r);
		return NULL;
	}
	evtimer_add(r->watchdog_ev, &tv);
	start_connect(r);
	return r;
}

void
redis_destroy(struct sg_redis *r)
{
	if (!r) {
		return;
	}
	r->destroying = 1;
	reset_connection(r, "shutting down");
	if (r->reconnect_ev) {
		event_free(r->reconnect_ev);
	}
	if (r->watchdog_ev) {
		event_free(r->watchdog_ev);
	}
	free(r->shas);
	free(r->is_loaded);
	free(r->host);
	free(r);
}

int
redis_ready(const struct sg_redis *r)
{
	return r && r->ac && r->connected && r->loaded == r->nscripts;
}

size_t
redis_inflight(const struct sg_redis *r)
{
	return r ? r->inflight : 0;
}

void
redis_set_rtt_observer(struct sg_redis *r, sg_redis_rtt_cb cb)
{
	r->rtt = cb;
}

static int
submit(struct sg_redis *r, int argc, const char **argv, const size_t *argvlen, size_t script,
       sg_redis_cb cb, void *data)
{
	struct pending *p;

	if (!redis_ready(r) || r->inflight >= r->max_inflight) {
		return -1;
	}
	p = pending_new(r, argc, argv, argvlen);
	if (!p) {
		return -1;
	}
	p->cb = cb;
	p->data = data;
	p->script = script;
	if (send_formatted(r, p) != 0) {
		pending_free(p);
		return -1;
	}
	return 0;
}

int
redis_call(struct sg_redis *r, int argc, const char **argv, const size_t *argvlen,
	   sg_redis_cb cb, void *data)
{
	return submit(r, argc, argv, argvlen, 0, cb, data);
}

int
redis_evalsha(struct sg_redis *r, size_t script, int numkeys, int argc, const char **argv,
	      const size_t *argvlen, sg_redis_cb cb, void *data)
{
	const char *sv[ARGV_STACK];
	size_t sl[ARGV_STACK];
	const char **v = sv;
	size_t *l = sl;
	char nk[16];
	int rc = -1;

	if (script >= r->nscripts || argc < 0) {
		return -1;
	}
	if (argc + 3 > ARGV_STACK) {
		v = malloc(sizeof(*v) * (size_t)(argc + 3));
		l = malloc(sizeof(*l) * (size_t)(argc + 3));
		if (!v || !l) {
			goto done;
		}
	}
	v[0] = "EVALSHA";
	l[0] = 7;
	v[1] = r->shas[script];
	l[1] = 40;
	l[2] = (size_t)snprintf(nk, sizeof(nk), "%d", numkeys);
	v[2] = nk;
	memcpy(v + 3, argv, sizeof(*v) * (size_t)argc);
	memcpy(l + 3, argvlen, sizeof(*l) * (size_t)argc);
	rc = submit(r, argc + 3, v, l, script + 1, cb, data);
done:
	if (v != sv) {
		free(v);
	}
	if (l != sl) {
		free(l);
	}
	return rc;
}
