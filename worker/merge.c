/* Merged batch plans: the ops of several events as one script run. */
#include "merge.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "error.h"

#define MERGE_NUM_MAX (INT64_C(1) << 53) /* exact in apply.lua's doubles */
#define MERGE_OPS_PER_OP 3               /* plan ops one event op can add (a C: N, W, C) */

/* How a key+field is used over the batch; an op of another class conflicts. */
enum merge_class {
	CLS_INCR = 'I',  /* I */
	CLS_FILL = 'D',  /* N and C: a described field */
	CLS_MIN = 'L',   /* L */
	CLS_MAX = 'G',   /* G */
	CLS_GUARD = 'W', /* W, and G: a guard field */
	CLS_SADD = 'S',  /* S */
};

struct sg_merge_entry {
	uint32_t key;        /* batch key index */
	char cls;            /* enum merge_class */
	const char *field;   /* field or member, plan arena */
	int64_t delta;       /* CLS_INCR: sum */
	const char *value;   /* FILL: first N value; MIN/MAX/GUARD: kept L/G value; or NULL */
	int64_t num;         /* MIN/MAX/GUARD: value as a number */
	int32_t c_head;      /* GUARD: first guarded field (entry), -1 none */
	int32_t c_tail;      /* GUARD: last guarded field */
	int has_rg;          /* GUARD: some event was relatively guarded */
	int64_t rg;          /* GUARD: v of the last relatively guarded event */
	int32_t guard;       /* FILL: entry of the guard field of its C ops, -1 none */
	int32_t c_next;      /* FILL: next field of the same guard */
	const char *c_value; /* FILL: C value of r_f (merge.h), NULL none */
	int64_t c_v;         /* FILL: W value of r_f */
};

/* The W in force while an event's ops are merged. */
struct guard_ctx {
	int32_t entry; /* guard field entry, -1 before the event's first W */
	int rel;       /* the event is relatively guarded on it */
	int64_t v;     /* the event's W value */
};


