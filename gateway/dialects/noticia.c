/*
 * Noticia-style sales events: stores, profiles and sales events, as the
 * vendor's sales-events guide describes them. Amounts are integer cents,
 * a RETURN is its own event with the absolute amount, stores must exist
 * before sales reference them, unknown CRM profile ids are accepted (the
 * worker creates a light profile), and the API key travels in x-api-key.
 */
#include <evhtp.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>

#include "dialect.h"
#include "noticia.h"
#include "error.h"
#include "event_codec.h"
#include "gateway.h"
#include "handlers.h"
#include "idem.h"
#include "ids.h"
#include "ingest.h"
#include "jsonv.h"
#include "jsonw.h"
#include "keys.h"
#include "records.h"
#include "redis_async.h"
#include "refs.h"
#include "request.h"
#include "router.h"
#include "timeutil.h"

#define MAX_LINES 1000
#define MAX_BATCH 1000
#define MAX_PROPS 50
#define MAX_PROPS_BYTES 4096
#define MAX_FREEFORM_BYTES 16384
#define MAX_AMOUNT 100000000000000LL /* 10^14 cents */
#define MAX_QUANTITY 1000000000LL

static const char *const currencies[] = {"EUR", "GBP", "USD", "CHF"};

static const char *
noticia_api_key(struct sg_req *r)
{
	return req_header(r, "x-api-key");
}

const struct sg_dialect_ops noticia_dialect = {
	.name = "noticia",
	.id = SG_DIALECT_NOTICIA,
	.api_key = noticia_api_key,
	.render_error = NULL,
};

/* ---- parsing ---------------------------------------------------------- */

static int
parse_prop(struct sg_prop *p, const char *key, json_t *v, struct sg_arena *a)
{
	p->key = arena_strdup(a, key);
	if (json_is_string(v)) {
		p->type = SG_VAL_STR;
		p->s = arena_strdup(a, json_string_value(v));
	} else if (json_is_integer(v)) {
		p->type = SG_VAL_INT;
		p->i = json_integer_value(v);
	} else if (json_is_real(v)) {
		p->type = SG_VAL_REAL;
		p->r = json_real_value(v);
	} else if (json_is_boolean(v)) {
		p->type = SG_VAL_BOOL;
		p->i = json_is_true(v);
	} else {
		return -1;
	}
	return 0;
}

/* JSON text size of one scalar property value, without serialising it. */
static size_t
prop_value_size(json_t *v)
{
	if (json_is_string(v)) {
		return json_string_length(v) + 2;
	}
	if (json_is_boolean(v)) {
		return json_is_true(v) ? 4 : 5;
	}
	return 24; /* a number: at most ~24 characters */
}

static void
parse_properties(json_t *props, const char *path, struct sg_product_ref *prod, struct sg_arena *a,
		 struct sg_error *err)
{
	const char *key;
	json_t *v;
	size_t n = json_object_size(props), i = 0, bytes = 2;
	char kpath[128];

	if (n > MAX_PROPS) {
		error_add(err, path, "has %zu keys; at most %d are allowed", n, MAX_PROPS);
		return;
	}
	prod->props = arena_alloc(a, sizeof(*prod->props) * (n ? n : 1));
	json_object_foreach(props, key, v)
	{
		bytes += strlen(key) + 4 + prop_value_size(v); /* "key":value, */
		if (!prod->props || parse_prop(&prod->props[i], key, v, a) != 0) {
			jsonv_path(kpath, sizeof(kpath), path, key);
			error_add(err, kpath, "must be a string, number or boolean");
			continue;
		}
		i++;
	}
	if (bytes > MAX_PROPS_BYTES) {
		error_add(err, path, "is about %zu bytes of JSON; at most %d are allowed", bytes,
			  MAX_PROPS_BYTES);
	}
	prod->nprops = i;
}

static void
parse_product(json_t *obj, const char *path, struct sg_req *r, struct sg_product_ref *prod,
	      struct sg_error *err)
{
	json_t *props = NULL;
	char ppath[128];

