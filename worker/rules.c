/* Profile and product rules. */
#include "rules.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "error.h"
#include "event.h"
#include "keys.h"
#include "plan.h"
#include "rollup.h"

/* One descriptive field a line may carry for its product. */
struct described {
	const char *field; /* hash field */
	const char *value; /* NULL when the line does not carry it */
};

/* Key index of "<prefix><id>", or a negative SG_E* code. */
static int
rule_key(struct sg_plan *p, const char *prefix, const char *id, int *existed)
{
	char name[SG_KEY_MAX];
	int n = snprintf(name, sizeof(name), "%s%s", prefix, id);

	if (n < 0 || (size_t)n >= sizeof(name)) {
		return SG_ETOOLARGE;
	}
	if (existed != NULL) {
		*existed = plan_key_find(p, name) >= 0;
	}
	return plan_key(p, name);
}

/* Adds op with an int64 value. */
static int
op_int(struct sg_plan *p, enum sg_op_code code, int key, const char *field, int64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "%" PRId64, v);
	return plan_op(p, code, key, field, num);
}

int
rules_profile(struct sg_plan *p, const struct sg_event *ev)
{
	char net[16];
	int sign = rollup_kind_sign(ev);
	int k = 0;
	int rc = 0;

	if (ev->profile_id == NULL || ev->profile_id[0] == '\0') {
		return 0;
	}
	k = rule_key(p, "profile:", ev->profile_id, NULL);
	if (k < 0) {
		return k;
	}
	if (ev->customer_external_id != NULL && ev->customer_external_id[0] != '\0') {
		rc = plan_op(p, SG_OP_SETNX, k, "external_id", ev->customer_external_id);
		rc = rc ? rc : op_int(p, SG_OP_SETNX, k, "created_at", ev->received_ms);
		rc = rc ? rc : plan_op(p, SG_OP_SETNX, k, "light", "1");
	}
	if (rc == 0 && sign > 0) {
		rc = op_int(p, SG_OP_MIN, k, "first_purchase_at", ev->occurred_ms);
		rc = rc ? rc : op_int(p, SG_OP_MAX, k, "last_purchase_at", ev->occurred_ms);
		rc = rc ? rc : plan_incr(p, k, "orders", 1);
	}
	if (rc == 0 && sign != 0) {
		snprintf(net, sizeof(net), "net:%s", rollup_currency(ev));
		rc = plan_incr(p, k, net, rollup_event_net(ev));
	}
	return rc;
}

/* Compact JSON object of the product's properties; NULL when none (or on error). */
static char *
props_json(const struct sg_product_ref *prod)
{
	json_t *obj = NULL;
	json_t *v = NULL;
	char *text = NULL;

	if (prod->nprops == 0 || (obj = json_object()) == NULL) {
		return NULL;
	}
	for (size_t i = 0; i < prod->nprops; i++) {
		const struct sg_prop *pr = &prod->props[i];

		switch (pr->type) {
		case SG_VAL_STR:
			v = pr->s ? json_string(pr->s) : json_null();
			break;
		case SG_VAL_INT:
			v = json_integer(pr->i);
			break;
		case SG_VAL_REAL:
			v = json_real(pr->r);
			break;
		case SG_VAL_BOOL:
			v = json_boolean(pr->i);
			break;
		default:
			v = NULL;
		}
		if (pr->key != NULL && v != NULL) {
			json_object_set_new(obj, pr->key, v);
		}
	}
	text = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	return text;
}

/* "Newest wins" fields: set after a WHEN guard, and filled when missing otherwise. */
static int
product_described(struct sg_plan *p, int k, const struct described *f, size_t n)
{
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++) {
		if (f[i].value != NULL && f[i].value[0] != '\0') {
			rc = plan_op(p, SG_OP_SETIF, k, f[i].field, f[i].value);
		}
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (f[i].value != NULL && f[i].value[0] != '\0') {
			rc = plan_op(p, SG_OP_SETNX, k, f[i].field, f[i].value);
		}
	}
	return rc;
}

/* Ops of one product, the WHEN guard first so it sees last_seen before this event. */
static int
product_ops(struct sg_plan *p, const struct sg_event *ev, int k, const struct sg_product_ref *prod)
{
	char *props = props_json(prod);
	const struct described f[] = {
	    {"sku", prod->sku},
	    {"ean", prod->ean},
	    {"name", prod->name},
	    {"properties", props},
	};
	int rc = op_int(p, SG_OP_WHEN, k, "last_seen", ev->occurred_ms);

	rc = rc ? rc : product_described(p, k, f, sizeof(f) / sizeof(f[0]));
	if (rc == 0 && prod->external_id != NULL && prod->external_id[0] != '\0') {
		rc = plan_op(p, SG_OP_SETNX, k, "external_id", prod->external_id);
	}
	rc = rc ? rc : op_int(p, SG_OP_MAX, k, "last_seen", ev->occurred_ms);
	rc = rc ? rc : op_int(p, SG_OP_MIN, k, "first_seen", ev->occurred_ms);
	free(props);
	return rc;
}

int
rules_products(struct sg_plan *p, const struct sg_event *ev)
{
	const struct sg_product_ref *prod = NULL;
	int set = -1;
	int existed = 0;
	int k = 0;
	int rc = 0;

	for (size_t i = 0; i < ev->nlines && rc == 0; i++) {
		prod = &ev->lines[i].product;
		if (!ev->lines[i].has_product || prod->product_id == NULL ||
		    prod->product_id[0] == '\0') {
			continue;
		}
		k = rule_key(p, "product:", prod->product_id, &existed);
		if (k < 0 || existed) {
			rc = k < 0 ? k : 0; /* a product speaks once per event */
			continue;
		}
		set = set >= 0 ? set : plan_key(p, "products");
		rc = set < 0 ? set : plan_op(p, SG_OP_SADD, set, prod->product_id, "");
		rc = rc ? rc : product_ops(p, ev, k, prod);
	}
	return rc;
}
