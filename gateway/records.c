/* Stores, profiles and products: see records.h. */
#include "records.h"

#include <ctype.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "gateway.h"
#include "jsonv.h"
#include "jsonw.h"
#include "keys.h"
#include "redis_async.h"
#include "refs.h"
#include "request.h"
#include "timeutil.h"

#define MAX_FIELDS 16

/* How a record hash is shown. */
typedef void (*render_fn)(struct sg_req *r, struct jsonw *w, const char *id,
			  const struct redisReply *flat);

struct record_call {
	struct sg_req *r;
	const char *id;     /* canonical id */
	render_fn render;
	const char *what;   /* "store", "profile", "product" for 404 messages */
};

/* Value of field in a flat HGETALL reply, or NULL. */
static const struct redisReply *
flat_get(const struct redisReply *flat, const char *field)
{
	size_t i, n = strlen(field);

	if (!flat || flat->type != REDIS_REPLY_ARRAY) {
		return NULL;
	}
	for (i = 0; i + 1 < flat->elements; i += 2) {
		const struct redisReply *k = flat->element[i];
		if (k->type == REDIS_REPLY_STRING && k->len == n && memcmp(k->str, field, n) == 0) {
			return flat->element[i + 1];
		}
	}
	return NULL;
}

static int64_t
flat_int(const struct redisReply *flat, const char *field, int *present)
{
	const struct redisReply *v = flat_get(flat, field);
	char tmp[32];

	*present = 0;
	if (!v || v->type != REDIS_REPLY_STRING || v->len == 0 || v->len >= sizeof(tmp)) {
		return 0;
	}
	memcpy(tmp, v->str, v->len);
	tmp[v->len] = '\0';
	*present = 1;
	return strtoll(tmp, NULL, 10);
}

/* A time field stored as epoch ms, shown as RFC 3339 UTC (or null when absent). */

/* How a stored hash field is shown. */
enum shown_kind {
	SHOWN_STR,       /* string */
	SHOWN_JSON,      /* JSON text, as is; omitted when absent */
	SHOWN_JSON_OBJ,  /* JSON text, as is; {} when absent */
	SHOWN_TIME,      /* epoch ms, as RFC 3339 UTC; omitted when absent */
	SHOWN_TIME_NULL, /* epoch ms, as RFC 3339 UTC; null when absent */
};

/* One field of a record hash and its name in the JSON answer. */
struct shown {
	const char *field;
	const char *as;
	enum shown_kind kind;
};

static void
put_field(struct jsonw *w, const struct redisReply *flat, const struct shown *f)
{
	const struct redisReply *v = flat_get(flat, f->field);
	int present = v && v->type == REDIS_REPLY_STRING;
	int64_t ms;

	if (!present && f->kind != SHOWN_JSON_OBJ && f->kind != SHOWN_TIME_NULL) {
		return;
	}
	jsonw_key(w, f->as);
	switch (f->kind) {
	case SHOWN_STR:
		jsonw_strn(w, v->str, v->len);
		break;
	case SHOWN_JSON:
	case SHOWN_JSON_OBJ:
		if (present) {
			jsonw_raw(w, v->str, v->len);
		} else {
			jsonw_raw(w, "{}", 2);
		}
		break;
	case SHOWN_TIME:
	case SHOWN_TIME_NULL:
		ms = flat_int(flat, f->field, &present);
		if (present) {
			jsonw_time(w, ms, 0);
		} else {
			jsonw_null(w);
		}
		break;
	}
}

/* Writes "id", then every field of the table in order. */
static void
put_fields(struct jsonw *w, const char *id, const struct redisReply *flat,
	   const struct shown *fields, size_t n)
{
	size_t i;

	jsonw_kstr(w, "id", id);
	for (i = 0; i < n; i++) {
		put_field(w, flat, &fields[i]);
	}
}

#define NFIELDS(t) (sizeof(t) / sizeof((t)[0]))

