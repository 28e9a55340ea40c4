/* HTTP server: see server.h. */
#include "server.h"

#include <evhtp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "auth.h"
#include "dialects/dialect.h"
#include "error.h"
#include "gateway.h"
#include "idem.h"
#include "ingest.h"
#include "ids.h"
#include "log.h"
#include "metrics.h"
#include "redis_async.h"
#include "request.h"
#include "router.h"
#include "timeutil.h"

/* Bodies far over the limit are refused at once instead of being drained. */
#define HUGE_BODY_FACTOR 16

struct sg_server {
	struct sg_gateway *gw;
	evhtp_t *htp;
};

static void
observe_rtt(int64_t usec)
{
	metrics_observe_redis(usec);
}

static void
thread_init(evhtp_t *htp, evthr_t *thr, void *arg)
{
	struct sg_gateway *gw = arg;
	struct sg_thread *t = calloc(1, sizeof(*t));
	struct sg_redis_opts opts = {0};

	(void)htp;
	if (!t) {
		abort();
	}
	t->gw = gw;
	t->base = evthr_get_base(thr);
	arena_init(&t->parse, 16384);
	opts.host = gw->redis_host;
	opts.port = gw->redis_port;
	opts.timeout_ms = gw->redis_timeout_ms;
	opts.scripts = gateway_scripts;
	opts.nscripts = SG_SCRIPT_COUNT;
	t->redis = redis_create(t->base, &opts);
	t->auth = auth_cache_create();
	t->idem = gw->idem;
	t->ingest = ingest_queue_create(t);
	if (!t->redis || !t->auth || !t->idem || !t->ingest) {
		abort();
	}
	redis_set_rtt_observer(t->redis, observe_rtt);
	evthr_set_aux(thr, t);
}

static void
thread_exit(evhtp_t *htp, evthr_t *thr, void *arg)
{
	struct sg_thread *t = evthr_get_aux(thr);

	(void)htp;
	(void)arg;
	if (!t) {
		return;
	}
	redis_destroy(t->redis); /* its failed ingest calls go back to t->ingest */
	ingest_queue_destroy(t->ingest);
	t->ingest = NULL;
	auth_cache_destroy(t->auth);
	req_pool_drain(t);
	arena_finish(&t->parse);
	buf_finish(&t->out);
	buf_finish(&t->enc);
	free(t);
}

static evhtp_res
on_request_fini(evhtp_request_t *req, void *arg)
{
	struct sg_req *r = arg;

	(void)req;
	if (r->counted) {
		atomic_fetch_sub(&r->thr->gw->inflight, 1);
		r->counted = 0;
	}
	r->http = NULL;
	req_unref(r);
	return EVHTP_RES_OK;
}

/* Marks a connection whose client would not stop sending headers. */
static int header_flood;

static evhtp_res on_connection_fini(evhtp_connection_t *conn, void *arg);

/*
 * Over SG_REQ_MAX_HEADERS the request is answered 431 once its head is
 * read; a client that goes on past twice that is cut off at once (libevhtp
 * would keep every header in memory), answered 431 on the way out.
 */
static evhtp_res
on_header(evhtp_request_t *req, evhtp_header_t *hdr, void *arg)
{
	struct sg_req *r = arg;

	(void)hdr;
	if (++r->nheaders > SG_REQ_MAX_HEADERS) {
		r->too_many_headers = 1;
	}
	if (r->nheaders > 2 * SG_REQ_MAX_HEADERS) {
		evhtp_connection_set_hook(req->conn, evhtp_hook_on_connection_fini,
					  (evhtp_hook)on_connection_fini, &header_flood);
		return EVHTP_RES_ERROR;
	}
	return EVHTP_RES_OK;
}

/* Keeps only counting once over the limit: the body is drained, never stored. */
static evhtp_res
on_read(evhtp_request_t *req, struct evbuffer *buf, void *arg)
{
	struct sg_req *r = arg;
	size_t len = evbuffer_get_length(buf);

	(void)req;
	r->body_bytes += len;
	if (r->body_bytes > r->thr->gw->max_body) {
		r->too_large = 1;
	}
	if (r->body_bytes > r->thr->gw->max_body * HUGE_BODY_FACTOR && !r->replied) {
		/* a chunked body that does not end: answer now rather than drain forever */
		req_reply_problem(r, 413, "PAYLOAD_TOO_LARGE", "request body exceeds the limit");
	}
	if (r->too_large || r->too_many_headers) {
		evbuffer_drain(buf, len);
	}
	return EVHTP_RES_OK;
}