/* FNV-1a of (key, field), finalized so that its low bits (the slot) are well mixed. */
static uint32_t
hash_entry(uint32_t key, const char *field)
{
	uint64_t h = (14695981039346656037ULL ^ key) * 1099511628211ULL;

	for (; *field != '\0'; field++) {
		h = (h ^ (unsigned char)*field) * 1099511628211ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return (uint32_t)h;
}

/* Slot of (key, field), hash h: it holds the entry index + 1, or 0. */
static size_t
entry_slot(const struct sg_merge *m, uint32_t key, const char *field, uint32_t h)
{
	size_t mask = m->slots_cap - 1;
	size_t i = h & mask;
	const struct sg_merge_slot *s = NULL;

	for (s = &m->slots[i]; s->entry != 0; s = &m->slots[i]) {
		if (s->hash == h && m->e[s->entry - 1].key == key &&
		    strcmp(m->e[s->entry - 1].field, field) == 0) {
			break;
		}
		i = (i + 1) & mask;
	}
	return i;
}

/* Entry of (key, field), or -1. */
static int32_t
entry_find(const struct sg_merge *m, uint32_t key, const char *field)
{
	size_t i = 0;

	if (m->slots_cap == 0) {
		return -1;
	}
	i = entry_slot(m, key, field, hash_entry(key, field));
	return (int32_t)m->slots[i].entry - 1;
}

/* Doubles the slot table when it is half full. */
static int
slots_grow(struct sg_merge *m)
{
	size_t ocap = m->slots_cap;
	size_t ncap = ocap ? ocap * 2 : 1024;
	struct sg_merge_slot *old = m->slots;

	if ((m->ne + 1) * 2 <= m->slots_cap) {
		return 0;
	}
	m->slots = calloc(ncap, sizeof(*m->slots));
	if (m->slots == NULL) {
		m->slots = old;
		return SG_ENOMEM;
	}
	m->slots_cap = ncap;
	for (size_t k = 0; k < ocap; k++) {
		if (old[k].entry != 0) {
			const struct sg_merge_entry *x = &m->e[old[k].entry - 1];

			m->slots[entry_slot(m, x->key, x->field, old[k].hash)] = old[k];
		}
	}
	free(old);
	return 0;
}

/* Class of the entries an op code makes. */
static char
class_of(char code)
{
	switch (code) {
	case SG_OP_SETNX:
	case SG_OP_SETIF:
		return CLS_FILL;
	case SG_OP_WHEN:
		return CLS_GUARD;
	default:
		return code; /* I, L, G, S: their own class */
	}
}

/* Creates the entry of (key, field) for an op of code. Returns its index or -1. */
static int32_t
entry_add(struct sg_merge *m, uint32_t key, const char *field, char code)
{
	struct sg_merge_entry *x = NULL;
	char *copy = NULL;
	uint32_t h = hash_entry(key, field);

	if (slots_grow(m) < 0 || buf_grow_array((void **)&m->e, &m->e_cap, m->ne + 1, sizeof(*m->e)) < 0 ||
	    (copy = arena_strdup(&m->plan.arena, field)) == NULL) {
		return -1;
	}
	x = &m->e[m->ne];
	memset(x, 0, sizeof(*x));
	x->key = key;
	x->cls = class_of(code);
	x->field = copy;
	x->c_head = x->c_tail = x->guard = x->c_next = -1;
	m->slots[entry_slot(m, key, copy, h)] = (struct sg_merge_slot){(uint32_t)m->ne + 1, h};
	m->bound++;
	return (int32_t)m->ne++;
}

void
merge_init(struct sg_merge *m, size_t max_ops)
{
	memset(m, 0, sizeof(*m));
	plan_init(&m->plan);
	m->max_ops = max_ops;
}

void
merge_finish(struct sg_merge *m)
{
	if (m == NULL) {
		return;
	}
	plan_finish(&m->plan);
	free(m->e);
	free(m->slots);
	free(m->kmap);
	free(m->oent);
	free(m->order);
	free(m->bucket);
	free(m->qslots);
	memset(m, 0, sizeof(*m));
}

int
merge_reset(struct sg_merge *m, const char *tenant)
{
	int rc = plan_reset(&m->plan, tenant, 0);

	if (rc < 0) {
		return rc;
	}
	m->ne = 0;
	m->nevents = 0;
	m->bound = 0;
	if (m->slots != NULL) {
		memset(m->slots, 0, m->slots_cap * sizeof(*m->slots));
	}
	if (m->qslots != NULL) {
		memset(m->qslots, 0, m->qslots_cap * sizeof(*m->qslots));
	}
	return 0;
}

size_t
merge_events(const struct sg_merge *m)
{
	return m->nevents;
}

/* Parses a decimal integer apply.lua compares exactly. Returns 0 or -1. */
static int
parse_num(const char *s, int64_t *v)
{
	char *end = NULL;
	long long n = 0;

	if (s == NULL || *s == '\0' || (*s != '-' && (*s < '0' || *s > '9'))) {
		return -1;
	}
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || n > MERGE_NUM_MAX || n < -MERGE_NUM_MAX) {
		return -1;
	}
	*v = n;
	return 0;
}

/* Whether an event plan sends op (an INCR its own ops cancelled is not sent). */
static int
ev_sent(const struct sg_op *op)
{
	return op->code != SG_OP_INCR || op->delta != 0;
}

/* Whether two non-INCR ops on one key+field of one event (a first) can be merged. */
static int
shape_pair_ok(char a, char b)
{
	if (a == b) {
		return a != SG_OP_WHEN;
	}
	return (a == SG_OP_SETIF && b == SG_OP_SETNX) || (a == SG_OP_SETNX && b == SG_OP_SETIF) ||
	       (a == SG_OP_WHEN && b == SG_OP_MAX);
}

/* Checks one non-INCR op of an event against the event's earlier ops. */
static int
shape_op_ok(const struct sg_plan *ev, size_t i, size_t w)
{
	const struct sg_op *op = &ev->ops[i];
	const struct sg_op *incr = NULL;
	int64_t v = 0;

	if (op->value == NULL || op->field == NULL) {
		return 0;
	}
	if ((op->code == SG_OP_MIN || op->code == SG_OP_MAX || op->code == SG_OP_WHEN) &&
	    parse_num(op->value, &v) < 0) {
		return 0;
	}
	if (op->code == SG_OP_SETIF && (w == SIZE_MAX || ev->ops[w].key != op->key)) {
		return 0; /* apply.lua's guard starts true: only C after a W of its key merge */
	}
	incr = plan_find_incr(ev, ev->keys[op->key], op->field);
	if (incr != NULL && incr->delta != 0) {
		return 0;
	}
	for (size_t j = 0; j < i; j++) {
		const struct sg_op *o = &ev->ops[j];

		if (o->code == SG_OP_INCR || o->key != op->key) {
			continue;
		}
		if (o->code == SG_OP_WHEN && op->code == SG_OP_WHEN) {
			return 0; /* one guard per key and event */
		}
		if (strcmp(o->field, op->field) == 0 && !shape_pair_ok(o->code, op->code)) {
			return 0;
		}
	}
	return 1;
}