static const struct shown store_fields[] = {
	{"external_id", "external_id", SHOWN_STR},
	{"name", "name", SHOWN_STR},
	{"timezone", "timezone", SHOWN_STR},
	{"address", "address", SHOWN_JSON},
	{"geo", "geo", SHOWN_JSON},
	{"created_at", "created_at", SHOWN_TIME},
	{"updated_at", "updated_at", SHOWN_TIME},
};

static const struct shown profile_fields[] = {
	{"external_id", "external_id", SHOWN_STR},
	{"email", "email", SHOWN_STR},
	{"phone_number", "phone_number", SHOWN_STR},
	{"first_name", "first_name", SHOWN_STR},
	{"last_name", "last_name", SHOWN_STR},
	{"created_at", "created_at", SHOWN_TIME},
	{"updated_at", "updated_at", SHOWN_TIME},
};

static const struct shown purchase_dates[] = {
	{"first_purchase_at", "first_purchase_at", SHOWN_TIME_NULL},
	{"last_purchase_at", "last_purchase_at", SHOWN_TIME_NULL},
};

static const struct shown product_fields[] = {
	{"external_id", "external_id", SHOWN_STR},
	{"sku", "sku", SHOWN_STR},
	{"ean", "ean", SHOWN_STR},
	{"name", "name", SHOWN_STR},
	{"properties", "properties", SHOWN_JSON_OBJ},
	{"first_seen", "first_seen_at", SHOWN_TIME},
	{"last_seen", "last_seen_at", SHOWN_TIME},
};

static void
render_store(struct sg_req *r, struct jsonw *w, const char *id, const struct redisReply *flat)
{
	(void)r;
	jsonw_obj_open(w);
	put_fields(w, id, flat, store_fields, NFIELDS(store_fields));
	jsonw_obj_close(w);
}

static void
render_stats(struct jsonw *w, const struct redisReply *flat)
{
	size_t i;
	int present;

	jsonw_key(w, "stats");
	jsonw_obj_open(w);
	put_field(w, flat, &purchase_dates[0]);
	put_field(w, flat, &purchase_dates[1]);
	jsonw_kint(w, "orders", flat_int(flat, "orders", &present));
	jsonw_key(w, "net_spend_cents");
	jsonw_obj_open(w);
	for (i = 0; i + 1 < flat->elements; i += 2) {
		const struct redisReply *k = flat->element[i], *v = flat->element[i + 1];
		char cur[8], num[32];
		if (k->type != REDIS_REPLY_STRING || k->len != 7 || memcmp(k->str, "net:", 4) != 0 ||
		    v->type != REDIS_REPLY_STRING || v->len >= sizeof(num)) {
			continue;
		}
		memcpy(cur, k->str + 4, 3);
		cur[3] = '\0';
		memcpy(num, v->str, v->len);
		num[v->len] = '\0';
		jsonw_kint(w, cur, strtoll(num, NULL, 10));
	}
	jsonw_obj_close(w);
	jsonw_obj_close(w);
}

static void
render_profile(struct sg_req *r, struct jsonw *w, const char *id, const struct redisReply *flat)
{
	const struct redisReply *light = flat_get(flat, "light");

	(void)r;
	jsonw_obj_open(w);
	put_fields(w, id, flat, profile_fields, NFIELDS(profile_fields));
	jsonw_key(w, "auto_created");
	jsonw_bool(w, light && light->type == REDIS_REPLY_STRING && light->len == 1 &&
			      light->str[0] == '1');
	render_stats(w, flat);
	jsonw_obj_close(w);
}

static void
render_product(struct sg_req *r, struct jsonw *w, const char *id, const struct redisReply *flat)
{
	(void)r;
	jsonw_obj_open(w);
	put_fields(w, id, flat, product_fields, NFIELDS(product_fields));
	jsonw_obj_close(w);
}

static void
reply_record(struct record_call *c, int status, const struct redisReply *flat)
{
	struct sg_req *r = c->r;
	struct sg_buf *out = &r->thr->out;
	struct jsonw w;
	char msg[64];

	if (!flat || flat->type != REDIS_REPLY_ARRAY || flat->elements == 0) {
		snprintf(msg, sizeof(msg), "no such %s", c->what);
		req_reply_problem(r, 404, "NOT_FOUND", msg);
		return;
	}
	buf_clear(out);
	jsonw_init(&w, out);
	c->render(r, &w, c->id, flat);
	req_reply_json(r, status, out->data, out->len);
}

