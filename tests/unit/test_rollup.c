/*
 * The worker's apply plan of one event (worker/apply.h): exact rollup keys,
 * fields and deltas, profile and product ops, UPSERT replacement and the
 * EVALSHA argument vector apply.lua receives. Merged batch plans
 * (worker/merge.h): exact merged ops, and the same final state as one by
 * one under a model of apply.lua, over random event sequences.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "check.h"
#include "error.h"
#include "event.h"
#include "merge.h"
#include "mp_reader.h"
#include "plan.h"

#define T_OCCURRED INT64_C(1777127520000) /* 2026-04-25T14:32:00Z */
#define T_RECEIVED INT64_C(1777127530000)

static struct sg_error err;

/* Delta of the INCR of (key, field); 0 when there is none. */
static int64_t
incr(const struct sg_plan *p, const char *key, const char *field)
{
	const struct sg_op *op = plan_find_incr(p, key, field);

	return op ? op->delta : 0;
}

/* Non-zero INCR ops: what is sent. */
static size_t
count_incr(const struct sg_plan *p)
{
	size_t n = 0;

	for (size_t i = 0; i < p->nops; i++) {
		n += p->ops[i].code == SG_OP_INCR && p->ops[i].delta != 0;
	}
	return n;
}

/* Value of the first op with code on (key, field) at or after *from; NULL if none. */
static const char *
op_value(const struct sg_plan *p, char code, const char *key, const char *field, size_t *at)
{
	int k = plan_key_find(p, key);

	for (size_t i = 0; k >= 0 && i < p->nops; i++) {
		const struct sg_op *op = &p->ops[i];

		if (op->code == code && op->key == (uint32_t)k && strcmp(op->field, field) == 0) {
			if (at != NULL) {
				*at = i;
			}
			return op->value ? op->value : "";
		}
	}
	return NULL;
}

static struct sg_prop props_a[] = {
    {"color", SG_VAL_STR, "red", 0, 0},
    {"size", SG_VAL_INT, NULL, 42, 0},
    {"organic", SG_VAL_BOOL, NULL, 1, 0},
};

/* A purchase: store, profile with CRM id, three lines of two products. */
static void
purchase(struct sg_event *ev, struct sg_line *lines)
{
	event_init(ev);
	strcpy(ev->id, "evt_test");
	ev->tenant = "acme";
	ev->kind = SG_KIND_PURCHASE;
	ev->occurred_ms = T_OCCURRED;
	ev->received_ms = T_RECEIVED;
	ev->store_id = "store_S";
	ev->profile_id = "prof_P";
	ev->customer_external_id = "C1";
	strcpy(ev->currency, "EUR");
	ev->total = 1750;
	ev->present = SG_HAS_TOTAL;
	memset(lines, 0, 3 * sizeof(*lines));
	lines[0].has_product = 1;
	lines[0].product = (struct sg_product_ref){"prod_A", "SKU-A", "sku-a", "4006381333931",
	                                           "Apple",  props_a, 3};
	lines[0].quantity_milli = 2000;
	lines[0].total = 1000;
	lines[1].has_product = 1;
	lines[1].product = (struct sg_product_ref){"prod_B", "SKU-B", NULL, NULL, "Bread", NULL, 0};
	lines[1].quantity_milli = 1000;
	lines[1].total = 500;
	lines[2].has_product = 1;
	lines[2].product =
	    (struct sg_product_ref){"prod_A", "SKU-A", NULL, NULL, "Apple v2", NULL, 0};
	lines[2].quantity_milli = 500;
	lines[2].total = 250;
	ev->lines = lines;
	ev->nlines = 3;
}

static void
test_purchase_rollups(struct sg_plan *p)
{
	struct sg_event ev;
	struct sg_line lines[3];
	static const char *cells[] = {"all:-", "store:store_S", "profile:prof_P"};
	char key[128];

	purchase(&ev, lines);
	CHECK_INT_EQ(apply_build(p, &ev, "acme", 7, NULL, 0, &err), 0, "purchase builds");
	for (size_t i = 0; i < 3; i++) {
		snprintf(key, sizeof(key), "r:h:%s:202604", cells[i]);
		CHECK_INT_EQ(incr(p, key, "2026042514|EUR|g"), 1750, "%s g", key);
		CHECK(plan_find_incr(p, key, "2026042514|EUR|n") == NULL, "%s no n (derived)", key);
		CHECK_INT_EQ(incr(p, key, "2026042514|EUR|t"), 1, "%s t", key);
		CHECK_INT_EQ(incr(p, key, "2026042514|EUR|u"), 3500, "%s u", key);
		CHECK(plan_find_incr(p, key, "2026042514|EUR|r") == NULL, "%s no r", key);
		CHECK(plan_find_incr(p, key, "2026042514|EUR|rc") == NULL, "%s no rc", key);
		snprintf(key, sizeof(key), "r:d:%s:2026", cells[i]);
		if (i < 2) {
			CHECK_INT_EQ(incr(p, key, "20260425|EUR|g"), 1750, "%s g", key);
		} else {
			CHECK(plan_key_find(p, key) < 0, "%s: profile keeps hours only", key);
		}
		snprintf(key, sizeof(key), "r:m:%s:all", cells[i]);
		if (i < 2) {
			CHECK_INT_EQ(incr(p, key, "202604|EUR|t"), 1, "%s t", key);
		}
	}
	/* product: line totals and units summed, the event counted once */
	CHECK_INT_EQ(incr(p, "r:h:product:prod_A:202604", "2026042514|EUR|g"), 1250, "prod_A g");
	CHECK_INT_EQ(incr(p, "r:h:product:prod_A:202604", "2026042514|EUR|u"), 2500, "prod_A u");
	CHECK_INT_EQ(incr(p, "r:h:product:prod_A:202604", "2026042514|EUR|t"), 1, "prod_A t once");
	CHECK(plan_key_find(p, "r:d:product:prod_A:2026") < 0, "products keep hours only");
	CHECK_INT_EQ(incr(p, "r:h:product:prod_B:202604", "2026042514|EUR|g"), 500, "prod_B g");
	CHECK_INT_EQ(incr(p, "r:h:product:prod_B:202604", "2026042514|EUR|u"), 1000, "prod_B u");
	/* (all, store) x 3 granularities + (profile, 2 products) x hours, x (g t u),
	 * + profile orders and net */
	CHECK_INT_EQ(count_incr(p), (2 * 3 + 3) * 3 + 2, "number of INCR ops");
}