/* 1 when an event plan has a shape merging reproduces (merge.h). */
static int
shape_ok(const struct sg_plan *ev)
{
	size_t w = SIZE_MAX;

	if (ev->upsert_key != NULL || ev->nq > 0) {
		return 0;
	}
	for (size_t i = 0; i < ev->nops; i++) {
		const struct sg_op *op = &ev->ops[i];

		switch (op->code) {
		case SG_OP_INCR:
			continue;
		case SG_OP_WHEN:
			w = i;
			break;
		case SG_OP_SETNX:
		case SG_OP_SETIF:
		case SG_OP_MIN:
		case SG_OP_MAX:
		case SG_OP_SADD:
			break;
		default:
			return 0;
		}
		if (!shape_op_ok(ev, i, w)) {
			return 0;
		}
	}
	return 1;
}

/* Slot of q's key (q + 1) in qslots: where it is, or the empty slot it would take. */
static size_t
q_slot(const struct sg_merge *m, uint64_t key)
{
	size_t mask = m->qslots_cap - 1;
	size_t i = (size_t)((key * UINT64_C(0x9E3779B97F4A7C15)) >> 32) & mask;

	while (m->qslots[i] != 0 && m->qslots[i] != key) {
		i = (i + 1) & mask;
	}
	return i;
}

/* Whether the batch already applies event q (q >= 0). */
static int
has_q(const struct sg_merge *m, int64_t q)
{
	return m->qslots_cap > 0 && m->qslots[q_slot(m, (uint64_t)q + 1)] != 0;
}

/* Records q (q >= 0, not yet recorded) in the q set, growing it to stay half empty. */
static int
q_record(struct sg_merge *m, int64_t q)
{
	if ((m->plan.nq + 1) * 2 > m->qslots_cap) {
		size_t cap = m->qslots_cap > 0 ? m->qslots_cap * 2 : 256;
		uint64_t *slots = calloc(cap, sizeof(*slots));

		if (slots == NULL) {
			return SG_ENOMEM;
		}
		free(m->qslots);
		m->qslots = slots;
		m->qslots_cap = cap;
		for (size_t i = 0; i < m->plan.nq; i++) {
			uint64_t key = (uint64_t)m->plan.qs[i] + 1;

			m->qslots[q_slot(m, key)] = key;
		}
	}
	m->qslots[q_slot(m, (uint64_t)q + 1)] = (uint64_t)q + 1;
	return 0;
}

/* Checks op (of guard context g) against the entry x the earlier events made. */
static int
cross_ok(const struct sg_merge *m, const struct sg_op *op, const struct sg_merge_entry *x,
         const struct sg_op *w)
{
	int64_t v = 0;
	int64_t sum = 0;

	if (op->code == SG_OP_MAX) {
		return x->cls == CLS_MAX || x->cls == CLS_GUARD;
	}
	if (x->cls != class_of(op->code)) {
		return 0;
	}
	switch (op->code) {
	case SG_OP_INCR:
		return !__builtin_add_overflow(x->delta, op->delta, &sum);
	case SG_OP_WHEN:
		parse_num(op->value, &v);
		/* relatively guarded events must keep a non-decreasing v */
		return !(x->value == NULL || v >= x->num) || !x->has_rg || v >= x->rg;
	case SG_OP_SETIF:
		return x->guard < 0 || strcmp(m->e[x->guard].field, w->field) == 0;
	}
	return 1;
}

/* Maps the event's keys and ops to existing keys and entries; checks conflicts. */
static int
merge_resolve(struct sg_merge *m, const struct sg_plan *ev)
{
	const struct sg_op *w = NULL;

	if (buf_grow_array((void **)&m->kmap, &m->kmap_cap, ev->nkeys + 1, sizeof(*m->kmap)) < 0 ||
	    buf_grow_array((void **)&m->oent, &m->oent_cap, ev->nops + 1, sizeof(*m->oent)) < 0) {
		return SG_ENOMEM;
	}
	for (size_t k = 0; k < ev->nkeys; k++) {
		m->kmap[k] = plan_key_find(&m->plan, ev->keys[k]);
	}
	for (size_t i = 0; i < ev->nops; i++) {
		const struct sg_op *op = &ev->ops[i];
		int kb = m->kmap[op->key];

		w = op->code == SG_OP_WHEN ? op : w;
		m->oent[i] = kb >= 0 && ev_sent(op) ? entry_find(m, (uint32_t)kb, op->field) : -1;
		if (m->oent[i] >= 0 && !cross_ok(m, op, &m->e[m->oent[i]], w)) {
			return SG_ECONFLICT;
		}
	}
	return 0;
}

