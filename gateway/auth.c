/* Tenant API keys and the admin token: see auth.h. */
#include "auth.h"

#include <hiredis/hiredis.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "ids.h"
#include "keys.h"
#include "redis_async.h"
#include "request.h"
#include "timeutil.h"

#define NSLOTS 2048
#define KEY_MAX 160

struct slot {
	char key[KEY_MAX];           /* the API key as presented; "" = empty slot */
	char tenant[SG_TENANT_MAX + 1]; /* "" = known bad key (negative entry) */
	int64_t expires_ms;
};

struct sg_auth_cache {
	struct slot slots[NSLOTS];   /* direct-mapped by key hash */
};

/* A lookup in flight. */
struct pending_auth {
	struct sg_req *r;
	sg_auth_next next;
	char key[KEY_MAX];
};

static uint32_t
key_hash(const char *k)
{
	uint32_t h = 2166136261u;

	for (; *k; k++) {
		h = (h ^ (unsigned char)*k) * 16777619u;
	}
	return h;
}

struct sg_auth_cache *
auth_cache_create(void)
{
	return calloc(1, sizeof(struct sg_auth_cache));
}

void
auth_cache_destroy(struct sg_auth_cache *c)
{
	free(c);
}

static void
reply_unauthorized(struct sg_req *r)
{
	req_reply_problem(r, 401, "UNAUTHORIZED", "missing or unknown API key");
}

/* Applies a cached or fetched entry: continue with a tenant or answer 401. */
static void
finish(struct sg_req *r, const struct slot *s, sg_auth_next next)
{
	if (!s->tenant[0]) {
		reply_unauthorized(r);
		return;
	}
	r->tenant = arena_strdup(&r->arena, s->tenant);
	next(r);
}

static void
lookup_done(struct redisReply *reply, void *data, const char *errstr)
{
	struct pending_auth *p = data;
	struct sg_req *r = p->r;
	struct slot *s;
	int64_t now = time_now_ms();

	(void)errstr;
	if (req_done(r)) {
		goto done;
	}
	if (!reply || reply->type == REDIS_REPLY_ERROR) {
		req_reply_problem(r, 503, "SERVICE_UNAVAILABLE", "storage unavailable, retry");
		goto done;
	}
	s = &r->thr->auth->slots[key_hash(p->key) % NSLOTS];
	memcpy(s->key, p->key, sizeof(s->key));
	s->tenant[0] = '\0';
	s->expires_ms = now + SG_AUTH_NEGATIVE_TTL_MS;
	if (reply->type == REDIS_REPLY_STRING && reply->len > 0 && reply->len <= SG_TENANT_MAX) {
		memcpy(s->tenant, reply->str, reply->len);
		s->tenant[reply->len] = '\0';
		s->expires_ms = now + SG_AUTH_TTL_MS;
	}
	finish(r, s, p->next);
done:
	free(p);
	req_unref(r);
}

void
auth_tenant(struct sg_req *r, const char *key, sg_auth_next next)
{
	struct sg_auth_cache *c = r->thr->auth;
	struct slot *s;
	struct pending_auth *p;
	char hex[65], rkey[SG_KEY_MAX];
	const char *argv[3];
	size_t argvlen[3];

	if (!key || !key[0] || strlen(key) >= KEY_MAX) {
		reply_unauthorized(r);
		return;
	}
	s = &c->slots[key_hash(key) % NSLOTS];
	if (strcmp(s->key, key) == 0 && s->expires_ms > time_now_ms()) {
		finish(r, s, next);
		return;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		req_reply_problem(r, 503, "SERVICE_UNAVAILABLE", "out of memory, retry");
		return;
	}
	p->r = r;
	p->next = next;
	strcpy(p->key, key);
	ids_sha256_hex(key, strlen(key), hex);
	snprintf(rkey, sizeof(rkey), "sg:apikey:%s", hex);
	argv[0] = "HGET";
	argv[1] = rkey;
	argv[2] = "tenant";
	argvlen[0] = 4;
	argvlen[1] = strlen(rkey);
	argvlen[2] = 6;
	req_ref(r);
	if (redis_call(r->thr->redis, 3, argv, argvlen, lookup_done, p) != 0) {
		free(p);
		req_unref(r);
		req_reply_problem(r, 503, "SERVICE_UNAVAILABLE", "storage unavailable, retry");
	}
}

int
auth_admin_ok(struct sg_req *r)
{
	const char *h = req_header(r, "Authorization");
	const char *want = r->thr->gw->admin_token;
	size_t i, n, m;
	unsigned char diff = 0;

	if (!h || strncmp(h, "Bearer ", 7) != 0 || !want) {
		return 0;
	}
	h += 7;
	n = strlen(h);
	m = strlen(want);
	for (i = 0; i < m; i++) {
		diff |= (unsigned char)(want[i] ^ (i < n ? h[i] : 0));
	}
	return diff == 0 && n == m;
}