static void
test_purchase_profile(struct sg_plan *p)
{
	struct sg_event ev;
	struct sg_line lines[3];
	const char *k = "profile:prof_P";

	purchase(&ev, lines);
	CHECK_INT_EQ(apply_build(p, &ev, "acme", 7, NULL, 0, &err), 0, "purchase builds");
	CHECK_STR_EQ(op_value(p, SG_OP_SETNX, k, "external_id", NULL), "C1", "light external_id");
	CHECK_STR_EQ(op_value(p, SG_OP_SETNX, k, "created_at", NULL), "1777127530000",
	             "light created_at = received_ms");
	CHECK_STR_EQ(op_value(p, SG_OP_SETNX, k, "light", NULL), "1", "light flag");
	CHECK_STR_EQ(op_value(p, SG_OP_MIN, k, "first_purchase_at", NULL), "1777127520000",
	             "first_purchase_at");
	CHECK_STR_EQ(op_value(p, SG_OP_MAX, k, "last_purchase_at", NULL), "1777127520000",
	             "last_purchase_at");
	CHECK_INT_EQ(incr(p, k, "orders"), 1, "orders");
	CHECK_INT_EQ(incr(p, k, "net:EUR"), 1750, "net:EUR");

	ev.customer_external_id = NULL; /* a canonical prof_ id alone: no light profile */
	CHECK_INT_EQ(apply_build(p, &ev, "acme", 7, NULL, 0, &err), 0, "builds");
	CHECK(op_value(p, SG_OP_SETNX, k, "light", NULL) == NULL,
	      "no light profile without CRM id");
	CHECK_INT_EQ(incr(p, k, "orders"), 1, "stats still counted");

	ev.profile_id = NULL; /* anonymous */
	CHECK_INT_EQ(apply_build(p, &ev, "acme", 7, NULL, 0, &err), 0, "anonymous builds");
	CHECK(plan_key_find(p, k) < 0, "anonymous: no profile key");
	CHECK(plan_key_find(p, "r:h:profile:prof_P:202604") < 0, "anonymous: no profile rollup");
	CHECK_INT_EQ(count_incr(p), (2 * 3 + 2) * 3, "anonymous: all, store, 2 products");
}

static void
test_purchase_products(struct sg_plan *p)
{
	struct sg_event ev;
	struct sg_line lines[3];
	const char *k = "product:prod_A";
	size_t when = 0;
	size_t setif = 0;
	size_t max = 0;

	purchase(&ev, lines);
	CHECK_INT_EQ(apply_build(p, &ev, "acme", 7, NULL, 0, &err), 0, "purchase builds");
	CHECK_STR_EQ(op_value(p, SG_OP_SADD, "products", "prod_A", NULL), "", "SADD prod_A");
	CHECK_STR_EQ(op_value(p, SG_OP_SADD, "products", "prod_B", NULL), "", "SADD prod_B");
	CHECK_STR_EQ(op_value(p, SG_OP_WHEN, k, "last_seen", &when), "1777127520000", "guard");
	CHECK_STR_EQ(op_value(p, SG_OP_SETIF, k, "name", &setif), "Apple",
	             "name from the product's first line");
	CHECK_STR_EQ(op_value(p, SG_OP_SETIF, k, "properties", NULL),
	             "{\"color\":\"red\",\"size\":42,\"organic\":true}", "properties JSON");
	CHECK_STR_EQ(op_value(p, SG_OP_SETIF, k, "sku", NULL), "sku-a", "sku");
	CHECK_STR_EQ(op_value(p, SG_OP_SETIF, k, "ean", NULL), "4006381333931", "ean");
	CHECK_STR_EQ(op_value(p, SG_OP_SETNX, k, "name", NULL), "Apple", "name filled if missing");
	CHECK_STR_EQ(op_value(p, SG_OP_SETNX, k, "external_id", NULL), "SKU-A", "external_id");
	CHECK_STR_EQ(op_value(p, SG_OP_MAX, k, "last_seen", &max), "1777127520000", "last_seen");
	CHECK_STR_EQ(op_value(p, SG_OP_MIN, k, "first_seen", NULL), "1777127520000", "first_seen");
	CHECK(when < setif && setif < max, "guard, then conditional sets, then last_seen");
	CHECK(op_value(p, SG_OP_SETIF, "product:prod_B", "ean", NULL) == NULL, "no ean: none set");
	CHECK(op_value(p, SG_OP_SETIF, "product:prod_B", "properties", NULL) == NULL,
	      "no props: properties untouched");
}

static void
test_return(struct sg_plan *p)
{
	struct sg_event ev;
	struct sg_line line;
	const char *k = "r:h:all:-:202604";

	event_init(&ev);
	ev.kind = SG_KIND_RETURN;
	ev.occurred_ms = T_OCCURRED;
	ev.store_id = "store_S";
	ev.profile_id = "prof_P";
	strcpy(ev.currency, "EUR");
	ev.total = 500;
	ev.present = SG_HAS_TOTAL;
	memset(&line, 0, sizeof(line));
	line.has_product = 1;
	line.product.product_id = "prod_A";
	line.quantity_milli = -1000; /* senders use either sign for returned quantities */
	line.total = -500;
	ev.lines = &line;
	ev.nlines = 1;
	CHECK_INT_EQ(apply_build(p, &ev, "acme", 8, NULL, 0, &err), 0, "return builds");
	CHECK_INT_EQ(incr(p, k, "2026042514|EUR|r"), 500, "return r");
	CHECK_INT_EQ(incr(p, k, "2026042514|EUR|rc"), 1, "return rc");
	CHECK_INT_EQ(incr(p, k, "2026042514|EUR|u"), -1000, "return u");
	CHECK(plan_find_incr(p, k, "2026042514|EUR|g") == NULL, "return: no g");
	CHECK(plan_find_incr(p, k, "2026042514|EUR|t") == NULL, "return: no t");
	CHECK_INT_EQ(incr(p, "r:h:product:prod_A:202604", "2026042514|EUR|r"), 500, "line r");
	CHECK_INT_EQ(incr(p, "r:h:product:prod_A:202604", "2026042514|EUR|u"), -1000, "line u");
	CHECK_INT_EQ(incr(p, "profile:prof_P", "net:EUR"), -500, "profile net");
	CHECK(plan_find_incr(p, "profile:prof_P", "orders") == NULL, "return: no orders");
	CHECK(op_value(p, SG_OP_MIN, "profile:prof_P", "first_purchase_at", NULL) == NULL,
	      "return: no purchase dates");

	line.quantity_milli = 1000; /* positive convention: same figures */
	line.total = 500;
	ev.kind = SG_KIND_REVERSAL;
	CHECK_INT_EQ(apply_build(p, &ev, "acme", 9, NULL, 0, &err), 0, "reversal builds");
	CHECK_INT_EQ(incr(p, k, "2026042514|EUR|r"), 500, "reversal r");
	CHECK_INT_EQ(incr(p, k, "2026042514|EUR|rc"), 1, "reversal rc");
	CHECK_INT_EQ(incr(p, k, "2026042514|EUR|u"), -1000, "reversal u");
}

