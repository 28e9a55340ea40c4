/*
 * Admin API (Authorization: Bearer $SALESGATE_ADMIN_TOKEN): tenants and
 * their API keys. Not on the hot path, so steps that span Redis slots
 * (the global tenant set and key index vs. the tenant's own keys) are plain
 * sequential commands; each step is idempotent, so a retried call completes
 * a half-done one.
 */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "gateway.h"
#include "handlers.h"
#include "ids.h"
#include "jsonv.h"
#include "jsonw.h"
#include "keys.h"
#include "money.h"
#include "redis_async.h"
#include "request.h"
#include "timeutil.h"

#define KEY_MIN 16
#define KEY_MAX_LEN 128

struct admin_op {
	struct sg_req *r;
	const char *tenant;
	const char *timezone;
	const char *currency;
	const char *key;      /* API key (clear, only in this request) */
	const char *label;
	int status;           /* status to answer once every step is done */
	int step;
};

static void admin_step(struct admin_op *op, struct redisReply *reply);

static void
step_done(struct redisReply *reply, void *data, const char *errstr)
{
	struct admin_op *op = data;
	struct sg_req *r = op->r;

	(void)errstr;
	if (req_done(r)) {
		goto done;
	}
	if (!reply || reply->type == REDIS_REPLY_ERROR) {
		if (reply && strncmp(reply->str, "BUSYGROUP", 9) == 0) {
			admin_step(op, reply); /* the group exists already: fine */
		} else {
			req_reply_problem(r, 503, "SERVICE_UNAVAILABLE", "storage unavailable, retry");
		}
		goto done;
	}
	admin_step(op, reply);
done:
	req_unref(r);
}

/* No script: send_call sends argv as a plain command. */
#define PLAIN SG_SCRIPT_COUNT

/* Sends one step (a command, or EVALSHA of script with nkeys keys); its reply runs admin_step. */
static void
send_call(struct admin_op *op, size_t script, int nkeys, int argc, const char **argv)
{
	struct sg_redis *redis = op->r->thr->redis;
	size_t argvlen[8];
	int i, rc;

	for (i = 0; i < argc; i++) {
		argvlen[i] = strlen(argv[i]);
	}
	req_ref(op->r);
	rc = script == PLAIN ? redis_call(redis, argc, argv, argvlen, step_done, op)
			     : redis_evalsha(redis, script, nkeys, argc, argv, argvlen, step_done, op);
	if (rc != 0) {
		req_unref(op->r);
		req_reply_problem(op->r, 503, "SERVICE_UNAVAILABLE", "storage unavailable, retry");
	}
}

static void
send_step(struct admin_op *op, int argc, const char **argv)
{
	send_call(op, PLAIN, 0, argc, argv);
}

static void
reply_tenant(struct admin_op *op)
{
	struct sg_buf *out = &op->r->thr->out;
	struct jsonw w;

	buf_clear(out);
	jsonw_init(&w, out);
	jsonw_obj_open(&w);
	jsonw_kstr(&w, "id", op->tenant);
	jsonw_kstr(&w, "timezone", op->timezone);
	jsonw_kstr(&w, "default_currency", op->currency);
	jsonw_obj_close(&w);
	req_reply_json(op->r, op->status, out->data, out->len);
}

static void
reply_key(struct admin_op *op)
{
	struct sg_buf *out = &op->r->thr->out;
	struct jsonw w;

	buf_clear(out);
	jsonw_init(&w, out);
	jsonw_obj_open(&w);
	jsonw_kstr(&w, "key", op->key);
	jsonw_kstr(&w, "tenant", op->tenant);
	jsonw_kstr_opt(&w, "label", op->label);
	jsonw_obj_close(&w);
	req_reply_json(op->r, op->status, out->data, out->len);
}

/* The global index key of op->key: "sg:apikey:<sha256 hex>" into k (SG_KEY_MAX). */
static void
key_index(const struct admin_op *op, char *k)
{
	char hex[65];

	ids_sha256_hex(op->key, strlen(op->key), hex);
	snprintf(k, SG_KEY_MAX, "sg:apikey:%s", hex);
}

/* Records the key's label; its reply ends the call (step 14). */
static void
send_label(struct admin_op *op, char *k, const char *now)
{
	key_index(op, k);
	op->step = 14;
	send_step(op, 6,
		  (const char *[]){"HSET", k, "label", op->label ? op->label : "", "created_at",
				   now});
}

/*
 * Tenant: 1 upsert script -> 2 SADD sg:tenants -> 3 XGROUP CREATE -> reply.
 * Key:   11 EXISTS tenant -> 12 HSETNX index (taken: 13 HGET owner, the
 *        same tenant goes on) -> 14 HSET label -> reply.
 */