	if (jsonv_string(obj, path, "external_id", 1, 128, &r->arena, &prod->external_id, err) ==
	    1) {
		prod->product_id = refs_resolve(r, "prod_", prod->external_id, NULL);
	}
	jsonv_string(obj, path, "name", 0, 256, &r->arena, &prod->name, err);
	if (jsonv_object(obj, path, "properties", 0, &props, err) == 1) {
		jsonv_path(ppath, sizeof(ppath), path, "properties");
		parse_properties(props, ppath, prod, &r->arena, err);
	}
}

static void
parse_line(json_t *obj, const char *path, struct sg_req *r, struct sg_line *line,
	   struct sg_error *err)
{
	json_t *product = NULL;
	int64_t q = 0;
	char ppath[128];

	if (!json_is_object(obj)) {
		error_add(err, path, "must be an object");
		return;
	}
	jsonv_string(obj, path, "external_id", 0, 128, &r->arena, &line->external_id, err);
	if (jsonv_int(obj, path, "quantity", 1, 1, MAX_QUANTITY, &q, err) == 1) {
		line->quantity_milli = q * SG_QTY_SCALE;
	}
	jsonv_int(obj, path, "total_price_cents", 1, 0, MAX_AMOUNT, &line->total, err);
	if (jsonv_int(obj, path, "unit_price_cents", 0, 0, MAX_AMOUNT, &line->unit_price, err) ==
	    1) {
		line->present |= SG_HAS_UNIT_PRICE;
	}
	if (jsonv_int(obj, path, "tax_cents", 0, 0, MAX_AMOUNT, &line->tax, err) == 1) {
		line->present |= SG_HAS_TAX;
	}
	if (jsonv_object(obj, path, "product", 0, &product, err) == 1) {
		jsonv_path(ppath, sizeof(ppath), path, "product");
		line->has_product = 1;
		parse_product(product, ppath, r, &line->product, err);
	}
}

static void
parse_lines(json_t *root, struct sg_req *r, struct sg_event *ev, struct sg_error *err)
{
	json_t *lines = NULL;
	size_t i;
	char path[64];

	if (jsonv_array(root, NULL, "line_items", 1, 1, MAX_LINES, &lines, err) != 1) {
		return;
	}
	ev->nlines = json_array_size(lines);
	ev->lines = arena_alloc(&r->arena, sizeof(*ev->lines) * ev->nlines);
	if (!ev->lines) {
		error_set(err, SG_ENOMEM, "out of memory");
		return;
	}
	memset(ev->lines, 0, sizeof(*ev->lines) * ev->nlines);
	for (i = 0; i < ev->nlines; i++) {
		jsonv_index(path, sizeof(path), "line_items", i);
		parse_line(json_array_get(lines, i), path, r, &ev->lines[i], err);
	}
}

static void
parse_type(json_t *root, struct sg_req *r, struct sg_event *ev, struct sg_error *err)
{
	const char *type = NULL;

	if (jsonv_string(root, NULL, "type", 1, 16, &r->arena, &type, err) != 1) {
		return;
	}
	if (strcmp(type, "PURCHASE") == 0) {
		ev->kind = SG_KIND_PURCHASE;
	} else if (strcmp(type, "RETURN") == 0) {
		ev->kind = SG_KIND_RETURN;
	} else {
		error_add(err, "type", "must be PURCHASE or RETURN");
	}
}

static void
parse_time(json_t *root, struct sg_req *r, struct sg_event *ev, struct sg_error *err)
{
	const char *s = NULL;

	if (jsonv_string(root, NULL, "occurred_at", 1, 64, &r->arena, &s, err) == 1 &&
	    time_parse_rfc3339(s, strlen(s), &ev->occurred_ms, &ev->occurred_offset) != 0) {
		error_add(err, "occurred_at",
			  "must be an RFC 3339 time with an offset, e.g. 2026-04-25T14:32:00+02:00");
	}
}

