/* The apply plan of one event: rules, rollups, UPSERT replacement. */
#include "apply.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "event.h"
#include "plan.h"
#include "rollup.h"
#include "rules.h"

int
apply_is_upsert(const struct sg_event *ev)
{
	return ev->kind == SG_KIND_UPSERT && ev->upsert_key != NULL && ev->upsert_key[0] != '\0';
}

/* The "d" array of the plan's current INCR ops; NULL when out of memory or not UTF-8. */
static json_t *
contrib_deltas(const struct sg_plan *p)
{
	json_t *d = json_array();
	json_t *e = NULL;

	for (size_t i = 0; d != NULL && i < p->nops; i++) {
		const struct sg_op *op = &p->ops[i];

		if (op->code != SG_OP_INCR || op->delta == 0) {
			continue;
		}
		e = json_pack("[ssI]", p->keys[op->key], op->field, (json_int_t)op->delta);
		if (e == NULL || json_array_append_new(d, e) != 0) {
			json_decref(d);
			return NULL;
		}
	}
	return d;
}

/* The contrib record of the plan's current INCR ops (the version being applied). */
static char *
contrib_encode(struct sg_plan *p, const struct sg_event *ev)
{
	json_t *d = contrib_deltas(p);
	json_t *rec = NULL;
	char *text = NULL;
	char *copy = NULL;

	rec = d ? json_pack("{sIsIso}", "q", (json_int_t)p->q, "rm", (json_int_t)ev->received_ms,
	                    "d", d)
	        : NULL;
	text = rec ? json_dumps(rec, JSON_COMPACT) : NULL;
	copy = text ? plan_printf(p, "%s", text) : NULL;
	free(text);
	json_decref(rec);
	return copy;
}

/* Subtracts the deltas of a stored contrib record's "d" array. */
static int
contrib_subtract(struct sg_plan *p, const json_t *d, struct sg_error *err)
{
	const char *name = NULL;
	const char *field = NULL;
	json_int_t delta = 0;
	size_t i = 0;
	json_t *e = NULL;
	int k = 0;
	int rc = 0;

	for (i = 0; i < json_array_size(d); i++) {
		e = json_array_get(d, i);
		if (json_unpack(e, "[ssI!]", &name, &field, &delta) != 0) {
			return error_set(err, SG_EINVAL, "contrib record: bad delta #%zu", i);
		}
		k = plan_key(p, name);
		rc = k < 0 ? k : plan_incr(p, k, field, -(int64_t)delta);
		if (rc < 0) {
			return error_set(err, rc, "contrib record: out of memory");
		}
	}
	return 0;
}

/* Keeps no INCR op: a newer version of the record is already counted. */
static void
incr_drop(struct sg_plan *p)
{
	for (size_t i = 0; i < p->nops; i++) {
		if (p->ops[i].code == SG_OP_INCR) {
			p->ops[i].delta = 0;
		}
	}
}

/* Replaces the stored version of an UPSERT record by this one when it is newer. */
static int
apply_upsert(struct sg_plan *p, const struct sg_event *ev, const char *contrib, size_t contrib_len,
             struct sg_error *err)
{
	json_t *rec = NULL;
	json_t *d = NULL;
	json_int_t old_q = 0;
	int rc = 0;

	p->upsert_key = plan_printf(p, "%s", ev->upsert_key);
	p->contrib_old = contrib_len ? arena_strndup(&p->arena, contrib, contrib_len) : "";
	p->contrib_old_len = contrib_len;
	if (p->upsert_key == NULL || p->contrib_old == NULL) {
		return error_set(err, SG_ENOMEM, "out of memory");
	}
	if (contrib_len > 0) {
		rec = json_loadb(contrib, contrib_len, JSON_REJECT_DUPLICATES, NULL);
		if (rec == NULL || json_unpack(rec, "{sI so}", "q", &old_q, "d", &d) != 0 ||
		    !json_is_array(d)) {
			rc = error_set(err, SG_EINVAL, "contrib record of %s is corrupt",
			               ev->upsert_key);
			goto cleanup;
		}
	}
	if (contrib_len > 0 && old_q >= p->q) {
		incr_drop(p);
		goto cleanup;
	}
	p->contrib_new = contrib_encode(p, ev);
	if (p->contrib_new == NULL) {
		rc = error_set(err, SG_EINVAL, "contrib record: no memory, or not UTF-8");
		goto cleanup;
	}
	if (d != NULL) {
		rc = contrib_subtract(p, d, err);
	}
cleanup:
	json_decref(rec);
	return rc;
}

int
apply_build(struct sg_plan *p, const struct sg_event *ev, const char *tenant, int64_t q,
            const char *contrib, size_t contrib_len, struct sg_error *err)
{
	int rc = plan_reset(p, tenant, q);

	if (rc < 0) {
		return error_set(err, rc, "invalid tenant id");
	}
	rc = rules_profile(p, ev);
	rc = rc ? rc : rules_products(p, ev);
	rc = rc ? rc : rollup_build(p, ev);
	if (rc < 0) {
		return error_set(err, rc, "event %s: %s", ev->id,
		                 rc == SG_ETOOLARGE ? "a key is too long" : "out of memory");
	}
	if (apply_is_upsert(ev)) {
		return apply_upsert(p, ev, contrib ? contrib : "", contrib ? contrib_len : 0, err);
	}
	return 0;
}