static void
admin_step(struct admin_op *op, struct redisReply *reply)
{
	char k1[SG_KEY_MAX], now[24];
	struct sg_req *r = op->r;

	snprintf(now, sizeof(now), "%lld", (long long)time_now_ms());
	switch (op->step++) {
	case 1:
		op->status = reply->type == REDIS_REPLY_INTEGER ? (int)reply->integer : 500;
		if (op->status == 409) {
			req_reply_problem(r, 409, "CONFLICT",
					  "tenant exists with different settings");
			return;
		}
		send_step(op, 3, (const char *[]){"SADD", "sg:tenants", op->tenant});
		return;
	case 2:
		keys_tenant(k1, sizeof(k1), op->tenant, "stream");
		send_step(op, 6,
			  (const char *[]){"XGROUP", "CREATE", k1, SG_GROUP, "0", "MKSTREAM"});
		return;
	case 3:
		reply_tenant(op);
		return;
	case 11:
		if (reply->type != REDIS_REPLY_INTEGER || reply->integer == 0) {
			req_reply_problem(r, 404, "NOT_FOUND", "no such tenant");
			return;
		}
		key_index(op, k1);
		send_step(op, 4, (const char *[]){"HSETNX", k1, "tenant", op->tenant});
		return;
	case 12:
		if (reply->type == REDIS_REPLY_INTEGER && reply->integer == 1) {
			op->status = 201;
			send_label(op, k1, now);
		} else {
			/* taken: by this tenant (a retry of a half-done call) or another */
			key_index(op, k1);
			send_step(op, 3, (const char *[]){"HGET", k1, "tenant"});
		}
		return;
	case 13:
		if (reply->type != REDIS_REPLY_STRING || strcmp(reply->str, op->tenant) != 0) {
			req_reply_problem(r, 409, "CONFLICT",
					  "this key is registered to another tenant");
			return;
		}
		op->status = 200; /* already this tenant's: like a tenant, 200 on a repeat */
		send_label(op, k1, now);
		return;
	default:
		reply_key(op);
		return;
	}
}

static struct admin_op *
op_new(struct sg_req *r, json_t **root, struct sg_error *err)
{
	struct admin_op *op = arena_alloc(&r->arena, sizeof(*op));
	size_t len;
	const char *body = req_body(r, &len);

	*root = body ? jsonv_parse(body, len, &r->thr->parse, err) : NULL;
	if (!op || !*root) {
		json_decref(*root);
		snprintf(err->message, sizeof(err->message), "invalid request body");
		req_reply_error(r, err);
		return NULL;
	}
	memset(op, 0, sizeof(*op));
	op->r = r;
	return op;
}

static int
reply_invalid(struct sg_req *r, json_t *root, struct sg_error *err)
{
	json_decref(root);
	if (!err->ndetails) {
		return 0;
	}
	snprintf(err->message, sizeof(err->message), "invalid request body");
	req_reply_error(r, err);
	return 1;
}

void
admin_tenant_create(struct sg_req *r)
{
	struct sg_error err;
	json_t *root;
	struct admin_op *op;
	char key[SG_KEY_MAX], now[24];

	error_clear(&err);
	if (!(op = op_new(r, &root, &err))) {
		return;
	}
	if (jsonv_string(root, NULL, "id", 1, SG_TENANT_MAX, &r->arena, &op->tenant, &err) == 1 &&
	    !keys_tenant_valid(op->tenant)) {
		error_add(&err, "id", "must be 1-64 characters of a-z, 0-9, _ and -");
	}
	if (jsonv_string(root, NULL, "timezone", 1, 64, &r->arena, &op->timezone, &err) == 1 &&
	    !time_zone_valid(op->timezone)) {
		error_add(&err, "timezone", "must be an IANA time zone such as Europe/Paris");
	}
	if (jsonv_string(root, NULL, "default_currency", 1, 3, &r->arena, &op->currency, &err) ==
		    1 &&
	    money_currency_exponent(op->currency) < 0) {
		error_add(&err, "default_currency", "must be an ISO 4217 currency code");
	}
	if (reply_invalid(r, root, &err)) {
		return;
	}
	keys_tenant(key, sizeof(key), op->tenant, "tenant");
	snprintf(now, sizeof(now), "%lld", (long long)time_now_ms());
	op->step = 1;
	send_call(op, SG_SCRIPT_TENANT_UPSERT, 1, 4,
		    (const char *[]){key, op->timezone, op->currency, now});
}

static int
key_chars_ok(const char *k)
{
	for (; *k; k++) {
		char c = *k;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-')) {
			return 0;
		}
	}
	return 1;
}

void
admin_key_create(struct sg_req *r)
{
	struct sg_error err;
	json_t *root;
	struct admin_op *op;
	char key[SG_KEY_MAX], secret[80];

	error_clear(&err);
	if (!(op = op_new(r, &root, &err))) {
		return;
	}
	op->tenant = r->params[0];
	if (jsonv_string(root, NULL, "key", 0, KEY_MAX_LEN, &r->arena, &op->key, &err) == 1 &&
	    (strlen(op->key) < KEY_MIN || !key_chars_ok(op->key))) {
		error_add(&err, "key", "must be %d-%d characters of A-Z, a-z, 0-9, _ and -", KEY_MIN,
			  KEY_MAX_LEN);
	}
	jsonv_string(root, NULL, "label", 0, 256, &r->arena, &op->label, &err);
	if (reply_invalid(r, root, &err)) {
		return;
	}
	if (!keys_tenant_valid(op->tenant)) {
		req_reply_problem(r, 404, "NOT_FOUND", "no such tenant");
		return;
	}
	if (!op->key) {
		if (ids_secret("ntca_", secret, sizeof(secret)) != 0) {
			req_reply_problem(r, 503, "SERVICE_UNAVAILABLE", "no randomness, retry");
			return;
		}
		op->key = arena_strdup(&r->arena, secret);
	}
	keys_tenant(key, sizeof(key), op->tenant, "tenant");
	op->step = 11;
	send_step(op, 2, (const char *[]){"EXISTS", key});
}