static void
parse_currency(json_t *root, struct sg_req *r, struct sg_event *ev, struct sg_error *err)
{
	const char *cur = NULL;
	size_t i;

	if (jsonv_string(root, NULL, "currency", 1, 3, &r->arena, &cur, err) != 1) {
		return;
	}
	for (i = 0; i < sizeof(currencies) / sizeof(currencies[0]); i++) {
		if (strcmp(cur, currencies[i]) == 0) {
			memcpy(ev->currency, cur, 4);
			return;
		}
	}
	error_add(err, "currency", "must be one of EUR, GBP, USD, CHF");
}

/* "store_id", or its alias "store": a store external id or a store_ id. */
static void
parse_store(json_t *root, struct sg_req *r, struct sg_event *ev, struct sg_error *err)
{
	const char *a = NULL, *b = NULL;
	int ext = 0;
	int ra = jsonv_string(root, NULL, "store_id", 0, 128, &r->arena, &a, err);
	int rb = jsonv_string(root, NULL, "store", 0, 128, &r->arena, &b, err);

	if (ra < 0 || rb < 0) {
		return;
	}
	if (!a && !b) {
		error_add(err, "store_id", "is required (a store external_id or store_ id)");
		return;
	}
	if (a && b && strcmp(a, b) != 0) {
		error_add(err, "store", "conflicts with store_id; send one of them");
		return;
	}
	ev->store_id = refs_resolve(r, "store_", a ? a : b, &ext);
	ev->store_external_id = ext ? (a ? a : b) : NULL;
}

static void
parse_profile(json_t *root, struct sg_req *r, struct sg_event *ev, int *check,
	      struct sg_error *err)
{
	const char *ref = NULL;
	int ext = 0;

	if (jsonv_string(root, NULL, "profile_id", 0, 256, &r->arena, &ref, err) != 1) {
		return;
	}
	ev->profile_id = refs_resolve(r, "prof_", ref, &ext);
	ev->customer_external_id = ext ? ref : NULL;
	*check = !ext;
}

static void
parse_amounts(json_t *root, struct sg_event *ev, struct sg_error *err)
{
	if (jsonv_int(root, NULL, "total_amount_cents", 1, 1, MAX_AMOUNT, &ev->total, err) == 1) {
		ev->present |= SG_HAS_TOTAL;
	}
	if (jsonv_int(root, NULL, "total_discount_cents", 1, 0, MAX_AMOUNT, &ev->discount, err) ==
	    1) {
		ev->present |= SG_HAS_DISCOUNT;
	}
	if (jsonv_int(root, NULL, "total_tax_cents", 0, 0, MAX_AMOUNT, &ev->tax, err) == 1) {
		ev->present |= SG_HAS_TAX;
	}
}

/* payments, loyalty, metadata: kept verbatim as JSON text. */
static void
parse_freeform(json_t *root, struct sg_req *r, struct sg_event *ev, struct sg_error *err)
{
	static const char *const names[] = {"payments", "loyalty", "metadata"};
	size_t i;

	ev->custom = arena_alloc(&r->arena, sizeof(*ev->custom) * 3);
	for (i = 0; i < 3 && ev->custom; i++) {
		json_t *v = json_object_get(root, names[i]);
		const char *text;
		if (!v || json_is_null(v)) {
			continue;
		}
		text = jsonv_dump(v, &r->arena);
		if (!text || strlen(text) > MAX_FREEFORM_BYTES) {
			error_add(err, names[i], "must be at most %d bytes of JSON",
				  MAX_FREEFORM_BYTES);
			continue;
		}
		ev->custom[ev->ncustom].key = names[i];
		ev->custom[ev->ncustom].json = text;
		ev->ncustom++;
	}
}

