/* Request lifetime and replies: see request.h. */
#include "request.h"

#include <evhtp.h>
#include <stdlib.h>
#include <string.h>

#include "dialects/dialect.h"
#include "error.h"
#include "gateway.h"
#include "jsonw.h"
#include "log.h"
#include "metrics.h"
#include "router.h"
#include "timeutil.h"

void
req_ref(struct sg_req *r)
{
	r->refs++;
}

/* Request states kept per thread: a free list instead of malloc per request. */
#define REQ_POOL_MAX 1024

struct sg_req *
req_create(struct sg_thread *t)
{
	struct sg_req *r = t->free_reqs;
	struct sg_arena arena;

	if (r) {
		t->free_reqs = r->next_free;
		t->nfree_reqs--;
		arena = r->arena;
		memset(r, 0, sizeof(*r));
		r->arena = arena;
	} else {
		r = calloc(1, sizeof(*r));
		if (!r) {
			return NULL;
		}
		arena_init(&r->arena, 8192);
	}
	r->thr = t;
	r->refs = 1;
	r->route_index = -1;
	return r;
}

void
req_unref(struct sg_req *r)
{
	struct sg_thread *t = r->thr;

	if (--r->refs > 0) {
		return;
	}
	if (t->nfree_reqs >= REQ_POOL_MAX) {
		arena_finish(&r->arena);
		free(r);
		return;
	}
	arena_reset(&r->arena);
	r->next_free = t->free_reqs;
	t->free_reqs = r;
	t->nfree_reqs++;
}

void
req_pool_drain(struct sg_thread *t)
{
	while (t->free_reqs) {
		struct sg_req *r = t->free_reqs;
		t->free_reqs = r->next_free;
		arena_finish(&r->arena);
		free(r);
	}
	t->nfree_reqs = 0;
}

int
req_done(const struct sg_req *r)
{
	return r->http == NULL || r->replied;
}

const char *
req_header(const struct sg_req *r, const char *name)
{
	if (!r->http) {
		return NULL;
	}
	return evhtp_header_find(r->http->headers_in, name);
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	c |= 0x20;
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	return -1;
}