static void
get_done(struct redisReply *reply, void *data, const char *errstr)
{
	struct record_call *c = data;

	(void)errstr;
	if (!req_done(c->r)) {
		if (!reply || reply->type == REDIS_REPLY_ERROR) {
			req_reply_problem(c->r, 503, "SERVICE_UNAVAILABLE",
					  "storage unavailable, retry");
		} else {
			reply_record(c, 200, reply);
		}
	}
	req_unref(c->r);
}

/* {status, flat} from an upsert script, or {409, field}. */
static void
upsert_done(struct redisReply *reply, void *data, const char *errstr)
{
	struct record_call *c = data;
	struct sg_req *r = c->r;
	struct sg_error err;

	(void)errstr;
	if (req_done(r)) {
		goto done;
	}
	if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
	    reply->element[0]->type != REDIS_REPLY_INTEGER) {
		req_reply_problem(r, 503, "SERVICE_UNAVAILABLE", "storage unavailable, retry");
	} else if (reply->element[0]->integer == 409) {
		error_clear(&err);
		error_set(&err, SG_ECONFLICT, "%.*s already belongs to another profile",
			  (int)reply->element[1]->len, reply->element[1]->str);
		error_add(&err, reply->element[1]->str, "already belongs to another profile");
		err.code = SG_ECONFLICT;
		req_reply_error(r, &err);
	} else {
		reply_record(c, (int)reply->element[0]->integer, reply->element[1]);
	}
done:
	req_unref(r);
}

static struct record_call *
record_call_new(struct sg_req *r, const char *id, render_fn render, const char *what)
{
	struct record_call *c = arena_alloc(&r->arena, sizeof(*c));

	if (c) {
		c->r = r;
		c->id = id;
		c->render = render;
		c->what = what;
	}
	return c;
}

/* HGETALL of the record hash of prefix/ref; answers 200 or 404. */
static void
record_get(struct sg_req *r, const char *prefix, const char *keyname, render_fn render,
	   const char *what)
{
	const char *id = refs_resolve(r, prefix, r->params[0], NULL);
	struct record_call *c = id ? record_call_new(r, id, render, what) : NULL;
	char key[SG_KEY_MAX];
	const char *argv[2] = {"HGETALL", key};
	size_t argvlen[2] = {7, 0};

	if (!c || !(argvlen[1] = keys_tenant2(key, sizeof(key), r->tenant, keyname, id))) {
		req_reply_problem(r, 400, "VALIDATION_ERROR", "reference too long");
		return;
	}
	req_ref(r);
	if (redis_call(r->thr->redis, 2, argv, argvlen, get_done, c) != 0) {
		req_unref(r);
		req_reply_problem(r, 503, "SERVICE_UNAVAILABLE", "storage unavailable, retry");
	}
}

void
records_store_get(struct sg_req *r)
{
	record_get(r, "store_", "store:", render_store, "store");
}

void
records_profile_get(struct sg_req *r)
{
	record_get(r, "prof_", "profile:", render_profile, "profile");
}

void
records_product_get(struct sg_req *r)
{
	record_get(r, "prod_", "product:", render_product, "product");
}

/* Field/value pairs collected for an upsert script. */
struct pairs {
	const char *v[2 * MAX_FIELDS + 8];
	size_t n;
};

static void
pairs_add(struct pairs *p, const char *field, const char *value)
{
	if (value && p->n + 2 <= sizeof(p->v) / sizeof(p->v[0])) {
		p->v[p->n++] = field;
		p->v[p->n++] = value;
	}
}

static int
send_upsert(struct sg_req *r, struct record_call *c, size_t script, int nkeys, struct pairs *p)
{
	size_t argvlen[sizeof(p->v) / sizeof(p->v[0])];
	size_t i;

	for (i = 0; i < p->n; i++) {
		argvlen[i] = strlen(p->v[i]);
	}
	req_ref(r);
	if (redis_evalsha(r->thr->redis, script, nkeys, (int)p->n, p->v, argvlen, upsert_done,
			  c) != 0) {
		req_unref(r);
		return -1;
	}
	return 0;
}