int
noticia_parse_event(json_t *root, struct sg_req *r, struct sg_event *ev, int *check_profile,
		    struct sg_error *err)
{
	event_init(ev);
	ev->dialect = SG_DIALECT_NOTICIA;
	*check_profile = 0;
	if (jsonv_string(root, NULL, "external_id", 0, 256, &r->arena, &ev->external_id, err) ==
		    1 &&
	    refs_reserved(ev->external_id)) {
		error_add(err, "external_id", "may not start with a reserved prefix (evt_, prof_, "
					      "store_, prod_)");
	}
	parse_type(root, r, ev, err);
	parse_time(root, r, ev, err);
	parse_store(root, r, ev, err);
	parse_currency(root, r, ev, err);
	parse_amounts(root, ev, err);
	parse_profile(root, r, ev, check_profile, err);
	jsonv_string(root, NULL, "source", 0, 256, &r->arena, &ev->source, err);
	parse_freeform(root, r, ev, err);
	parse_lines(root, r, ev, err);
	if (err->ndetails && !err->message[0]) {
		snprintf(err->message, sizeof(err->message), "%zu invalid field%s",
			 err->ndetails + err->dropped, err->ndetails + err->dropped > 1 ? "s" : "");
	}
	return err->ndetails || err->code ? SG_EINVAL : 0;
}

/* ---- rendering -------------------------------------------------------- */

static void
render_props(struct jsonw *w, const struct sg_product_ref *p)
{
	size_t i;
	char num[32];

	jsonw_key(w, "properties");
	jsonw_obj_open(w);
	for (i = 0; i < p->nprops; i++) {
		const struct sg_prop *pr = &p->props[i];
		jsonw_key(w, pr->key);
		switch (pr->type) {
		case SG_VAL_STR:
			jsonw_str(w, pr->s);
			break;
		case SG_VAL_INT:
			jsonw_int(w, pr->i);
			break;
		case SG_VAL_BOOL:
			jsonw_bool(w, (int)pr->i);
			break;
		default:
			jsonw_raw(w, num, (size_t)snprintf(num, sizeof(num), "%.15g", pr->r));
			break;
		}
	}
	jsonw_obj_close(w);
}

static void
render_line(struct jsonw *w, const struct sg_line *l)
{
	jsonw_obj_open(w);
	jsonw_kstr_opt(w, "external_id", l->external_id);
	if (l->has_product) {
		jsonw_key(w, "product");
		jsonw_obj_open(w);
		jsonw_kstr_opt(w, "id", l->product.product_id);
		jsonw_kstr_opt(w, "external_id", l->product.external_id);
		jsonw_kstr_opt(w, "name", l->product.name);
		render_props(w, &l->product);
		jsonw_obj_close(w);
	}
	jsonw_key(w, "quantity");
	jsonw_decimal(w, l->quantity_milli, 3);
	if (l->present & SG_HAS_UNIT_PRICE) {
		jsonw_kint(w, "unit_price_cents", l->unit_price);
	}
	jsonw_kint(w, "total_price_cents", l->total);
	if (l->present & SG_HAS_TAX) {
		jsonw_kint(w, "tax_cents", l->tax);
	}
	jsonw_obj_close(w);
}

void
noticia_render_event(struct jsonw *w, const struct sg_event *ev)
{
	size_t i;

	jsonw_obj_open(w);
	jsonw_kstr(w, "id", ev->id);
	jsonw_kstr_opt(w, "external_id", ev->external_id);
	jsonw_kstr(w, "type", event_kind_name(ev->kind));
	jsonw_key(w, "occurred_at");
	jsonw_time(w, ev->occurred_ms, ev->occurred_offset);
	jsonw_key(w, "received_at");
	jsonw_time(w, ev->received_ms, 0);
	jsonw_kstr_opt(w, "store_id", ev->store_id);
	jsonw_kstr_opt(w, "store_external_id", ev->store_external_id);
	jsonw_kstr_opt(w, "profile_id", ev->profile_id);
	jsonw_kstr_opt(w, "profile_external_id", ev->customer_external_id);
	jsonw_kstr(w, "currency", ev->currency);
	jsonw_kint(w, "total_amount_cents", ev->total);
	jsonw_kint(w, "total_discount_cents", ev->discount);
	if (ev->present & SG_HAS_TAX) {
		jsonw_kint(w, "total_tax_cents", ev->tax);
	}
	jsonw_kstr_opt(w, "source", ev->source);
	jsonw_key(w, "line_items");
	jsonw_arr_open(w);
	for (i = 0; i < ev->nlines; i++) {
		render_line(w, &ev->lines[i]);
	}
	jsonw_arr_close(w);
	for (i = 0; i < ev->ncustom; i++) {
		jsonw_key(w, ev->custom[i].key);
		jsonw_raw(w, ev->custom[i].json, strlen(ev->custom[i].json));
	}
	jsonw_obj_close(w);
}