/* Keeps value when it is the first, or lower (L) / greater (G) than the kept one. */
static int
keep_extreme(struct sg_merge *m, struct sg_merge_entry *x, const char *value, int lower)
{
	int64_t v = 0;

	parse_num(value, &v);
	if (x->value != NULL && (lower ? v >= x->num : v <= x->num)) {
		return 0;
	}
	x->value = arena_strdup(&m->plan.arena, value);
	x->num = v;
	return x->value ? 0 : SG_ENOMEM;
}

/* Applies a W: the event's guard context on the guard field x. */
static void
merge_when(struct sg_merge *m, int32_t ix, const char *value, struct guard_ctx *g)
{
	struct sg_merge_entry *x = &m->e[ix];

	parse_num(value, &g->v);
	g->entry = ix;
	g->rel = x->value == NULL || g->v >= x->num;
	if (g->rel) {
		x->has_rg = 1;
		x->rg = g->v;
	}
}

/* Applies a C: the field's value when the event is relatively guarded (later wins). */
static int
merge_setif(struct sg_merge *m, int32_t ix, const char *value, const struct guard_ctx *g)
{
	struct sg_merge_entry *x = &m->e[ix];
	struct sg_merge_entry *gx = NULL;

	if (!g->rel) {
		return 0;
	}
	x->c_value = arena_strdup(&m->plan.arena, value);
	x->c_v = g->v;
	if (x->guard < 0) {
		gx = &m->e[g->entry];
		x->guard = g->entry;
		if (gx->c_tail >= 0) {
			m->e[gx->c_tail].c_next = ix;
		} else {
			gx->c_head = ix;
		}
		gx->c_tail = ix;
		m->bound += 2; /* its W and C */
	}
	return x->c_value ? 0 : SG_ENOMEM;
}

/* Applies one op of the event to its entry. */
static int
merge_op(struct sg_merge *m, int32_t ix, const struct sg_op *op, struct guard_ctx *g)
{
	struct sg_merge_entry *x = &m->e[ix];

	switch (op->code) {
	case SG_OP_INCR:
		x->delta += op->delta;
		return 0;
	case SG_OP_SETNX:
		if (x->value == NULL &&
		    (x->value = arena_strdup(&m->plan.arena, op->value)) == NULL) {
			return SG_ENOMEM;
		}
		return 0;
	case SG_OP_MIN:
		return keep_extreme(m, x, op->value, 1);
	case SG_OP_MAX:
		return keep_extreme(m, x, op->value, 0);
	case SG_OP_WHEN:
		merge_when(m, ix, op->value, g);
		return 0;
	case SG_OP_SETIF:
		return merge_setif(m, ix, op->value, g);
	}
	return 0; /* S: the member is in the batch */
}

/* Merges the event's ops; resolve checked them. */
static int
merge_apply(struct sg_merge *m, const struct sg_plan *ev)
{
	struct guard_ctx g = {-1, 0, 0};
	int32_t ix = 0;
	int rc = 0;

	for (size_t k = 0; k < ev->nkeys; k++) {
		if (m->kmap[k] < 0 && (m->kmap[k] = plan_key(&m->plan, ev->keys[k])) < 0) {
			return SG_ENOMEM;
		}
	}
	for (size_t i = 0; i < ev->nops && rc == 0; i++) {
		const struct sg_op *op = &ev->ops[i];
		uint32_t kb = (uint32_t)m->kmap[op->key];

		if (!ev_sent(op)) {
			continue;
		}
		ix = m->oent[i] >= 0 ? m->oent[i] : entry_find(m, kb, op->field);
		ix = ix >= 0 ? ix : entry_add(m, kb, op->field, op->code);
		rc = ix < 0 ? SG_ENOMEM : merge_op(m, ix, op, &g);
	}
	return rc;
}

int
merge_add(struct sg_merge *m, const struct sg_plan *ev)
{
	int rc = 0;

	if (strcmp(ev->tenant, m->plan.tenant) != 0 || ev->q < 0 || !shape_ok(ev)) {
		return SG_EINVAL;
	}
	if (has_q(m, ev->q) ||
	    (m->nevents > 0 && m->bound + MERGE_OPS_PER_OP * ev->nops > m->max_ops)) {
		return SG_ECONFLICT;
	}
	rc = merge_resolve(m, ev);
	rc = rc ? rc : merge_apply(m, ev);
	rc = rc ? rc : q_record(m, ev->q); /* before plan_add_q: it rehashes plan.qs */
	rc = rc ? rc : plan_add_q(&m->plan, ev->q);
	m->nevents += rc == 0;
	return rc;
}