static const char *
external_id(json_t *root, struct sg_req *r, struct sg_error *err)
{
	const char *ext = NULL;

	if (jsonv_string(root, NULL, "external_id", 1, 256, &r->arena, &ext, err) == 1 &&
	    refs_reserved(ext)) {
		error_add(err, "external_id", "may not start with a reserved prefix");
		return NULL;
	}
	return ext;
}

static const char *
parse_geo(json_t *root, struct sg_req *r, struct sg_error *err)
{
	json_t *geo = NULL, *lat, *lon;

	if (jsonv_object(root, NULL, "geo", 0, &geo, err) != 1) {
		return NULL;
	}
	lat = json_object_get(geo, "lat");
	lon = json_object_get(geo, "lon");
	if (!json_is_number(lat) || json_number_value(lat) < -90 || json_number_value(lat) > 90) {
		error_add(err, "geo.lat", "must be a number between -90 and 90");
	}
	if (!json_is_number(lon) || json_number_value(lon) < -180 ||
	    json_number_value(lon) > 180) {
		error_add(err, "geo.lon", "must be a number between -180 and 180");
	}
	return jsonv_dump(geo, &r->arena);
}

static const char *
parse_address(json_t *root, struct sg_req *r, struct sg_error *err)
{
	json_t *a = json_object_get(root, "address");

	if (!a || json_is_null(a)) {
		return NULL;
	}
	if (!json_is_string(a) && !json_is_object(a)) {
		error_add(err, "address", "must be a string or an object");
		return NULL;
	}
	return jsonv_dump(a, &r->arena);
}

/* Parses the body as a JSON object, or answers 400 and returns NULL. */
static json_t *
body_object(struct sg_req *r, struct sg_error *err)
{
	size_t len;
	const char *body = req_body(r, &len);
	json_t *root = body ? jsonv_parse(body, len, &r->thr->parse, err) : NULL;

	if (!root) {
		snprintf(err->message, sizeof(err->message), "invalid request body");
		req_reply_error(r, err);
	}
	return root;
}

static int
reply_if_invalid(struct sg_req *r, json_t *root, struct sg_error *err)
{
	if (!err->ndetails) {
		return 0;
	}
	json_decref(root);
	snprintf(err->message, sizeof(err->message), "%zu invalid field%s", err->ndetails,
		 err->ndetails > 1 ? "s" : "");
	req_reply_error(r, err);
	return 1;
}

void
records_store_upsert(struct sg_req *r)
{
	struct sg_error err;
	json_t *root;
	const char *ext, *name = NULL, *tz = NULL, *geo, *addr, *id;
	char key[SG_KEY_MAX], now[24];
	struct pairs p = {.n = 0};
	struct record_call *c;

	error_clear(&err);
	if (!(root = body_object(r, &err))) {
		return;
	}
	ext = external_id(root, r, &err);
	jsonv_string(root, NULL, "name", 1, 256, &r->arena, &name, &err);
	if (jsonv_string(root, NULL, "timezone", 0, 64, &r->arena, &tz, &err) == 1 &&
	    !time_zone_valid(tz)) {
		error_add(&err, "timezone", "must be an IANA time zone such as Europe/Paris");
	}
	geo = parse_geo(root, r, &err);
	addr = parse_address(root, r, &err);
	if (reply_if_invalid(r, root, &err)) {
		return;
	}
	json_decref(root);
	id = refs_resolve(r, "store_", ext, NULL);
	c = record_call_new(r, id, render_store, "store");
	snprintf(now, sizeof(now), "%lld", (long long)time_now_ms());
	if (!c || !keys_tenant2(key, sizeof(key), r->tenant, "store:", id)) {
		req_reply_problem(r, 503, "SERVICE_UNAVAILABLE", "out of memory, retry");
		return;
	}
	p.v[p.n++] = key;
	p.v[p.n++] = arena_strdup(&r->arena, now);
	pairs_add(&p, "external_id", ext);
	pairs_add(&p, "name", name);
	pairs_add(&p, "timezone", tz);
	pairs_add(&p, "geo", geo);
	pairs_add(&p, "address", addr);
	if (send_upsert(r, c, SG_SCRIPT_RECORD_UPSERT, 1, &p) != 0) {
		req_reply_problem(r, 503, "SERVICE_UNAVAILABLE", "storage unavailable, retry");
	}
}

