/*
 * /healthz, /readyz and /metrics. Metrics add, per tenant stream, its length
 * and the consumer group's lag (entries not yet delivered) and pending count
 * (delivered, not yet acknowledged), read from Redis at scrape time.
 */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "handlers.h"
#include "keys.h"
#include "metrics.h"
#include "redis_async.h"
#include "request.h"

#define MAX_TENANTS_SCRAPED 256

void
health_live(struct sg_req *r)
{
	static const char body[] = "{\"status\":\"ok\"}";

	req_reply_json(r, 200, body, sizeof(body) - 1);
}

void
health_ready(struct sg_req *r)
{
	static const char ok[] = "{\"status\":\"ready\"}";

	if (atomic_load(&r->thr->gw->draining)) {
		req_reply_problem(r, 503, "SERVICE_UNAVAILABLE", "draining: shutting down");
	} else if (!redis_ready(r->thr->redis)) {
		req_reply_problem(r, 503, "SERVICE_UNAVAILABLE", "redis not reachable or not ready");
	} else {
		req_reply_json(r, 200, ok, sizeof(ok) - 1);
	}
}

struct scrape {
	struct sg_req *r;
	struct sg_buf text;  /* per-tenant stream lines */
	size_t pending;
};

struct scrape_call {
	struct scrape *s;
	const char *tenant;
	int is_len;          /* XLEN (1) or XINFO GROUPS (0) */
};

static void
scrape_finish(struct scrape *s)
{
	struct sg_req *r = s->r;
	struct sg_buf *out = &r->thr->out;

	buf_clear(out);
	metrics_render(out);
	buf_printf(out, "# HELP salesgate_gateway_inflight_requests Requests being processed.\n"
			"# TYPE salesgate_gateway_inflight_requests gauge\n"
			"salesgate_gateway_inflight_requests %ld\n",
		   atomic_load(&r->thr->gw->inflight));
	buf_printf(out, "# HELP salesgate_stream_length Entries in a tenant's stream.\n"
			"# TYPE salesgate_stream_length gauge\n"
			"# HELP salesgate_consumer_group_lag Entries not yet delivered to the "
			"worker group.\n"
			"# TYPE salesgate_consumer_group_lag gauge\n"
			"# HELP salesgate_consumer_group_pending Entries delivered, not yet "
			"acknowledged.\n"
			"# TYPE salesgate_consumer_group_pending gauge\n");
	if (s->text.len) {
		buf_append(out, s->text.data, s->text.len);
	}
	buf_finish(&s->text);
	if (!req_done(r)) {
		req_add_header(r, "Content-Type", "text/plain; version=0.0.4");
	}
	req_reply_json(r, 200, out->data, out->len);
}

/* Reads "lag" and "pending" of the workers group from XINFO GROUPS. */
static void
scrape_groups(struct scrape_call *c, const struct redisReply *reply)
{
	size_t g, i;

	for (g = 0; reply->type == REDIS_REPLY_ARRAY && g < reply->elements; g++) {
		const struct redisReply *grp = reply->element[g];
		for (i = 0; grp->type == REDIS_REPLY_ARRAY && i + 1 < grp->elements; i += 2) {
			const struct redisReply *k = grp->element[i], *v = grp->element[i + 1];
			if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_INTEGER) {
				continue;
			}
			if (strcmp(k->str, "lag") == 0 || strcmp(k->str, "pending") == 0) {
				buf_printf(&c->s->text,
					   "salesgate_consumer_group_%s{tenant=\"%s\"} %lld\n",
					   k->str, c->tenant, v->integer);
			}
		}
	}
}

static void
scrape_done(struct redisReply *reply, void *data, const char *errstr)
{
	struct scrape_call *c = data;
	struct scrape *s = c->s;
	struct sg_req *r = s->r;

	(void)errstr;
	if (reply && c->is_len && reply->type == REDIS_REPLY_INTEGER) {
		buf_printf(&s->text, "salesgate_stream_length{tenant=\"%s\"} %lld\n", c->tenant,
			   reply->integer);
	} else if (reply && !c->is_len) {
		scrape_groups(c, reply);
	}
	if (--s->pending == 0) {
		scrape_finish(s);
	}
	req_unref(r);
}

static void
scrape_send(struct scrape *s, const char *tenant, int is_len)
{
	struct sg_req *r = s->r;
	struct scrape_call *c = arena_alloc(&r->arena, sizeof(*c));
	char key[SG_KEY_MAX];
	const char *lv[2] = {"XLEN", key}, *gv[3] = {"XINFO", "GROUPS", key};
	size_t ll[2] = {4, 0}, gl[3] = {5, 6, 0};

	if (!c || !keys_tenant(key, sizeof(key), tenant, "stream")) {
		return;
	}
	ll[1] = gl[2] = strlen(key);
	c->s = s;
	c->tenant = arena_strdup(&r->arena, tenant);
	c->is_len = is_len;
	req_ref(r);
	s->pending++;
	if ((is_len ? redis_call(r->thr->redis, 2, lv, ll, scrape_done, c)
		    : redis_call(r->thr->redis, 3, gv, gl, scrape_done, c)) != 0) {
		s->pending--;
		req_unref(r);
	}
}

static void
tenants_done(struct redisReply *reply, void *data, const char *errstr)
{
	struct scrape *s = data;
	struct sg_req *r = s->r;
	size_t i;

	(void)errstr;
	for (i = 0; reply && reply->type == REDIS_REPLY_ARRAY && i < reply->elements &&
		    i < MAX_TENANTS_SCRAPED;
	     i++) {
		if (reply->element[i]->type == REDIS_REPLY_STRING) {
			scrape_send(s, reply->element[i]->str, 1);
			scrape_send(s, reply->element[i]->str, 0);
		}
	}
	if (--s->pending == 0) {
		scrape_finish(s);
	}
	req_unref(r);
}

void
metrics_get(struct sg_req *r)
{
	struct scrape *s = arena_alloc(&r->arena, sizeof(*s));
	const char *argv[2] = {"SMEMBERS", "sg:tenants"};
	size_t argvlen[2] = {8, 10};

	if (!s) {
		req_reply_problem(r, 503, "SERVICE_UNAVAILABLE", "out of memory");
		return;
	}
	memset(s, 0, sizeof(*s));
	s->r = r;
	s->pending = 1;
	req_ref(r);
	if (redis_call(r->thr->redis, 2, argv, argvlen, tenants_done, s) != 0) {
		/* Redis down: still expose the process counters */
		req_unref(r);
		scrape_finish(s);
	}
}