/* Renders a stored (msgpack) event; returns 0 or -1 when it cannot be decoded. */
static int
render_stored(struct sg_req *r, struct jsonw *w, const char *mp, size_t len)
{
	struct sg_event ev;
	struct sg_error err;

	error_clear(&err);
	if (event_decode(mp, len, &r->arena, &ev, &err) != 0) {
		return -1;
	}
	noticia_render_event(w, &ev);
	return 0;
}

/* ---- POST /v1/sales-events ------------------------------------------- */

struct single_state {
	const char *idem_key; /* held in the thread's in-flight set */
};

/*
 * Fills err for an item Redis did not accept and returns its machine code;
 * the single route answers it, the batch route puts it in the item's result.
 */
static const char *
item_failure(const struct sg_ingest_item *it, struct sg_error *err)
{
	const char *f = it->id && strcmp(it->id, "store") != 0 ? it->id : "store_id";

	error_clear(err);
	switch (it->status) {
	case 404:
		error_set(err, SG_ENOTFOUND, "%s does not resolve to a known %s", f,
			  strcmp(f, "store_id") == 0 ? "store" : "profile");
		error_add(err, f, "not found");
		return "NOT_FOUND";
	case 409:
		error_set(err, SG_ECONFLICT,
			  "this Idempotency-Key was used with a different request body");
		return "IDEMPOTENCY_CONFLICT";
	case 503:
		error_set(err, SG_EUNAVAIL, "storage unavailable, retry");
		return "SERVICE_UNAVAILABLE";
	default:
		error_set(err, SG_EINTERNAL, "unexpected storage answer");
		return "INTERNAL_ERROR";
	}
}

static void
reply_item(struct sg_req *r, struct sg_ingest_item *it)
{
	struct sg_buf *out = &r->thr->out;
	struct sg_error err;
	const char *code;
	struct jsonw w;

	switch (it->status) {
	case 201:
	case 200:
		buf_clear(out);
		jsonw_init(&w, out);
		if (it->status == 201 && !it->replayed) {
			noticia_render_event(&w, it->ev);
		} else if (!it->stored || render_stored(r, &w, it->stored, it->stored_len) != 0) {
			req_reply_problem(r, 500, "INTERNAL_ERROR", "stored event unreadable");
			return;
		}
		if (it->replayed) {
			req_add_header(r, "Idempotent-Replayed", "true");
		}
		req_reply_json(r, it->status, out->data, out->len);
		return;
	default:
		code = item_failure(it, &err);
		req_reply_error_as(r, req_status_of(err.code), code, &err);
	}
}

static void
single_done(struct sg_req *r, struct sg_ingest_item *items, size_t n)
{
	struct single_state *st = r->state;

	(void)n;
	if (st && st->idem_key) {
		idem_inflight_remove(r->thr->idem, r->tenant, st->idem_key);
	}
	reply_item(r, &items[0]);
}

/* Idempotency-Key: 1..255 visible ASCII characters. */
static int
idem_key_valid(const char *k)
{
	size_t n = strlen(k), i;

	if (n == 0 || n > 255) {
		return 0;
	}
	for (i = 0; i < n; i++) {
		if (k[i] < 0x21 || k[i] > 0x7e) {
			return 0;
		}
	}
	return 1;
}