/* Lowercases a plausible email in place; returns 0 or -1. */
static int
normalize_email(char *s)
{
	char *at = strchr(s, '@');

	if (!at || at == s || !at[1] || strchr(at + 1, '@') || !strchr(at + 1, '.')) {
		return -1;
	}
	for (; *s; s++) {
		if (isspace((unsigned char)*s)) {
			return -1;
		}
		*s = (char)tolower((unsigned char)*s);
	}
	return 0;
}

/* Strips spaces, dashes, dots and parentheses; requires +?digits (6-16). */
static int
normalize_phone(char *s)
{
	char *w = s, *p = s;
	size_t digits = 0;

	for (; *p; p++) {
		if (*p == '+' && w == s) {
			*w++ = *p;
		} else if (*p >= '0' && *p <= '9') {
			*w++ = *p;
			digits++;
		} else if (!strchr(" -.()", *p)) {
			return -1;
		}
	}
	*w = '\0';
	return digits >= 6 && digits <= 16 ? 0 : -1;
}

void
records_profile_upsert(struct sg_req *r)
{
	struct sg_error err;
	json_t *root;
	const char *ext, *email = NULL, *phone = NULL, *first = NULL, *last = NULL, *id;
	char keys[3][SG_KEY_MAX], now[24];
	struct pairs p = {.n = 0};
	struct record_call *c;

	error_clear(&err);
	if (!(root = body_object(r, &err))) {
		return;
	}
	ext = external_id(root, r, &err);
	if (jsonv_string(root, NULL, "email", 0, 254, &r->arena, &email, &err) == 1 &&
	    normalize_email((char *)email) != 0) {
		error_add(&err, "email", "must be an email address");
	}
	if (jsonv_string(root, NULL, "phone_number", 0, 32, &r->arena, &phone, &err) == 1 &&
	    normalize_phone((char *)phone) != 0) {
		error_add(&err, "phone_number", "must be a phone number (6 to 16 digits, + allowed)");
	}
	jsonv_string(root, NULL, "first_name", 0, 128, &r->arena, &first, &err);
	jsonv_string(root, NULL, "last_name", 0, 128, &r->arena, &last, &err);
	if (reply_if_invalid(r, root, &err)) {
		return;
	}
	json_decref(root);
	id = refs_resolve(r, "prof_", ext, NULL);
	c = record_call_new(r, id, render_profile, "profile");
	snprintf(now, sizeof(now), "%lld", (long long)time_now_ms());
	if (!c || !keys_tenant2(keys[0], SG_KEY_MAX, r->tenant, "profile:", id) ||
	    !keys_tenant(keys[1], SG_KEY_MAX, r->tenant, "profile_email") ||
	    !keys_tenant(keys[2], SG_KEY_MAX, r->tenant, "profile_phone")) {
		req_reply_problem(r, 503, "SERVICE_UNAVAILABLE", "out of memory, retry");
		return;
	}
	p.v[p.n++] = keys[0];
	p.v[p.n++] = keys[1];
	p.v[p.n++] = keys[2];
	p.v[p.n++] = id;
	p.v[p.n++] = arena_strdup(&r->arena, now);
	p.v[p.n++] = email ? email : "";
	p.v[p.n++] = phone ? phone : "";
	pairs_add(&p, "external_id", ext);
	pairs_add(&p, "first_name", first);
	pairs_add(&p, "last_name", last);
	if (send_upsert(r, c, SG_SCRIPT_PROFILE_UPSERT, 3, &p) != 0) {
		req_reply_problem(r, 503, "SERVICE_UNAVAILABLE", "storage unavailable, retry");
	}
}