static void
test_buckets(struct sg_plan *p)
{
	struct sg_event ev;

	event_init(&ev);
	ev.kind = SG_KIND_PURCHASE;
	ev.total = 100;
	ev.present = SG_HAS_TOTAL;               /* no currency: XXX */
	ev.occurred_ms = INT64_C(1777161599000); /* 2026-04-25T23:59:59Z */
	CHECK_INT_EQ(apply_build(p, &ev, "acme", 1, NULL, 0, &err), 0, "builds");
	CHECK_INT_EQ(incr(p, "r:h:all:-:202604", "2026042523|XXX|g"), 100, "last hour of a day");
	ev.occurred_ms = INT64_C(1777161600000); /* 2026-04-26T00:00:00Z */
	CHECK_INT_EQ(apply_build(p, &ev, "acme", 1, NULL, 0, &err), 0, "builds");
	CHECK_INT_EQ(incr(p, "r:d:all:-:2026", "20260426|XXX|g"), 100, "midnight is the next day");
	ev.occurred_ms = -1; /* 1969-12-31T23:59:59.999Z */
	CHECK_INT_EQ(apply_build(p, &ev, "acme", 1, NULL, 0, &err), 0, "builds");
	CHECK_INT_EQ(incr(p, "r:h:all:-:196912", "1969123123|XXX|g"), 100, "before 1970");
	CHECK_INT_EQ(incr(p, "r:m:all:-:all", "196912|XXX|g"), 100, "month before 1970");
	ev.kind = 0;
	CHECK_INT_EQ(apply_build(p, &ev, "acme", 1, NULL, 0, &err), 0, "unknown kind builds");
	CHECK_INT_EQ(count_incr(p), 0, "unknown kind adds nothing");
}

/* An UPSERT row of one product, as Peak sends: total and units. */
static void
upsert(struct sg_event *ev, struct sg_line *line, int64_t total, int64_t qty)
{
	event_init(ev);
	ev->kind = SG_KIND_UPSERT;
	ev->upsert_key = "LOC-1|PROD-1|2026-04-25T14:30:00Z";
	ev->occurred_ms = T_OCCURRED;
	ev->received_ms = T_RECEIVED;
	ev->store_id = "store_S";
	strcpy(ev->currency, "GBP");
	ev->total = total;
	ev->present = SG_HAS_TOTAL;
	memset(line, 0, sizeof(*line));
	line->has_product = 1;
	line->product.product_id = "prod_A";
	line->quantity_milli = qty;
	line->total = total;
	ev->lines = line;
	ev->nlines = 1;
}

static void
test_upsert(struct sg_plan *p)
{
	struct sg_event ev;
	struct sg_line line;
	const char *k = "r:h:store:store_S:202604";
	char *first = NULL;
	char *second = NULL;
	json_t *rec = NULL;

	upsert(&ev, &line, 1000, 1000);
	CHECK_INT_EQ(apply_build(p, &ev, "acme", 10, NULL, 0, &err), 0, "first version builds");
	CHECK_STR_EQ(p->upsert_key, ev.upsert_key, "upsert key sent");
	CHECK_INT_EQ(p->contrib_old_len, 0, "no stored record expected");
	CHECK_INT_EQ(incr(p, k, "2026042514|GBP|g"), 1000, "first g");
	CHECK_INT_EQ(incr(p, k, "2026042514|GBP|t"), 1, "first t");
	rec = json_loads(p->contrib_new, 0, NULL);
	CHECK(rec != NULL && json_integer_value(json_object_get(rec, "q")) == 10, "contrib q");
	CHECK_INT_EQ(json_array_size(json_object_get(rec, "d")), count_incr(p),
	             "contrib holds every delta");
	json_decref(rec);
	first = strdup(p->contrib_new);

	upsert(&ev, &line, 1500, 3000); /* newer version of the same record */
	CHECK_INT_EQ(apply_build(p, &ev, "acme", 12, first, strlen(first), &err), 0,
	             "second version builds");
	CHECK_STR_EQ(p->contrib_old, first, "expects the record it was built from");
	CHECK_INT_EQ(incr(p, k, "2026042514|GBP|g"), 500, "g replaced: +500");
	CHECK_INT_EQ(incr(p, k, "2026042514|GBP|u"), 2000, "u replaced: +2000");
	CHECK_INT_EQ(incr(p, k, "2026042514|GBP|t"), 0, "t replaced: no change");
	CHECK_INT_EQ(incr(p, "r:h:product:prod_A:202604", "2026042514|GBP|g"), 500,
	             "product g +500");
	CHECK_INT_EQ(count_incr(p), (2 * 3 + 1) * 2, "g u of all, store (3 granularities), product");
	second = strdup(p->contrib_new);
	rec = json_loads(second, 0, NULL);
	CHECK(rec != NULL && json_integer_value(json_object_get(rec, "q")) == 12, "new contrib q");
	json_decref(rec);

	upsert(&ev, &line, 900, 1000); /* an older version, seen late */
	CHECK_INT_EQ(apply_build(p, &ev, "acme", 11, second, strlen(second), &err), 0,
	             "older version builds");
	CHECK_INT_EQ(count_incr(p), 0, "older version adds no counters");
	CHECK(p->contrib_new == NULL, "older version keeps the stored record");
	CHECK_STR_EQ(p->contrib_old, second, "still compare-and-set on the record");
	CHECK(op_value(p, SG_OP_MIN, "product:prod_A", "first_seen", NULL) != NULL,
	      "product facts still apply");

	CHECK_INT_EQ(apply_build(p, &ev, "acme", 13, "{\"q\":1}", 7, &err), SG_EINVAL,
	             "corrupt record refused");
	ev.upsert_key = NULL;
	CHECK_INT_EQ(apply_build(p, &ev, "acme", 13, NULL, 0, &err), 0, "keyless upsert builds");
	CHECK(p->upsert_key == NULL, "keyless upsert: a plain sale");
	free(first);
	free(second);
}

static void
test_argv(struct sg_plan *p)
{
	struct sg_event ev;
	const char **argv = NULL;
	const size_t *argvlen = NULL;
	int argc = 0;
	int nkeys = 0;

	event_init(&ev);
	ev.kind = SG_KIND_RETURN;
	ev.occurred_ms = T_OCCURRED;
	strcpy(ev.currency, "EUR");
	ev.total = 300;
	ev.present = SG_HAS_TOTAL;
	CHECK_INT_EQ(apply_build(p, &ev, "acme", 42, NULL, 0, &err), 0, "builds");
	argc = plan_argv(p, "0123456789012345678901234567890123456789", &argv, &argvlen);
	/* 3 keys (h, d, m of "all") x (r rc) = 6 ops */
	CHECK_INT_EQ(argc, 3 + 5 + 5 + 6 * 4, "argc");
	if (argc < 13) {
		return;
	}
	nkeys = atoi(argv[2]);
	CHECK_STR_EQ(argv[0], "EVALSHA", "command");
	CHECK_INT_EQ(nkeys, 5, "numkeys");
	CHECK_STR_EQ(argv[3], "sg:{acme}:applied", "KEYS[1]");
	CHECK_STR_EQ(argv[4], "sg:{acme}:contrib", "KEYS[2]");
	CHECK_STR_EQ(argv[5], "sg:{acme}:r:h:all:-:202604", "KEYS[3]");
	CHECK_STR_EQ(argv[3 + nkeys], "apply", "ARGV[1]");
	CHECK_STR_EQ(argv[4 + nkeys], "42", "ARGV[2] q");
	CHECK_STR_EQ(argv[5 + nkeys], "", "ARGV[3] no upsert key");
	CHECK_STR_EQ(argv[8 + nkeys], "I", "first op code");
	CHECK_STR_EQ(argv[9 + nkeys], "3", "first op key index");
	CHECK_STR_EQ(argv[10 + nkeys], "2026042514|EUR|r", "first op field");
	CHECK_STR_EQ(argv[11 + nkeys], "300", "first op value");
	CHECK_INT_EQ(argvlen[10 + nkeys], strlen("2026042514|EUR|r"), "argvlen");
	CHECK_INT_EQ(plan_reset(p, "Bad Tenant", 1), SG_EINVAL, "invalid tenant refused");
}