/* SHA-256 of route + body: the same key with another body is a conflict. */
static const char *
body_hash(struct sg_req *r, const char *body, size_t len)
{
	struct sg_buf b = {0};
	char hex[65];

	if (buf_append(&b, r->route->pattern, strlen(r->route->pattern)) != 0 ||
	    buf_append(&b, "\n", 1) != 0 || buf_append(&b, body, len) != 0) {
		buf_finish(&b);
		return NULL;
	}
	ids_sha256_hex(b.data, b.len, hex);
	buf_finish(&b);
	return arena_strdup(&r->arena, hex);
}

static int
begin_idempotency(struct sg_req *r, const char *body, size_t len, const char **key,
		  const char **hash)
{
	struct single_state *st = r->state;
	const char *k = req_header(r, "Idempotency-Key");
	int rc;

	*key = *hash = NULL;
	if (!k) {
		return 0;
	}
	if (!idem_key_valid(k)) {
		struct sg_error err;
		error_clear(&err);
		error_add(&err, "Idempotency-Key", "must be 1 to 255 visible ASCII characters");
		snprintf(err.message, sizeof(err.message), "invalid Idempotency-Key header");
		req_reply_error(r, &err);
		return -1;
	}
	rc = idem_inflight_add(r->thr->idem, r->tenant, k);
	if (rc != 0) {
		req_reply_problem(r, rc > 0 ? 409 : 503,
				  rc > 0 ? "IDEMPOTENCY_IN_FLIGHT" : "SERVICE_UNAVAILABLE",
				  rc > 0 ? "a request with this Idempotency-Key is still in flight"
					 : "out of memory, retry");
		return -1;
	}
	st->idem_key = arena_strdup(&r->arena, k);
	*key = st->idem_key;
	*hash = body_hash(r, body, len);
	return 0;
}

static void
events_post(struct sg_req *r)
{
	struct sg_error err;
	struct sg_ingest_item *it = arena_alloc(&r->arena, sizeof(*it));
	struct single_state *st = arena_alloc(&r->arena, sizeof(*st));
	const char *body, *key, *hash;
	size_t len;
	json_t *root;

	error_clear(&err);
	if (!it || !st) {
		req_reply_problem(r, 503, "SERVICE_UNAVAILABLE", "out of memory, retry");
		return;
	}
	memset(it, 0, sizeof(*it));
	memset(st, 0, sizeof(*st));
	r->state = st;
	body = req_body(r, &len);
	root = body ? jsonv_parse(body, len, &r->thr->parse, &err) : NULL;
	it->ev = arena_alloc(&r->arena, sizeof(*it->ev));
	if (!root || !it->ev || noticia_parse_event(root, r, it->ev, &it->check_profile, &err)) {
		json_decref(root);
		if (!err.message[0]) {
			snprintf(err.message, sizeof(err.message), "invalid request body");
		}
		req_reply_error(r, &err);
		return;
	}
	json_decref(root);
	if (begin_idempotency(r, body, len, &key, &hash) != 0) {
		return;
	}
	ingest_submit_one(r, it, key, hash, single_done);
}

/* ---- POST /v1/sales-events/batch ------------------------------------- */

struct batch_slot {
	const char *error; /* rendered error object for a 400, or NULL */
	long item;         /* index into the ingest items, or -1 */
};

struct batch_state {
	struct batch_slot *slots;
	size_t n;
};

static const char *
render_error_text(struct sg_req *r, const struct sg_error *err, const char *code)
{
	struct sg_buf b = {0};
	struct jsonw w;
	const char *s;

	jsonw_init(&w, &b);
	req_write_error(&w, err, code, NULL);
	s = arena_strndup(&r->arena, b.data ? b.data : "{}", b.len ? b.len : 2);
	buf_finish(&b);
	return s;
}