static void
set_request_id(struct sg_req *r, evhtp_request_t *req)
{
	const char *given = evhtp_header_find(req->headers_in, "X-Request-Id");
	size_t i, n = given ? strlen(given) : 0;

	if (n > 0 && n < sizeof(r->id)) {
		for (i = 0; i < n; i++) {
			unsigned char c = (unsigned char)given[i];
			if (!(c == '-' || c == '_' || c == '.' || c == ':' ||
			      (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'))) {
				break;
			}
		}
		if (i == n) {
			memcpy(r->id, given, n + 1);
			return;
		}
	}
	ids_event(time_now_ms(), r->id);
	memcpy(r->id, "req_", 4);
}

static evhtp_res
on_headers(evhtp_request_t *req, evhtp_headers_t *hdrs, void *arg)
{
	struct sg_req *r = arg;
	uint64_t declared = evhtp_request_content_len(req);
	uint64_t max = r->thr->gw->max_body;

	(void)hdrs;
	set_request_id(r, req);
	if (declared > max) {
		r->too_large = 1;
	}
	if (declared > max * HUGE_BODY_FACTOR) {
		/* answer now and close rather than read a huge body */
		req_reply_problem(r, 413, "PAYLOAD_TOO_LARGE", "request body exceeds the limit");
	}
	return EVHTP_RES_OK;
}

static evhtp_res
on_headers_start(evhtp_request_t *req, void *arg)
{
	struct sg_req *r = req_create(evthr_get_aux(req->conn->thread));

	(void)arg;
	if (!r) {
		return EVHTP_RES_ERROR;
	}
	r->http = req;
	r->start_us = time_mono_us();
	evhtp_request_set_hook(req, evhtp_hook_on_header, (evhtp_hook)on_header, r);
	evhtp_request_set_hook(req, evhtp_hook_on_headers, (evhtp_hook)on_headers, r);
	evhtp_request_set_hook(req, evhtp_hook_on_read, (evhtp_hook)on_read, r);
	evhtp_request_set_hook(req, evhtp_hook_on_request_fini, (evhtp_hook)on_request_fini, r);
	return EVHTP_RES_OK;
}

/*
 * libevhtp drops a connection whose request it cannot parse (a request line
 * or header token over 8 KB, an invalid method or header) without a word.
 * Its connection-fini hook still runs first, with the parser's error set:
 * answer there, straight to the socket (a few hundred bytes always fit an
 * empty socket buffer), unless earlier pipelined replies are still queued.
 */
static evhtp_res
on_connection_fini(evhtp_connection_t *conn, void *arg)
{
	static const char too_big[] =
		"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: application/json\r\n"
		"Connection: close\r\nContent-Length: 136\r\n\r\n"
		"{\"error\":{\"code\":\"HEADERS_TOO_LARGE\",\"message\":\"request head too large: "
		"a line or header over 8 KB, or too many headers\",\"details\":[]}}\n";
	static const char malformed[] =
		"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
		"Connection: close\r\nContent-Length: 81\r\n\r\n"
		"{\"error\":{\"code\":\"BAD_REQUEST\",\"message\":\"malformed HTTP request\","
		"\"details\":[]}}\n";
	htpparse_error e = conn->parser ? htparser_get_error(conn->parser) : htparse_error_none;
	int big = e == htparse_error_too_big || arg == &header_flood;
	const char *msg = big ? too_big : malformed;
	size_t len = big ? sizeof(too_big) - 1 : sizeof(malformed) - 1;

	if (e == htparse_error_none || (e == htparse_error_user && arg != &header_flood) ||
	    !conn->bev ||
	    evbuffer_get_length(bufferevent_get_output(conn->bev)) > 0) {
		return EVHTP_RES_OK;
	}
	if (send(bufferevent_getfd(conn->bev), msg, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
		log_event(SG_LOG_DEBUG, "could not answer a malformed request", NULL);
	}
	return EVHTP_RES_OK;
}

static evhtp_res
post_accept(evhtp_connection_t *conn, void *arg)
{
	(void)arg;
	evhtp_connection_set_hook(conn, evhtp_hook_on_headers_start, (evhtp_hook)on_headers_start,
				  NULL);
	evhtp_connection_set_hook(conn, evhtp_hook_on_connection_fini,
				  (evhtp_hook)on_connection_fini, NULL);
	return EVHTP_RES_OK;
}

/* Content-Type application/json, with or without parameters. */
static int
is_json(const char *ct)
{
	size_t n = strlen("application/json");

	return ct && strncasecmp(ct, "application/json", n) == 0 &&
	       (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

static void
run_handler(struct sg_req *r)
{
	r->route->handler(r);
}

static void
dispatch_route(struct sg_req *r)
{
	const struct sg_route *rt = r->route;
	const char *key;

	if ((rt->flags & SG_ROUTE_JSON) && !is_json(req_header(r, "Content-Type"))) {
		req_reply_problem(r, 415, "UNSUPPORTED_MEDIA_TYPE",
				  "Content-Type must be application/json");
		return;
	}
	if (rt->flags & SG_ROUTE_ADMIN) {
		if (!r->thr->gw->admin_token) {
			req_reply_problem(r, 404, "NOT_FOUND",
					  "the admin API is disabled (SALESGATE_ADMIN_TOKEN unset)");
		} else if (!auth_admin_ok(r)) {
			req_reply_problem(r, 401, "UNAUTHORIZED", "missing or wrong admin token");
		} else {
			run_handler(r);
		}
		return;
	}
	if (rt->flags & SG_ROUTE_AUTH) {
		key = rt->dialect && rt->dialect->api_key ? rt->dialect->api_key(r) : NULL;
		auth_tenant(r, key, run_handler);
		return;
	}
	run_handler(r);
}

static void
dispatch(evhtp_request_t *req, void *arg)
{
	struct sg_req *r = NULL;
	evhtp_hooks_t *hooks = evhtp_request_get_hooks(req);
	const char *path;
	int m;

	(void)arg;
	if (!hooks || !hooks->on_request_fini_arg) {
		evhtp_send_reply(req, EVHTP_RES_SERVERR);
		return;
	}
	r = hooks->on_request_fini_arg;
	if (r->replied) {
		return;
	}
	atomic_fetch_add(&r->thr->gw->inflight, 1);
	r->counted = 1;
	if (r->too_many_headers) {
		req_reply_problem(r, 431, "HEADERS_TOO_LARGE", "too many request headers");
		return;
	}
	path = req->uri && req->uri->path && req->uri->path->full ? req->uri->path->full : "/";
	m = router_match(r, (int)req->method, path, strlen(path));
	if (m == SG_ROUTE_NO_PATH) {
		req_reply_problem(r, 404, "NOT_FOUND", "no such route");
	} else if (m == SG_ROUTE_NO_METHOD) {
		req_reply_problem(r, 405, "METHOD_NOT_ALLOWED", "method not allowed on this route");
	} else if (r->too_large) {
		req_reply_problem(r, 413, "PAYLOAD_TOO_LARGE", "request body exceeds the limit");
	} else {
		dispatch_route(r);
	}
	if (!req_done(r)) {
		/* an async operation will answer: hold the connection until then */
		r->paused = 1;
		evhtp_request_pause(req);
	}
}

struct sg_server *
server_start(struct sg_gateway *gw, struct event_base *base)
{
	struct sg_server *s = calloc(1, sizeof(*s));
	struct timeval idle = {60, 0};
	char addr[96];

	gw->idem = idem_inflight_create();
	if (!s || !gw->idem || metrics_init(router_count()) != 0) {
		free(s);
		return NULL;
	}
	s->gw = gw;
	s->htp = evhtp_new(base, gw);
	if (!s->htp) {
		free(s);
		return NULL;
	}
	/* Expect: 100-continue would be answered before our size check */
	evhtp_disable_flag(s->htp, EVHTP_FLAG_ENABLE_100_CONT);
	evhtp_enable_flag(s->htp, EVHTP_FLAG_ENABLE_NODELAY);
	evhtp_set_timeouts(s->htp, &idle, &idle);
	evhtp_set_gencb(s->htp, dispatch, gw);
	evhtp_set_post_accept_cb(s->htp, post_accept, gw);
	if (evhtp_use_threads_wexit(s->htp, thread_init, thread_exit, gw->threads, gw) != 0) {
		log_event(SG_LOG_ERROR, "cannot start threads", NULL);
		return NULL;
	}
	snprintf(addr, sizeof(addr), "ipv4:%s", gw->listen_host);
	if (evhtp_bind_socket(s->htp, addr, (uint16_t)gw->listen_port, 1024) != 0) {
		log_event(SG_LOG_ERROR, "cannot bind", "address", gw->listen_host, NULL);
		return NULL;
	}
	return s;
}

void
server_stop_accepting(struct sg_server *s)
{
	evhtp_unbind_socket(s->htp);
}

void
server_stop(struct sg_server *s)
{
	if (s->htp->thr_pool) {
		evthr_pool_stop(s->htp->thr_pool);
	}
}