/* Decodes %XX and '+' in place; returns -1 on a malformed escape. */
static int
url_decode(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (*s == '+') {
			*w++ = ' ';
		} else if (*s == '%') {
			int hi = hexval((unsigned char)s[1]);
			int lo = hi < 0 ? -1 : hexval((unsigned char)s[2]);
			if (lo < 0) {
				return -1;
			}
			*w++ = (char)(hi * 16 + lo);
			s += 2;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
	return 0;
}

const char *
req_query(struct sg_req *r, const char *name)
{
	const char *raw;
	char *copy;

	if (!r->http || !r->http->uri || !r->http->uri->query) {
		return NULL;
	}
	raw = evhtp_kv_find(r->http->uri->query, name);
	if (!raw) {
		return NULL;
	}
	copy = arena_strdup(&r->arena, raw);
	if (!copy || url_decode(copy) != 0) {
		return NULL;
	}
	return copy;
}

const char *
req_body(struct sg_req *r, size_t *len)
{
	struct evbuffer *in;
	const char *p;

	*len = 0;
	if (!r->http) {
		return NULL;
	}
	in = r->http->buffer_in;
	*len = evbuffer_get_length(in);
	if (*len == 0) {
		return "";
	}
	/* contiguous in place: no copy of a body only read before the handler returns */
	p = (const char *)evbuffer_pullup(in, -1);
	if (!p) {
		*len = 0;
	}
	return p;
}

void
req_add_header(struct sg_req *r, const char *name, const char *value)
{
	if (!r->http || r->replied) {
		return;
	}
	evhtp_headers_add_header(r->http->headers_out, evhtp_header_new(name, value, 1, 1));
}

/*
 * One structured line per answered request: at debug level for every
 * request (an access log, off by default: at tens of thousands of requests
 * a second it would dominate), at warn level for 5xx and 413.
 */
static void
log_request(const struct sg_req *r)
{
	char status[16], dur[24];
	const char *route = r->route ? r->route->pattern : "unmatched";
	int warn = r->status >= 500 || r->status == 413;

	if (!warn && !log_enabled(SG_LOG_DEBUG)) {
		return;
	}
	snprintf(status, sizeof(status), "%d", r->status);
	snprintf(dur, sizeof(dur), "%lld", (long long)(time_mono_us() - r->start_us));
	log_event(warn ? SG_LOG_WARN : SG_LOG_DEBUG, warn ? "request failed" : "request",
		  "request_id", r->id, "route", route, "status", status, "tenant", r->tenant,
		  "duration_us", dur, NULL);
}

void
req_reply_json(struct sg_req *r, int status, const char *body, size_t len)
{
	evhtp_request_t *h = r->http;
	int paused;

	if (req_done(r)) {
		return;
	}
	r->replied = 1;
	r->status = status;
	if (!evhtp_header_find(h->headers_out, "Content-Type")) {
		evhtp_headers_add_header(h->headers_out,
					 evhtp_header_new("Content-Type", "application/json", 0, 0));
	}
	evhtp_headers_add_header(h->headers_out, evhtp_header_new("X-Request-Id", r->id, 0, 1));
	if (r->too_large || r->too_many_headers) {
		evhtp_request_set_keepalive(h, 0);
	}
	evbuffer_add(h->buffer_out, body, len);
	paused = r->paused;
	r->paused = 0;
	req_ref(r); /* evhtp_send_reply frees h when it fails, and on_request_fini unrefs */
	evhtp_send_reply(h, (evhtp_res)status);
	metrics_observe_request(r->route_index, status, time_mono_us() - r->start_us);
	log_request(r);
	if (r->counted) {
		atomic_fetch_sub(&r->thr->gw->inflight, 1);
		r->counted = 0;
	}
	if (paused && r->http) {
		evhtp_request_resume(h);
	}
	req_unref(r);
}

int
req_status_of(int code)
{
	switch (code) {
	case SG_EINVAL:
		return 400;
	case SG_EAUTH:
		return 401;
	case SG_EFORBIDDEN:
		return 403;
	case SG_ENOTFOUND:
		return 404;
	case SG_ECONFLICT:
	case SG_EINFLIGHT:
		return 409;
	case SG_ETOOLARGE:
		return 413;
	case SG_EUNAVAIL:
		return 503;
	default:
		return 500;
	}
}

void
req_write_error(struct jsonw *w, const struct sg_error *err, const char *code_name,
		const char *request_id)
{
	size_t i;

	jsonw_obj_open(w);
	jsonw_kstr(w, "code", code_name);
	jsonw_kstr(w, "message", err->message[0] ? err->message : code_name);
	jsonw_key(w, "details");
	jsonw_arr_open(w);
	for (i = 0; i < err->ndetails; i++) {
		jsonw_obj_open(w);
		jsonw_kstr(w, "field", err->details[i].field);
		jsonw_kstr(w, "issue", err->details[i].issue);
		jsonw_obj_close(w);
	}
	jsonw_arr_close(w);
	jsonw_kstr_opt(w, "request_id", request_id);
	jsonw_obj_close(w);
}

void
req_render_error(struct sg_req *r, const struct sg_error *err, const char *code_name)
{
	struct sg_buf *out = &r->thr->out;
	struct jsonw w;

	buf_clear(out);
	jsonw_init(&w, out);
	jsonw_obj_open(&w);
	jsonw_key(&w, "error");
	req_write_error(&w, err, code_name, r->id);
	jsonw_obj_close(&w);
}

void
req_reply_error_as(struct sg_req *r, int status, const char *code, const struct sg_error *err)
{
	const struct sg_dialect_ops *d = r->route ? r->route->dialect : NULL;

	if (req_done(r)) {
		return;
	}
	if (d && d->render_error) {
		d->render_error(r, err, code);
	} else {
		req_render_error(r, err, code);
	}
	/* the two answers that mean "try again shortly" */
	if (status == 503 || strcmp(code, "IDEMPOTENCY_IN_FLIGHT") == 0) {
		req_add_header(r, "Retry-After", "1");
	}
	req_reply_json(r, status, r->thr->out.data, r->thr->out.len);
}

void
req_reply_error(struct sg_req *r, const struct sg_error *err)
{
	req_reply_error_as(r, req_status_of(err->code), error_code_name(err->code), err);
}

void
req_reply_problem(struct sg_req *r, int status, const char *code, const char *message)
{
	struct sg_error err;

	error_clear(&err);
	snprintf(err.message, sizeof(err.message), "%s", message);
	req_reply_error_as(r, status, code, &err);
}