static const char *
item_error(struct sg_req *r, const struct sg_ingest_item *it)
{
	struct sg_error err;
	const char *code = item_failure(it, &err);

	return render_error_text(r, &err, code);
}

static void
batch_done(struct sg_req *r, struct sg_ingest_item *items, size_t n)
{
	struct batch_state *st = r->state;
	struct sg_buf *out = &r->thr->out;
	struct jsonw w;
	size_t i, unavailable = 0;

	if (req_done(r)) {
		return;
	}
	for (i = 0; i < n; i++) {
		unavailable += items[i].status == 503;
	}
	if (n > 0 && unavailable == n) {
		req_reply_problem(r, 503, "SERVICE_UNAVAILABLE", "storage unavailable, retry");
		return;
	}
	buf_clear(out);
	jsonw_init(&w, out);
	jsonw_obj_open(&w);
	jsonw_key(&w, "results");
	jsonw_arr_open(&w);
	for (i = 0; i < st->n; i++) {
		const struct batch_slot *s = &st->slots[i];
		const struct sg_ingest_item *it = s->item >= 0 ? &items[s->item] : NULL;
		int status = it ? it->status : 400;
		jsonw_obj_open(&w);
		jsonw_kint(&w, "index", (int64_t)i);
		jsonw_kint(&w, "status", status);
		if (it && (status == 200 || status == 201)) {
			jsonw_kstr(&w, "id", it->id);
		} else {
			const char *e = it ? item_error(r, it) : s->error;
			jsonw_key(&w, "error");
			jsonw_raw(&w, e, strlen(e));
		}
		jsonw_obj_close(&w);
	}
	jsonw_arr_close(&w);
	jsonw_obj_close(&w);
	req_reply_json(r, 200, out->data, out->len);
}

/* Parses events[i]; returns 0 (items[*k] filled) or the rendered error in slot. */
static void
batch_parse_one(struct sg_req *r, json_t *v, struct sg_ingest_item *items, size_t *k,
		struct batch_slot *slot)
{
	struct sg_error err;
	struct sg_ingest_item *it = &items[*k];

	error_clear(&err);
	slot->item = -1;
	it->ev = arena_alloc(&r->arena, sizeof(*it->ev));
	if (!json_is_object(v)) {
		error_add(&err, "body", "each event must be a JSON object");
		snprintf(err.message, sizeof(err.message), "invalid event");
	} else if (!it->ev) {
		error_set(&err, SG_ENOMEM, "out of memory");
	} else if (noticia_parse_event(v, r, it->ev, &it->check_profile, &err) == 0) {
		slot->item = (long)(*k)++;
		return;
	}
	slot->error = render_error_text(r, &err, "VALIDATION_ERROR");
}

static void
events_batch_post(struct sg_req *r)
{
	struct sg_error err;
	struct batch_state *st = arena_alloc(&r->arena, sizeof(*st));
	struct sg_ingest_item *items;
	json_t *root, *events = NULL;
	const char *body;
	size_t len, i, k = 0;

	error_clear(&err);
	if (!st) {
		req_reply_problem(r, 503, "SERVICE_UNAVAILABLE", "out of memory, retry");
		return;
	}
	body = req_body(r, &len);
	root = body ? jsonv_parse(body, len, &r->thr->parse, &err) : NULL;
	if (!root || jsonv_array(root, NULL, "events", 1, 1, MAX_BATCH, &events, &err) != 1) {
		json_decref(root);
		snprintf(err.message, sizeof(err.message), "invalid batch body");
		req_reply_error(r, &err);
		return;
	}
	st->n = json_array_size(events);
	st->slots = arena_alloc(&r->arena, sizeof(*st->slots) * st->n);
	items = arena_alloc(&r->arena, sizeof(*items) * st->n);
	if (!st->slots || !items) {
		json_decref(root);
		req_reply_problem(r, 503, "SERVICE_UNAVAILABLE", "out of memory, retry");
		return;
	}
	memset(items, 0, sizeof(*items) * st->n);
	for (i = 0; i < st->n; i++) {
		batch_parse_one(r, json_array_get(events, i), items, &k, &st->slots[i]);
	}
	json_decref(root);
	r->state = st;
	ingest_submit(r, items, k, NULL, NULL, batch_done);
}