/* ---- merged batch plans (worker/merge.h) ---- */

#define HOUR INT64_C(3600000)

/* Number of ops with code on (key, field) in p. */
static size_t
op_count(const struct sg_plan *p, char code, const char *key, const char *field)
{
	int k = plan_key_find(p, key);
	size_t n = 0;

	for (size_t i = 0; k >= 0 && i < p->nops; i++) {
		const struct sg_op *op = &p->ops[i];

		n += op->code == code && op->key == (uint32_t)k && strcmp(op->field, field) == 0;
	}
	return n;
}

/* The op with code on (key, field) in p, or NULL (first one; *at its index). */
static const struct sg_op *
op_find(const struct sg_plan *p, char code, const char *key, const char *field, size_t *at)
{
	int k = plan_key_find(p, key);

	for (size_t i = 0; k >= 0 && i < p->nops; i++) {
		const struct sg_op *op = &p->ops[i];

		if (op->code == code && op->key == (uint32_t)k && strcmp(op->field, field) == 0) {
			if (at != NULL) {
				*at = i;
			}
			return op;
		}
	}
	return NULL;
}

/* A model of one tenant's Redis data under apply.lua's ops. */
#define DB_SLOTS 65536
struct db_kv {
	char *key;   /* key name under the tenant; NULL = free slot */
	char *field; /* hash field or set member */
	char *value; /* "1" for a set member */
};

struct db {
	struct db_kv v[DB_SLOTS]; /* open addressing */
	size_t n;                 /* slots used */
};

static size_t
db_slot(const struct db *d, const char *key, const char *field)
{
	uint64_t h = 14695981039346656037ULL;

	for (const char *s = key; *s; s++) {
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	}
	h = (h ^ '|') * 1099511628211ULL;
	for (const char *s = field; *s; s++) {
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	}
	for (size_t i = h % DB_SLOTS;; i = (i + 1) % DB_SLOTS) {
		if (d->v[i].key == NULL ||
		    (strcmp(d->v[i].key, key) == 0 && strcmp(d->v[i].field, field) == 0)) {
			return i;
		}
	}
}

static const char *
db_get(const struct db *d, const char *key, const char *field)
{
	return d->v[db_slot(d, key, field)].value;
}

static void
db_set(struct db *d, const char *key, const char *field, const char *value)
{
	struct db_kv *kv = &d->v[db_slot(d, key, field)];

	if (kv->key == NULL) {
		kv->key = strdup(key);
		kv->field = strdup(field);
		d->n++;
	}
	free(kv->value);
	kv->value = strdup(value);
}

static void
db_clear(struct db *d)
{
	for (size_t i = 0; i < DB_SLOTS; i++) {
		free(d->v[i].key);
		free(d->v[i].field);
		free(d->v[i].value);
	}
	memset(d, 0, sizeof(*d));
}

/* Runs one op as apply.lua does; *guard is the state of the last W. */
static void
db_op(struct db *d, int *guard, char code, const char *key, const char *field, const char *value)
{
	char num[32];
	const char *stored = db_get(d, key, field);
	long long n = atoll(value);
	long long s = stored ? atoll(stored) : 0;

	switch (code) {
	case SG_OP_INCR:
		snprintf(num, sizeof(num), "%lld", s + n);
		db_set(d, key, field, num);
		break;
	case SG_OP_SETNX:
		if (stored == NULL) {
			db_set(d, key, field, value);
		}
		break;
	case SG_OP_SADD:
		db_set(d, key, field, "1");
		break;
	case SG_OP_SETIF:
		if (*guard) {
			db_set(d, key, field, value);
		}
		break;
	case SG_OP_WHEN:
		*guard = stored == NULL || n >= s;
		break;
	default:
		if (stored == NULL || (code == SG_OP_MIN && n < s) ||
		    (code == SG_OP_MAX && n > s)) {
			db_set(d, key, field, value);
		}
	}
}