/* Pushes the W/C groups of guard field x, then its G. */
static int
build_guard(struct sg_merge *m, const struct sg_merge_entry *x)
{
	struct sg_plan *p = &m->plan;
	const char *num = NULL;
	int has_w = 0;
	int64_t last = 0;
	int rc = 0;

	for (int32_t c = x->c_head; c >= 0 && rc == 0; c = m->e[c].c_next) {
		const struct sg_merge_entry *f = &m->e[c];

		if (f->c_value == NULL) {
			continue;
		}
		if (!has_w || f->c_v != last) {
			num = plan_printf(p, "%" PRId64, f->c_v);
			rc = num ? plan_push(p, SG_OP_WHEN, (int)x->key, x->field, num, 0)
			         : SG_ENOMEM;
			has_w = 1;
			last = f->c_v;
		}
		rc = rc ? rc : plan_push(p, SG_OP_SETIF, (int)f->key, f->field, f->c_value, 0);
	}
	if (rc == 0 && x->value != NULL) {
		rc = plan_push(p, SG_OP_MAX, (int)x->key, x->field, x->value, 0);
	}
	return rc;
}

/* Pushes the op(s) of one entry. */
static int
build_entry(struct sg_merge *m, const struct sg_merge_entry *x)
{
	struct sg_plan *p = &m->plan;

	switch (x->cls) {
	case CLS_INCR:
		return plan_push(p, SG_OP_INCR, (int)x->key, x->field, NULL, x->delta);
	case CLS_FILL:
		return x->value ? plan_push(p, SG_OP_SETNX, (int)x->key, x->field, x->value, 0) : 0;
	case CLS_MIN:
	case CLS_MAX:
		return plan_push(p, (enum sg_op_code)x->cls, (int)x->key, x->field, x->value, 0);
	case CLS_GUARD:
		return build_guard(m, x);
	}
	return plan_push(p, SG_OP_SADD, (int)x->key, x->field, "", 0);
}

/* Rank of an entry's ops within its key: a guard's W / C / G first, then fills. */
static int
class_rank(char cls)
{
	static const char order[] = {CLS_GUARD, CLS_FILL, CLS_MIN, CLS_MAX, CLS_INCR, CLS_SADD};

	for (int r = 0; r < (int)sizeof(order); r++) {
		if (order[r] == cls) {
			return r;
		}
	}
	return (int)sizeof(order);
}

/*
 * Sorts the entries by key, then class rank, each stable (counting sort):
 * the plan's ops of one key and code are then consecutive, one msgpack
 * group. Ops of different key+fields do not interact (merge.h), and a
 * guard's W / C / G stay together, in order.
 */
static int
build_order(struct sg_merge *m)
{
	size_t nb = m->plan.nkeys * 8 + 1;
	uint32_t *start = NULL;

	if (buf_grow_array((void **)&m->order, &m->order_cap, m->ne + 1, sizeof(*m->order)) < 0 ||
	    buf_grow_array((void **)&m->bucket, &m->bucket_cap, nb + 1, sizeof(*m->bucket)) < 0) {
		return SG_ENOMEM;
	}
	start = m->bucket;
	memset(start, 0, (nb + 1) * sizeof(*start));
	for (size_t i = 0; i < m->ne; i++) {
		start[m->e[i].key * 8 + (uint32_t)class_rank(m->e[i].cls) + 1]++;
	}
	for (size_t b = 1; b <= nb; b++) {
		start[b] += start[b - 1];
	}
	for (size_t i = 0; i < m->ne; i++) {
		m->order[start[m->e[i].key * 8 + (uint32_t)class_rank(m->e[i].cls)]++] =
		    (uint32_t)i;
	}
	return 0;
}

struct sg_plan *
merge_build(struct sg_merge *m)
{
	int rc = 0;

	if (m->nevents == 0 || build_order(m) < 0) {
		return NULL;
	}
	m->plan.nops = 0;
	for (size_t i = 0; i < m->ne && rc == 0; i++) {
		rc = build_entry(m, &m->e[m->order[i]]);
	}
	return rc == 0 ? &m->plan : NULL;
}