/* ---- GET /v1/sales-events/{ref} --------------------------------------- */

static void
event_get_done(struct redisReply *reply, void *data, const char *errstr)
{
	struct sg_req *r = data;
	struct sg_buf *out = &r->thr->out;
	struct jsonw w;

	(void)errstr;
	if (req_done(r)) {
		goto done;
	}
	if (!reply || reply->type == REDIS_REPLY_ERROR) {
		req_reply_problem(r, 503, "SERVICE_UNAVAILABLE", "storage unavailable, retry");
	} else if (reply->type != REDIS_REPLY_STRING) {
		req_reply_problem(r, 404, "NOT_FOUND", "no such sales event");
	} else {
		buf_clear(out);
		jsonw_init(&w, out);
		if (render_stored(r, &w, reply->str, reply->len) != 0) {
			req_reply_problem(r, 500, "INTERNAL_ERROR", "stored event unreadable");
		} else {
			req_reply_json(r, 200, out->data, out->len);
		}
	}
done:
	req_unref(r);
}

static void
events_get(struct sg_req *r)
{
	char k1[SG_KEY_MAX], k2[SG_KEY_MAX];
	const char *argv[3] = {k1, k2, r->params[0]};
	size_t argvlen[3];

	if (!keys_tenant(k1, sizeof(k1), r->tenant, "ev") ||
	    !keys_tenant(k2, sizeof(k2), r->tenant, "evx")) {
		req_reply_problem(r, 500, "INTERNAL_ERROR", "key too long");
		return;
	}
	argvlen[0] = strlen(k1);
	argvlen[1] = strlen(k2);
	argvlen[2] = strlen(r->params[0]);
	req_ref(r);
	if (redis_evalsha(r->thr->redis, SG_SCRIPT_EVENT_GET, 2, 3, argv, argvlen, event_get_done,
			  r) != 0) {
		req_unref(r);
		req_reply_problem(r, 503, "SERVICE_UNAVAILABLE", "storage unavailable, retry");
	}
}

/* ---- stores and profiles ---------------------------------------------- */

static void
stores_post(struct sg_req *r)
{
	records_store_upsert(r);
}

static void
profiles_post(struct sg_req *r)
{
	records_profile_upsert(r);
}

const struct sg_route noticia_routes[] = {
	{htp_method_POST, "/v1/stores", stores_post, SG_ROUTE_JSON | SG_ROUTE_AUTH,
	 &noticia_dialect},
	{htp_method_GET, "/v1/stores/{ref}", records_store_get, SG_ROUTE_AUTH, &noticia_dialect},
	{htp_method_POST, "/v1/profiles", profiles_post, SG_ROUTE_JSON | SG_ROUTE_AUTH,
	 &noticia_dialect},
	{htp_method_GET, "/v1/profiles/{ref}", records_profile_get, SG_ROUTE_AUTH, &noticia_dialect},
	{htp_method_POST, "/v1/sales-events", events_post, SG_ROUTE_JSON | SG_ROUTE_AUTH,
	 &noticia_dialect},
	{htp_method_POST, "/v1/sales-events/batch", events_batch_post,
	 SG_ROUTE_JSON | SG_ROUTE_AUTH, &noticia_dialect},
	{htp_method_GET, "/v1/sales-events/{ref}", events_get, SG_ROUTE_AUTH, &noticia_dialect},
	{htp_method_GET, "/v1/products/{ref}", records_product_get, SG_ROUTE_AUTH, &noticia_dialect},
	{htp_method_GET, "/v1/analytics/sales", analytics_sales_get, SG_ROUTE_AUTH,
	 &noticia_dialect},
};

const size_t noticia_nroutes = sizeof(noticia_routes) / sizeof(noticia_routes[0]);