/* Copies a msgpack str into out (NUL-terminated). Returns 0 or -1. */
static int
mp_text(struct sg_mp_reader *r, char *out, size_t outlen)
{
	const char *s = NULL;
	size_t len = 0;

	if (mp_read_str(r, &s, &len) < 0 || len >= outlen) {
		return -1;
	}
	memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

/* Keys seen in the chunks of one chunked plan, and the chunk of each. */
struct chunk_keys {
	char name[512][128];
	int chunk[512];
	size_t n;
};

/* Records that key is in chunk; -1 when it was in another one (a key's ops split). */
static int
chunk_key(struct chunk_keys *seen, const char *key, int chunk)
{
	size_t k = 0;

	while (k < seen->n && strcmp(seen->name[k], key) != 0) {
		k++;
	}
	if (k == seen->n && k < 512) {
		snprintf(seen->name[k], sizeof(seen->name[k]), "%s", key);
		seen->chunk[seen->n++] = chunk;
		return 0;
	}
	return k < 512 && seen->chunk[k] == chunk ? 0 : -1;
}

/*
 * Runs msgpack groups with a fresh guard: of a "batch" EVALSHA (keys: the
 * names of its KEYS, groups give an index), or of a chunk (keys NULL:
 * groups name the key in full, under the tenant, each in chunk only, seen
 * records them). Returns 0, or -1 when malformed.
 */
static int
db_run_groups(struct db *d, const char *const *keys, int nkeys, const char *blob, size_t len,
              struct chunk_keys *seen, int chunk)
{
	struct sg_mp_reader r;
	char name[128], code[4], field[256], value[512];
	const char *key = NULL;
	int64_t k = 0, m = 0;
	uint32_t n = 0;
	int guard = 1;

	mp_reader_init(&r, blob, len);
	if (mp_read_array(&r, &n) < 0) {
		return -1;
	}
	for (uint32_t i = 0; i < n; i += 3 + 2 * (uint32_t)m) {
		if (keys != NULL) {
			key = mp_read_int(&r, &k) < 0 || k < 3 || k > nkeys ? NULL : keys[k - 1];
		} else {
			key = mp_text(&r, name, sizeof(name)) < 0 || strncmp(name, "sg:{acme}:", 10) != 0 ||
			              chunk_key(seen, name, chunk) < 0
			          ? NULL
			          : name + 10;
		}
		if (key == NULL || mp_text(&r, code, 4) < 0 || strlen(code) != 1 ||
		    mp_read_int(&r, &m) < 0 || m < 1) {
			return -1;
		}
		for (int64_t j = 0; j < m; j++) {
			if (mp_text(&r, field, sizeof(field)) < 0 ||
			    mp_text(&r, value, sizeof(value)) < 0) {
				return -1;
			}
			db_op(d, &guard, code[0], key, field, value);
		}
	}
	return mp_remaining(&r) == 0 ? 0 : -1;
}

/*
 * Runs plan p as Redis would: through the EVALSHA arguments plan_argv makes
 * ("apply": four per op; "batch": the msgpack groups). Returns 0 or -1.
 */
static int
db_run(struct db *d, struct sg_plan *p)
{
	const char *keys[4096];
	const char **argv = NULL;
	const size_t *argvlen = NULL;
	int argc = plan_argv(p, "0123456789012345678901234567890123456789", &argv, &argvlen);
	int nkeys = argc > 3 ? atoi(argv[2]) : 0;
	const char *const *args = argv + 3 + nkeys;
	int guard = 1;

	if (argc < 4 || nkeys < 2 || nkeys > 4096 || argc < 3 + nkeys + 2) {
		return -1;
	}
	for (int i = 0; i < nkeys; i++) {
		keys[i] = strchr(argv[3 + i], '}') + 2; /* the name under sg:{acme}: */
	}
	if (strcmp(args[0], "batch") == 0) {
		int nq = atoi(args[1]);

		return argc == 3 + nkeys + 3 + nq ? db_run_groups(d, keys, nkeys, args[2 + nq],
		                                                  argvlen[3 + nkeys + 2 + nq], NULL, 0)
		                                  : -1;
	}
	for (int i = 5; i + 3 < argc - 3 - nkeys; i += 4) {
		db_op(d, &guard, args[i][0], keys[atoi(args[i + 1]) - 1], args[i + 2], args[i + 3]);
	}
	return 0;
}

/* 1 when a and b hold the same fields and values; diagnoses the first difference. */
static int
db_same(const struct db *a, const struct db *b)
{
	if (a->n != b->n) {
		check_diag("one by one: %zu fields, merged: %zu", a->n, b->n);
		return 0;
	}
	for (size_t i = 0; i < DB_SLOTS; i++) {
		const struct db_kv *kv = &a->v[i];
		const char *other = kv->key ? db_get(b, kv->key, kv->field) : NULL;

		if (kv->key != NULL && (other == NULL || strcmp(other, kv->value) != 0)) {
			check_diag("%s %s: one by one %s, merged %s", kv->key, kv->field, kv->value,
			           other ? other : "(missing)");
			return 0;
		}
	}
	return 1;
}

/* An event with one line per product of prods (a product may repeat). */
struct gen_event {
	struct sg_event ev;
	struct sg_line lines[3];
};

/* A product line: name and ean may be NULL. */
static void
line_of(struct sg_line *l, const char *prod, const char *name, const char *ean, int64_t total)
{
	memset(l, 0, sizeof(*l));
	l->has_product = 1;
	l->product.product_id = prod;
	l->product.external_id = prod + 5;
	l->product.name = name;
	l->product.ean = ean;
	l->quantity_milli = 1000;
	l->total = total;
}

/* A one-line purchase of prod at occurred (received: q seconds later). */
static void
simple_event(struct gen_event *g, int64_t occurred, const char *prod, const char *name,
             const char *ean)
{
	event_init(&g->ev);
	g->ev.kind = SG_KIND_PURCHASE;
	g->ev.occurred_ms = occurred;
	g->ev.received_ms = T_RECEIVED;
	g->ev.store_id = "store_S";
	strcpy(g->ev.currency, "EUR");
	line_of(&g->lines[0], prod, name, ean, 500);
	g->ev.lines = g->lines;
	g->ev.nlines = 1;
}

/* Builds event g as event q and merges it. Returns merge_add's result. */
static int
merge_event(struct sg_merge *m, struct sg_plan *p, const struct gen_event *g, int64_t q)
{
	if (apply_build(p, &g->ev, "acme", q, NULL, 0, &err) != 0) {
		return SG_EINTERNAL;
	}
	return merge_add(m, p);
}

static void
test_merge_incr(struct sg_plan *p)
{
	struct sg_merge m;
	struct sg_event ev;
	struct sg_line lines[3];
	struct gen_event ret;
	struct sg_plan *b = NULL;
	const char *k = "r:h:store:store_S:202604";
	const struct sg_op *op = NULL;

	merge_init(&m, SG_MERGE_MAX_OPS);
	CHECK_INT_EQ(merge_reset(&m, "acme"), 0, "merge reset");
	purchase(&ev, lines);
	CHECK_INT_EQ(apply_build(p, &ev, "acme", 1, NULL, 0, &err), 0, "first builds");
	CHECK_INT_EQ(merge_add(&m, p), 0, "first merged");
	CHECK_INT_EQ(apply_build(p, &ev, "acme", 2, NULL, 0, &err), 0, "second builds");
	CHECK_INT_EQ(merge_add(&m, p), 0, "second merged");
	simple_event(&ret, T_OCCURRED, "prod_A", NULL, NULL);
	ret.ev.kind = SG_KIND_RETURN;
	ret.ev.total = 3500;
	ret.ev.present = SG_HAS_TOTAL;
	CHECK_INT_EQ(merge_event(&m, p, &ret, 3), 0, "a return of both merged");
	CHECK_INT_EQ(merge_events(&m), 3, "three events");
	b = merge_build(&m);
	if (!CHECK(b != NULL, "merged plan built")) {
		merge_finish(&m);
		return;
	}
	CHECK_INT_EQ(b->nq, 3, "batch of three q");
	op = op_find(b, SG_OP_INCR, k, "2026042514|EUR|g", NULL);
	CHECK(op != NULL && op->delta == 3500, "g summed: 2 x 1750");
	CHECK_INT_EQ(op_count(b, SG_OP_INCR, k, "2026042514|EUR|g"), 1, "one INCR per field");
	op = op_find(b, SG_OP_INCR, k, "2026042514|EUR|t", NULL);
	CHECK(op != NULL && op->delta == 2, "t: two sales");
	op = op_find(b, SG_OP_INCR, k, "2026042514|EUR|r", NULL);
	CHECK(op != NULL && op->delta == 3500, "r: the return");
	op = op_find(b, SG_OP_INCR, "r:h:product:prod_A:202604", "2026042514|EUR|u", NULL);
	CHECK(op != NULL && op->delta == 2500 + 2500 - 1000, "product units summed");
	op = op_find(b, SG_OP_INCR, "profile:prof_P", "orders", NULL);
	CHECK(op != NULL && op->delta == 2, "profile orders summed");
	merge_finish(&m);
}

static void
test_merge_profile(struct sg_plan *p)
{
	static const int64_t occ[] = {2 * HOUR, 0, 2 * HOUR, HOUR};
	struct sg_merge m;
	struct gen_event g;
	struct sg_plan *b = NULL;
	const char *k = "profile:prof_P";
	const struct sg_op *op = NULL;

	merge_init(&m, SG_MERGE_MAX_OPS);
	merge_reset(&m, "acme");
	for (size_t i = 0; i < 4; i++) {
		simple_event(&g, T_OCCURRED + occ[i], "prod_A", NULL, NULL);
		g.ev.profile_id = "prof_P";
		g.ev.customer_external_id = i == 0 ? "C1" : "C2";
		g.ev.received_ms = T_RECEIVED + (int64_t)i;
		CHECK_INT_EQ(merge_event(&m, p, &g, 10 + (int64_t)i), 0, "profile event %zu", i);
	}
	b = merge_build(&m);
	if (!CHECK(b != NULL, "built")) {
		merge_finish(&m);
		return;
	}
	op = op_find(b, SG_OP_MIN, k, "first_purchase_at", NULL);
	CHECK_STR_EQ(op ? op->value : NULL, "1777127520000", "MIN: the lowest");
	op = op_find(b, SG_OP_MAX, k, "last_purchase_at", NULL);
	CHECK_STR_EQ(op ? op->value : NULL, "1777134720000", "MAX: the greatest");
	CHECK_INT_EQ(op_count(b, SG_OP_MAX, k, "last_purchase_at"), 1, "one MAX op");
	op = op_find(b, SG_OP_SETNX, k, "created_at", NULL);
	CHECK_STR_EQ(op ? op->value : NULL, "1777127530000", "SETNX: the first event's");
	op = op_find(b, SG_OP_SETNX, k, "external_id", NULL);
	CHECK_STR_EQ(op ? op->value : NULL, "C1", "SETNX: first value, later ones dropped");
	CHECK_INT_EQ(op_count(b, SG_OP_SETNX, k, "external_id"), 1, "one SETNX op");
	CHECK_INT_EQ(op_count(b, SG_OP_SADD, "products", "prod_A"), 1, "SADD once");
	merge_finish(&m);
}

/* Value of the C op on (key, field) and the W value that rules it; NULL when none. */
static const char *
guarded_value(const struct sg_plan *b, const char *key, const char *field, const char **w)
{
	size_t at = 0;
	const struct sg_op *c = op_find(b, SG_OP_SETIF, key, field, &at);

	*w = NULL;
	for (size_t i = at; c != NULL && i-- > 0;) {
		if (b->ops[i].code == SG_OP_WHEN) {
			*w = b->ops[i].value;
			break;
		}
	}
	return c ? c->value : NULL;
}

static void
test_merge_newest_wins(struct sg_plan *p)
{
	struct sg_merge m;
	struct gen_event g;
	struct sg_plan *b = NULL;
	const char *k = "product:prod_A";
	const char *w = NULL;
	size_t g_at = 0;
	size_t at = 0;

	merge_init(&m, SG_MERGE_MAX_OPS);
	merge_reset(&m, "acme");
	simple_event(&g, T_OCCURRED, "prod_A", "A1", "E1");
	CHECK_INT_EQ(merge_event(&m, p, &g, 1), 0, "e1 at T: name A1, ean E1");
	simple_event(&g, T_OCCURRED + HOUR, "prod_A", "A2", NULL);
	CHECK_INT_EQ(merge_event(&m, p, &g, 2), 0, "e2 at T+1h: name A2");
	simple_event(&g, T_OCCURRED + HOUR, "prod_A", "A3", NULL);
	CHECK_INT_EQ(merge_event(&m, p, &g, 3), 0, "e3 at T+1h too: name A3");
	simple_event(&g, T_OCCURRED - HOUR, "prod_A", "A0", "E0");
	CHECK_INT_EQ(merge_event(&m, p, &g, 4), 0, "e4 at T-1h: older");
	b = merge_build(&m);
	if (!CHECK(b != NULL, "built")) {
		merge_finish(&m);
		return;
	}
	CHECK_STR_EQ(guarded_value(b, k, "name", &w), "A3", "name: the newest, a tie to the later");
	CHECK_STR_EQ(w, "1777131120000", "name guarded by its event's occurred");
	CHECK_STR_EQ(guarded_value(b, k, "ean", &w), "E1",
	             "ean: the newest event carrying one, not the older e4");
	CHECK_STR_EQ(w, "1777127520000", "ean guarded by e1's occurred");
	CHECK_INT_EQ(op_count(b, SG_OP_SETIF, k, "name"), 1, "one C per field");
	CHECK_INT_EQ(op_count(b, SG_OP_WHEN, k, "last_seen"), 2, "one W per distinct guard value");
	CHECK_STR_EQ(op_value(b, SG_OP_SETNX, k, "name", NULL), "A1", "fill-if-missing: first");
	CHECK_STR_EQ(op_value(b, SG_OP_SETNX, k, "ean", NULL), "E1", "ean fill: first");
	CHECK_STR_EQ(op_value(b, SG_OP_MAX, k, "last_seen", &g_at), "1777131120000", "last_seen");
	CHECK_STR_EQ(op_value(b, SG_OP_MIN, k, "first_seen", NULL), "1777123920000", "first_seen");
	op_find(b, SG_OP_SETIF, k, "name", &at);
	CHECK(at < g_at, "guards read last_seen before its MAX");
	merge_finish(&m);
}

/* A hand-made event plan: its ops as "code key field value" strings. */
static int
hand_plan(struct sg_plan *p, int64_t q, const char *const *ops, size_t n)
{
	char code = 0;
	char key[64];
	char field[64];
	char value[64];
	int rc = plan_reset(p, "acme", q);

	for (size_t i = 0; i < n && rc == 0; i++) {
		if (sscanf(ops[i], "%c %63s %63s %63s", &code, key, field, value) != 4) {
			return SG_EINTERNAL;
		}
		int k = plan_key(p, key);

		rc = k < 0 ? k
		           : (code == SG_OP_INCR
		                  ? plan_incr(p, k, field, atoll(value))
		                  : plan_op(p, (enum sg_op_code)code, k, field, value));
	}
	return rc;
}

/* merge_add of a hand-made plan. */
static int
hand_add(struct sg_merge *m, struct sg_plan *p, int64_t q, const char *const *ops, size_t n)
{
	int rc = hand_plan(p, q, ops, n);

	return rc ? rc : merge_add(m, p);
}

#define HAND(m, p, q, ...)                                                                         \
	hand_add((m), (p), (q), (const char *const[]){__VA_ARGS__},                                \
	         sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

static void
test_merge_refused(struct sg_plan *p)
{
	struct sg_merge m;
	struct sg_event ev;
	struct sg_line line;
	struct gen_event g;

	merge_init(&m, SG_MERGE_MAX_OPS);
	merge_reset(&m, "acme");
	upsert(&ev, &line, 1000, 1000);
	CHECK_INT_EQ(apply_build(p, &ev, "acme", 5, NULL, 0, &err), 0, "upsert builds");
	CHECK_INT_EQ(merge_add(&m, p), SG_EINVAL, "an upsert is applied alone");
	simple_event(&g, T_OCCURRED, "prod_A", "A", NULL);
	CHECK_INT_EQ(merge_event(&m, p, &g, 6), 0, "merged");
	CHECK_INT_EQ(merge_event(&m, p, &g, 6), SG_ECONFLICT, "the same q twice: next batch");
	CHECK_INT_EQ(apply_build(p, &g.ev, "other", 7, NULL, 0, &err), 0, "other tenant");
	CHECK_INT_EQ(merge_add(&m, p), SG_EINVAL, "another tenant refused");
	CHECK_INT_EQ(merge_events(&m), 1, "refusals change nothing");

	CHECK_INT_EQ(HAND(&m, p, 20, "C product:x name n"), SG_EINVAL, "C without W");
	CHECK_INT_EQ(HAND(&m, p, 20, "W product:x last_seen 1", "C product:y name n"), SG_EINVAL,
	             "C of another key than its W");
	CHECK_INT_EQ(HAND(&m, p, 20, "N h f 1", "I h f 1"), SG_EINVAL, "N and I on one field");
	CHECK_INT_EQ(HAND(&m, p, 20, "G h f 1", "W h f 1"), SG_EINVAL, "G before W");
	CHECK_INT_EQ(HAND(&m, p, 20, "W h a 1", "W h b 1"), SG_EINVAL, "two W on one key");
	CHECK_INT_EQ(HAND(&m, p, 20, "L h f 1.5"), SG_EINVAL, "L not an integer");
	CHECK_INT_EQ(HAND(&m, p, 20, "G h f 9007199254740993"), SG_EINVAL, "G beyond 2^53");
	CHECK_INT_EQ(merge_events(&m), 1, "nothing merged");

	CHECK_INT_EQ(HAND(&m, p, 21, "N h f a"), 0, "N merged");
	CHECK_INT_EQ(HAND(&m, p, 22, "I h f 1"), SG_ECONFLICT, "then I on it: next batch");
	CHECK_INT_EQ(HAND(&m, p, 23, "G h g 5"), 0, "plain G merged");
	CHECK_INT_EQ(HAND(&m, p, 24, "W h g 5"), SG_ECONFLICT, "then W on it: next batch");
	CHECK_INT_EQ(HAND(&m, p, 25, "W h2 ls 100", "C h2 f a", "G h2 ls 50"), 0, "W 100, G 50");
	CHECK_INT_EQ(HAND(&m, p, 26, "W h2 ls 60", "C h2 f b"), SG_ECONFLICT,
	             "a lower W still relatively guarded: next batch");
	CHECK_INT_EQ(HAND(&m, p, 27, "W h2 ls 40", "C h2 f b"), 0, "a W not guarded merges");
	CHECK_INT_EQ(HAND(&m, p, 28, "W h3 ls 1", "C h3 f a"), 0, "guard ls of h3");
	CHECK_INT_EQ(HAND(&m, p, 29, "W h3 other 1", "C h3 f b"), SG_ECONFLICT,
	             "f guarded by another field: next batch");
	CHECK_INT_EQ(HAND(&m, p, 30, "I h i 9223372036854775807"), 0, "I max");
	CHECK_INT_EQ(HAND(&m, p, 31, "I h i 1"), SG_ECONFLICT, "I overflow: next batch");
	merge_finish(&m);

	merge_init(&m, 100);
	merge_reset(&m, "acme");
	simple_event(&g, T_OCCURRED, "prod_A", "A", NULL);
	CHECK_INT_EQ(merge_event(&m, p, &g, 1), 0, "over the op cap, the first event merges");
	CHECK_INT_EQ(merge_event(&m, p, &g, 2), SG_ECONFLICT, "op cap: the next one does not");
	merge_finish(&m);
}

static void
test_merge_argv(struct sg_plan *p)
{
	struct sg_merge m;
	struct sg_plan *b = NULL;
	const char **argv = NULL;
	const size_t *argvlen = NULL;
	int argc = 0;
	int nkeys = 0;

	merge_init(&m, SG_MERGE_MAX_OPS);
	merge_reset(&m, "acme");
	CHECK_INT_EQ(HAND(&m, p, 8, "I h f 5", "S products prod_A x"), 0, "merged");
	CHECK_INT_EQ(HAND(&m, p, 9, "I h f -5", "S products prod_A x"), 0, "merged");
	b = merge_build(&m);
	argc = b ? plan_argv(b, "0123456789012345678901234567890123456789", &argv, &argvlen) : -1;
	/* EVALSHA sha numkeys, 4 keys, batch 2 q q, the msgpack ops */
	if (!CHECK_INT_EQ(argc, 3 + 4 + 4 + 1, "argc")) {
		merge_finish(&m);
		return;
	}
	nkeys = atoi(argv[2]);
	CHECK_INT_EQ(nkeys, 4, "numkeys: applied, contrib, h, products");
	CHECK_STR_EQ(argv[5], "sg:{acme}:h", "KEYS[3]");
	CHECK_STR_EQ(argv[3 + nkeys], "batch", "ARGV[1] batch");
	CHECK_STR_EQ(argv[4 + nkeys], "2", "ARGV[2] n");
	CHECK_STR_EQ(argv[5 + nkeys], "8", "ARGV[3] first q");
	CHECK_STR_EQ(argv[6 + nkeys], "9", "ARGV[4] second q");
	/* [3, "I", 1, "f", "0",  4, "S", 1, "prod_A", ""] */
	static const unsigned char ops[] = {0xdd, 0,   0,    0,   10,  3,    0xa1, 'I', 1,
	                                    0xa1, 'f', 0xa1, '0', 4,   0xa1, 'S',  1,   0xa6,
	                                    'p',  'r', 'o',  'd', '_', 'A',  0xa0};
	CHECK(argvlen[7 + nkeys] == sizeof(ops) && memcmp(argv[7 + nkeys], ops, sizeof(ops)) == 0,
	      "ARGV[5]: INCR sent with 0, SADD once, as msgpack groups");
	merge_finish(&m);
}

/* xorshift64: the random sequences are the same on every run. */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

#define PICK(s, arr) (arr)[rnd(s) % (sizeof(arr) / sizeof((arr)[0]))]

/* A random event: few stores, profiles, products, times (ties), names, currencies. */
static void
random_event(struct gen_event *g, uint64_t *s, int64_t i)
{
	static const char *stores[] = {"store_1", "store_2"};
	static const char *profiles[] = {NULL, "prof_1", "prof_2", "prof_3"};
	static const char *custs[] = {NULL, "C1", "C2"};
	static const char *prods[] = {"prod_1", "prod_2", "prod_3"};
	static const char *names[] = {NULL, "Apple", "Pear", "Plum"};
	static const char *eans[] = {NULL, NULL, "4000000000001", "4000000000002"};
	static const char *currencies[] = {"EUR", "EUR", "GBP", ""};
	static const enum sg_event_kind kinds[] = {SG_KIND_PURCHASE, SG_KIND_PURCHASE,
	                                           SG_KIND_RETURN, SG_KIND_REVERSAL, 0};
	size_t nlines = 1 + rnd(s) % 3;

	event_init(&g->ev);
	g->ev.kind = PICK(s, kinds);
	g->ev.occurred_ms = T_OCCURRED + (int64_t)(rnd(s) % 5) * (HOUR / 2);
	g->ev.received_ms = T_RECEIVED + i;
	g->ev.store_id = PICK(s, stores);
	g->ev.profile_id = PICK(s, profiles);
	g->ev.customer_external_id = PICK(s, custs);
	strcpy(g->ev.currency, PICK(s, currencies));
	if (rnd(s) % 2) {
		g->ev.total = (int64_t)(rnd(s) % 5000);
		g->ev.present = SG_HAS_TOTAL;
	}
	for (size_t l = 0; l < nlines; l++) {
		line_of(&g->lines[l], PICK(s, prods), PICK(s, names), PICK(s, eans),
		        (int64_t)(rnd(s) % 3000) - 500);
		g->lines[l].quantity_milli = (int64_t)(rnd(s) % 4000) - 1000;
		g->lines[l].product.props = rnd(s) % 4 == 0 ? props_a : NULL;
		g->lines[l].product.nprops = g->lines[l].product.props ? 3 : 0;
	}
	g->ev.lines = g->lines;
	g->ev.nlines = nlines;
}

/* Random state before the events: some products and profiles seen before. */
static void
random_state(struct db *a, struct db *b, uint64_t *s)
{
	static const char *keys[] = {"product:prod_1", "product:prod_2", "product:prod_3"};
	static const char *times[] = {"1777125720000", "1777127520000", "1777129320000"};
	char t[32];

	for (size_t i = 0; i < 3; i++) {
		if (rnd(s) % 2) {
			snprintf(t, sizeof(t), "%s", PICK(s, times));
			db_set(a, keys[i], "last_seen", t);
			db_set(b, keys[i], "last_seen", t);
		}
		if (rnd(s) % 2) {
			db_set(a, keys[i], "name", "Old");
			db_set(b, keys[i], "name", "Old");
		}
	}
	if (rnd(s) % 2) {
		db_set(a, "profile:prof_1", "first_purchase_at", "1777129320000");
		db_set(b, "profile:prof_1", "first_purchase_at", "1777129320000");
		db_set(a, "r:h:all:-:202604", "2026042514|EUR|g", "100");
		db_set(b, "r:h:all:-:202604", "2026042514|EUR|g", "100");
	}
}

/*
 * Runs a merged plan as a chunked unit: plan_chunks with max_ops, the
 * "stage" argument vector, then every chunk, in forward or reverse order
 * (a key is in one chunk only, so the order must not matter). Returns 0 or -1.
 */
static int
db_run_chunked(struct db *d, struct sg_plan *p, size_t max_ops, int reverse)
{
	static struct chunk_keys seen;
	const char **argv = NULL;
	const size_t *argvlen = NULL;
	int nc = plan_chunks(p, max_ops);
	int argc = nc > 0 ? plan_argv_stage(p, "0123456789012345678901234567890123456789", "u-1",
	                                    &argv, &argvlen)
	                  : -1;
	/* EVALSHA sha 2 applied journal stage n q... unit prefix chunks... */
	int first = 9 + (int)p->nq;

	seen.n = 0;
	if (argc != first + nc || strcmp(argv[5], "stage") != 0 ||
	    strcmp(argv[first - 1], "sg:{acme}:") != 0) {
		return -1;
	}
	for (int c = 0; c < nc; c++) {
		int i = reverse ? nc - 1 - c : c;

		if (db_run_groups(d, NULL, 0, argv[first + i], argvlen[first + i], &seen, i) != 0) {
			return -1;
		}
	}
	return 0;
}

/*
 * Sends the merged batch to b (as one "batch" run, or every other time
 * chunked with a small random --apply-max-ops) and starts the next one.
 * Returns 0 or -1.
 */
static int
flush_batch(struct sg_merge *m, struct db *b, uint64_t *s)
{
	struct sg_plan *bp = merge_events(m) ? merge_build(m) : NULL;
	uint64_t r = rnd(s);
	int rc = bp == NULL   ? (merge_events(m) ? -1 : 0)
	         : r % 2 == 0 ? db_run(b, bp)
	                      : db_run_chunked(b, bp, 1 + (r >> 8) % 30, (r >> 16) % 2 == 0);

	merge_reset(m, "acme");
	return rc;
}

/*
 * Random sequences, applied one by one to a and as merged batches of random
 * sizes to b, from the same random state: the same fields and values.
 */
static void
test_merge_equivalence(struct sg_plan *p)
{
	static struct db a;
	static struct db b;
	struct sg_merge m;
	struct gen_event g;
	uint64_t s = 88172645463325252ULL;
	int failures = 0;
	int refused = 0;
	int bad = 0;
	int rc = 0;

	merge_init(&m, SG_MERGE_MAX_OPS);
	for (int round = 0; round < 400 && failures == 0; round++) {
		size_t n = 1 + rnd(&s) % 40;
		size_t cut = 1 + rnd(&s) % 20;

		random_state(&a, &b, &s);
		merge_reset(&m, "acme");
		for (size_t i = 0; i < n; i++) {
			random_event(&g, &s, (int64_t)i);
			apply_build(p, &g.ev, "acme", (int64_t)i + 1, NULL, 0, &err);
			bad += db_run(&a, p) != 0;
			if (merge_events(&m) >= cut) {
				bad += flush_batch(&m, &b, &s) != 0;
			}
			rc = merge_add(&m, p);
			if (rc == SG_ECONFLICT) {
				bad += flush_batch(&m, &b, &s) != 0;
				rc = merge_add(&m, p);
			}
			refused += rc != 0;
		}
		bad += flush_batch(&m, &b, &s) != 0;
		failures += !db_same(&a, &b);
		db_clear(&a);
		db_clear(&b);
	}
	CHECK_INT_EQ(refused, 0, "every random event merges");
	CHECK_INT_EQ(bad, 0, "every EVALSHA argument vector and chunk is well formed, no key in two chunks");
	CHECK_INT_EQ(failures, 0,
	             "merged batches, whole or chunked, give the state of one by one (400 sequences)");
	merge_finish(&m);
}

static void
test_merge_all(struct sg_plan *p)
{
	test_merge_incr(p);
	test_merge_profile(p);
	test_merge_newest_wins(p);
	test_merge_refused(p);
	test_merge_argv(p);
	test_merge_equivalence(p);
}

int
main(void)
{
	struct sg_plan plan;

	plan_init(&plan);
	test_merge_all(&plan);
	test_purchase_rollups(&plan);
	test_purchase_profile(&plan);
	test_purchase_products(&plan);
	test_return(&plan);
	test_buckets(&plan);
	test_upsert(&plan);
	test_argv(&plan);
	plan_finish(&plan);
	return check_done();
}
