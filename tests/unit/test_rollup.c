/*
 * The worker's apply plan of one event (worker/apply.h): exact rollup keys,
 * fields and deltas, profile and product ops, UPSERT replacement and the
 * EVALSHA argument vector apply.lua receives.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "check.h"
#include "error.h"
#include "event.h"
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
		CHECK_INT_EQ(incr(p, key, "2026042514|EUR|n"), 1750, "%s n", key);
		CHECK_INT_EQ(incr(p, key, "2026042514|EUR|t"), 1, "%s t", key);
		CHECK_INT_EQ(incr(p, key, "2026042514|EUR|u"), 3500, "%s u", key);
		CHECK(plan_find_incr(p, key, "2026042514|EUR|r") == NULL, "%s no r", key);
		CHECK(plan_find_incr(p, key, "2026042514|EUR|rc") == NULL, "%s no rc", key);
		snprintf(key, sizeof(key), "r:d:%s:2026", cells[i]);
		CHECK_INT_EQ(incr(p, key, "20260425|EUR|g"), 1750, "%s g", key);
		snprintf(key, sizeof(key), "r:m:%s:all", cells[i]);
		CHECK_INT_EQ(incr(p, key, "202604|EUR|t"), 1, "%s t", key);
	}
	/* product: line totals and units summed, the event counted once */
	CHECK_INT_EQ(incr(p, "r:h:product:prod_A:202604", "2026042514|EUR|g"), 1250, "prod_A g");
	CHECK_INT_EQ(incr(p, "r:h:product:prod_A:202604", "2026042514|EUR|n"), 1250, "prod_A n");
	CHECK_INT_EQ(incr(p, "r:h:product:prod_A:202604", "2026042514|EUR|u"), 2500, "prod_A u");
	CHECK_INT_EQ(incr(p, "r:h:product:prod_A:202604", "2026042514|EUR|t"), 1, "prod_A t once");
	CHECK_INT_EQ(incr(p, "r:d:product:prod_A:2026", "20260425|EUR|t"), 1, "prod_A d t once");
	CHECK_INT_EQ(incr(p, "r:m:product:prod_B:all", "202604|EUR|g"), 500, "prod_B m g");
	CHECK_INT_EQ(incr(p, "r:m:product:prod_B:all", "202604|EUR|u"), 1000, "prod_B m u");
	/* 5 cells x 3 granularities x (g n t u) + profile orders and net */
	CHECK_INT_EQ(count_incr(p), 5 * 3 * 4 + 2, "number of INCR ops");
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
	CHECK_INT_EQ(count_incr(p), 4 * 3 * 4, "anonymous: all, store, 2 products");
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
	CHECK_INT_EQ(incr(p, k, "2026042514|EUR|n"), -500, "return n");
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
	CHECK_INT_EQ(incr(p, "r:m:product:prod_A:all", "202604|GBP|n"), 500, "product n +500");
	CHECK_INT_EQ(count_incr(p), 3 * 3 * 3, "g n u of all, store, product x 3 granularities");
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
	/* 3 keys (h, d, m of "all") x (r n rc) = 9 ops */
	CHECK_INT_EQ(argc, 3 + 5 + 5 + 9 * 4, "argc");
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

int
main(void)
{
	struct sg_plan plan;

	plan_init(&plan);
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
