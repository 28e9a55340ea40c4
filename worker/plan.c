/* The apply plan: keys and ops of one event, and their EVALSHA form. */
#include "plan.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "error.h"

#define PLAN_ARENA_CHUNK 16384
#define PLAN_HEAD_ARGS 10 /* EVALSHA sha numkeys, KEYS[1..2], ARGV[1..5]; a batch: + nq */

static uint64_t
hash_str(uint64_t h, const char *s)
{
	for (; *s != '\0'; s++) {
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	}
	return h;
}

static uint64_t
hash_incr(uint32_t key, const char *field)
{
	uint64_t h = 14695981039346656037ULL ^ key;

	return hash_str(h * 1099511628211ULL, field);
}

/* Hash of a key name, finalized so that its low bits (the slot) are well mixed. */
static uint32_t
hash_key(const char *name)
{
	uint64_t h = hash_str(14695981039346656037ULL, name);

	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return (uint32_t)h;
}


void
plan_init(struct sg_plan *p)
{
	memset(p, 0, sizeof(*p));
	arena_init(&p->arena, PLAN_ARENA_CHUNK);
}

void
plan_finish(struct sg_plan *p)
{
	if (p == NULL) {
		return;
	}
	arena_finish(&p->arena);
	free(p->keys);
	free(p->key_hash);
	free(p->ops);
	free(p->key_slots);
	free(p->incr_slots);
	free(p->argv);
	free(p->argvlen);
	free(p->lua_key);
	free(p->qs);
	free(p->mp);
	free(p->chunk_end);
	memset(p, 0, sizeof(*p));
}

int
plan_reset(struct sg_plan *p, const char *tenant, int64_t q)
{
	if (!keys_tenant_valid(tenant)) {
		return SG_EINVAL;
	}
	arena_reset(&p->arena);
	snprintf(p->tenant, sizeof(p->tenant), "%s", tenant);
	p->q = q;
	p->nkeys = 0;
	p->nops = 0;
	if (p->key_slots != NULL) {
		memset(p->key_slots, 0, p->key_slots_cap * sizeof(*p->key_slots));
	}
	if (p->incr_slots != NULL) {
		memset(p->incr_slots, 0, p->incr_slots_cap * sizeof(*p->incr_slots));
	}
	p->upsert_key = NULL;
	p->contrib_old = NULL;
	p->contrib_old_len = 0;
	p->contrib_new = NULL;
	p->nq = 0;
	return 0;
}

/* Slot of name (hash h) in key_slots: its index + 1 is there, or the slot is 0. */
static size_t
key_slot(const struct sg_plan *p, const char *name, uint32_t h)
{
	size_t mask = p->key_slots_cap - 1;
	size_t i = h & mask;
	uint32_t k = 0;

	while ((k = p->key_slots[i]) != 0 &&
	       (p->key_hash[k - 1] != h || strcmp(p->keys[k - 1], name) != 0)) {
		i = (i + 1) & mask;
	}
	return i;
}

/* Slot of (key, field) in incr_slots. */
static size_t
incr_slot(const struct sg_plan *p, uint32_t key, const char *field)
{
	size_t mask = p->incr_slots_cap - 1;
	size_t i = hash_incr(key, field) & mask;
	const struct sg_op *op = NULL;

	while (p->incr_slots[i] != 0) {
		op = &p->ops[p->incr_slots[i] - 1];
		if (op->key == key && strcmp(op->field, field) == 0) {
			break;
		}
		i = (i + 1) & mask;
	}
	return i;
}

/* Doubles a slot table when it is half full, re-inserting every entry. */
static int
key_slots_grow(struct sg_plan *p)
{
	size_t ncap = p->key_slots_cap ? p->key_slots_cap * 2 : 64;
	uint32_t *old = p->key_slots;

	if ((p->nkeys + 1) * 2 <= p->key_slots_cap) {
		return 0;
	}
	p->key_slots = calloc(ncap, sizeof(*p->key_slots));
	if (p->key_slots == NULL) {
		p->key_slots = old;
		return SG_ENOMEM;
	}
	p->key_slots_cap = ncap;
	for (size_t k = 0; k < p->nkeys; k++) {
		p->key_slots[key_slot(p, p->keys[k], p->key_hash[k])] = (uint32_t)k + 1;
	}
	free(old);
	return 0;
}

static int
incr_slots_grow(struct sg_plan *p, size_t nincr)
{
	size_t ncap = p->incr_slots_cap ? p->incr_slots_cap * 2 : 256;
	uint32_t *old = p->incr_slots;

	if ((nincr + 1) * 2 <= p->incr_slots_cap) {
		return 0;
	}
	p->incr_slots = calloc(ncap, sizeof(*p->incr_slots));
	if (p->incr_slots == NULL) {
		p->incr_slots = old;
		return SG_ENOMEM;
	}
	p->incr_slots_cap = ncap;
	for (size_t k = 0; k < p->nops; k++) {
		if (p->ops[k].code == SG_OP_INCR) {
			p->incr_slots[incr_slot(p, p->ops[k].key, p->ops[k].field)] =
			    (uint32_t)k + 1;
		}
	}
	free(old);
	return 0;
}

int
plan_key_find(const struct sg_plan *p, const char *name)
{
	size_t i = 0;

	if (p->key_slots_cap == 0) {
		return -1;
	}
	i = key_slot(p, name, hash_key(name));
	return p->key_slots[i] ? (int)p->key_slots[i] - 1 : -1;
}

int
plan_key(struct sg_plan *p, const char *name)
{
	uint32_t h = hash_key(name);
	size_t i = p->key_slots_cap ? key_slot(p, name, h) : 0;
	char *copy = NULL;

	if (p->key_slots_cap != 0 && p->key_slots[i] != 0) {
		return (int)p->key_slots[i] - 1;
	}
	if (key_slots_grow(p) < 0 ||
	    buf_grow_array((void **)&p->keys, &p->keys_cap, p->nkeys + 1, sizeof(*p->keys)) < 0 ||
	    buf_grow_array((void **)&p->key_hash, &p->key_hash_cap, p->nkeys + 1, sizeof(*p->key_hash)) < 0) {
		return SG_ENOMEM;
	}
	copy = arena_strdup(&p->arena, name);
	if (copy == NULL) {
		return SG_ENOMEM;
	}
	p->keys[p->nkeys] = copy;
	p->key_hash[p->nkeys] = h;
	p->key_slots[key_slot(p, copy, h)] = (uint32_t)p->nkeys + 1;
	return (int)p->nkeys++;
}

/* Appends an op with a copied field and value; returns it or NULL. */
static struct sg_op *
op_append(struct sg_plan *p, enum sg_op_code code, int key, const char *field, const char *value)
{
	struct sg_op *op = NULL;

	if (buf_grow_array((void **)&p->ops, &p->ops_cap, p->nops + 1, sizeof(*p->ops)) < 0) {
		return NULL;
	}
	op = &p->ops[p->nops];
	op->code = (char)code;
	op->key = (uint32_t)key;
	op->delta = 0;
	op->field = arena_strdup(&p->arena, field);
	op->value = value ? arena_strdup(&p->arena, value) : NULL;
	if (op->field == NULL || (value != NULL && op->value == NULL)) {
		return NULL;
	}
	p->nops++;
	return op;
}

int
plan_incr(struct sg_plan *p, int key, const char *field, int64_t delta)
{
	size_t i = 0;
	struct sg_op *op = NULL;

	if (delta == 0) {
		return 0;
	}
	if (incr_slots_grow(p, p->nops) < 0) {
		return SG_ENOMEM;
	}
	i = incr_slot(p, (uint32_t)key, field);
	if (p->incr_slots[i] != 0) {
		op = &p->ops[p->incr_slots[i] - 1];
		op->delta += delta;
		return 0;
	}
	op = op_append(p, SG_OP_INCR, key, field, NULL);
	if (op == NULL) {
		return SG_ENOMEM;
	}
	op->delta = delta;
	p->incr_slots[i] = (uint32_t)p->nops;
	return 0;
}

int
plan_op(struct sg_plan *p, enum sg_op_code code, int key, const char *field, const char *value)
{
	return op_append(p, code, key, field, value) ? 0 : SG_ENOMEM;
}

int
plan_push(struct sg_plan *p, enum sg_op_code code, int key, const char *field, const char *value,
          int64_t delta)
{
	struct sg_op *op = NULL;

	if (buf_grow_array((void **)&p->ops, &p->ops_cap, p->nops + 1, sizeof(*p->ops)) < 0) {
		return SG_ENOMEM;
	}
	op = &p->ops[p->nops++];
	op->code = (char)code;
	op->key = (uint32_t)key;
	op->field = field;
	op->value = value;
	op->delta = delta;
	return 0;
}

int
plan_add_q(struct sg_plan *p, int64_t q)
{
	if (buf_grow_array((void **)&p->qs, &p->qs_cap, p->nq + 1, sizeof(*p->qs)) < 0) {
		return SG_ENOMEM;
	}
	p->qs[p->nq++] = q;
	return 0;
}

const struct sg_op *
plan_find_incr(const struct sg_plan *p, const char *name, const char *field)
{
	int k = plan_key_find(p, name);
	size_t i = 0;

	if (k < 0 || p->incr_slots_cap == 0) {
		return NULL;
	}
	i = incr_slot(p, (uint32_t)k, field);
	return p->incr_slots[i] ? &p->ops[p->incr_slots[i] - 1] : NULL;
}

char *
plan_printf(struct sg_plan *p, const char *fmt, ...)
{
	va_list ap;
	int n = 0;
	char *s = NULL;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		return NULL;
	}
	s = arena_alloc(&p->arena, (size_t)n + 1);
	if (s == NULL) {
		return NULL;
	}
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

/* An event's plan drops the INCRs its own ops cancelled; a batch plan sends every op. */
static int
op_sent(const struct sg_plan *p, const struct sg_op *op)
{
	return p->nq > 0 || op->code != SG_OP_INCR || op->delta != 0;
}

/* Appends one argument; the vector was sized beforehand. */
static void
arg_push(struct sg_plan *p, size_t *argc, const char *s, size_t len)
{
	p->argv[*argc] = s;
	p->argvlen[*argc] = len;
	(*argc)++;
}

static void
arg_push_str(struct sg_plan *p, size_t *argc, const char *s)
{
	arg_push(p, argc, s, strlen(s));
}

/* Pushes "sg:{T}:<name>" (copied into the arena). */
static int
arg_push_key(struct sg_plan *p, size_t *argc, const char *name)
{
	char full[SG_KEY_MAX];
	size_t len = keys_tenant(full, sizeof(full), p->tenant, name);
	char *copy = NULL;

	if (len == 0) {
		return SG_ETOOLARGE;
	}
	copy = arena_strndup(&p->arena, full, len);
	if (copy == NULL) {
		return SG_ENOMEM;
	}
	arg_push(p, argc, copy, len);
	return 0;
}

/* Pushes the full key of every used key, numbering them from KEYS[3]. */
static int
argv_keys(struct sg_plan *p, size_t *argc, int *nused)
{
	int rc = arg_push_key(p, argc, "applied");

	if (rc == 0) {
		rc = arg_push_key(p, argc, "contrib");
	}
	*nused = 2;
	for (size_t k = 0; k < p->nkeys && rc == 0; k++) {
		if (p->lua_key[k] == 0) {
			continue;
		}
		p->lua_key[k] = ++(*nused);
		rc = arg_push_key(p, argc, p->keys[k]);
	}
	return rc;
}

/* Makes room for n more bytes of msgpack. */
static int
mp_reserve(struct sg_plan *p, size_t n)
{
	return buf_grow_array((void **)&p->mp, &p->mp_cap, p->mp_len + n, 1) < 0 ? SG_ENOMEM : 0;
}

/* A msgpack unsigned int; room was reserved (5 bytes). */
static void
mp_uint(struct sg_plan *p, uint32_t v)
{
	unsigned char *o = (unsigned char *)p->mp + p->mp_len;

	if (v < 128) {
		o[0] = (unsigned char)v;
		p->mp_len += 1;
	} else if (v < 65536) {
		o[0] = 0xcd;
		o[1] = (unsigned char)(v >> 8);
		o[2] = (unsigned char)v;
		p->mp_len += 3;
	} else {
		o[0] = 0xce;
		o[1] = (unsigned char)(v >> 24);
		o[2] = (unsigned char)(v >> 16);
		o[3] = (unsigned char)(v >> 8);
		o[4] = (unsigned char)v;
		p->mp_len += 5;
	}
}

/* A msgpack str. */
static int
mp_str(struct sg_plan *p, const char *s, size_t len)
{
	unsigned char *o = NULL;

	if (len > UINT32_MAX || mp_reserve(p, len + 5) < 0) {
		return SG_ENOMEM;
	}
	o = (unsigned char *)p->mp + p->mp_len;
	if (len < 32) {
		*o++ = (unsigned char)(0xa0 | len);
	} else if (len < 256) {
		*o++ = 0xd9;
		*o++ = (unsigned char)len;
	} else {
		*o++ = 0xdb;
		for (int sh = 24; sh >= 0; sh -= 8) {
			*o++ = (unsigned char)(len >> sh);
		}
	}
	memcpy(o, s, len);
	p->mp_len = (size_t)((char *)o - p->mp) + len;
	return 0;
}

/* Decimal text of v into buf (24 bytes); returns its length. */
static size_t
fmt_i64(char *buf, int64_t v)
{
	char tmp[24];
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	size_t n = 0;
	size_t len = 0;

	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0) {
		buf[len++] = '-';
	}
	while (n > 0) {
		buf[len++] = tmp[--n];
	}
	buf[len] = '\0';
	return len;
}

/* Length of the run of ops from i on with op i's key and code. */
static size_t
group_len(const struct sg_plan *p, size_t i)
{
	size_t j = i + 1;

	while (j < p->nops && p->ops[j].key == p->ops[i].key && p->ops[j].code == p->ops[i].code) {
		j++;
	}
	return j - i;
}

/*
 * One group: the key (its KEYS index, or its full name when name is not
 * NULL), code, m, then m field / value pairs.
 */
static int
mp_group(struct sg_plan *p, size_t i, size_t m, const char *name, size_t name_len)
{
	char num[24];
	const struct sg_op *op = NULL;
	int rc = mp_reserve(p, 16);

	if (rc < 0) {
		return rc;
	}
	if (name != NULL) {
		rc = mp_str(p, name, name_len);
	} else {
		mp_uint(p, (uint32_t)p->lua_key[p->ops[i].key]);
	}
	rc = rc ? rc : mp_str(p, &p->ops[i].code, 1);
	if (rc == 0 && (rc = mp_reserve(p, 5)) == 0) {
		mp_uint(p, (uint32_t)m);
	}
	for (size_t k = i; k < i + m && rc == 0; k++) {
		op = &p->ops[k];
		rc = mp_str(p, op->field, strlen(op->field));
		if (rc == 0 && op->code == SG_OP_INCR) {
			rc = mp_str(p, num, fmt_i64(num, op->delta));
		} else if (rc == 0) {
			rc = mp_str(p, op->value ? op->value : "",
			            op->value ? strlen(op->value) : 0);
		}
	}
	return rc;
}

/* Writes a msgpack array32 header of count elements at p->mp + at (5 bytes reserved). */
static void
mp_array32_at(struct sg_plan *p, size_t at, uint32_t count)
{
	p->mp[at] = (char)0xdd;
	for (int k = 0; k < 4; k++) {
		p->mp[at + 1 + (size_t)k] = (char)(unsigned char)(count >> (24 - 8 * k));
	}
}

/* Encodes every op of a batch plan as the msgpack array of groups into p->mp. */
static int
mp_ops(struct sg_plan *p)
{
	uint32_t count = 0;
	size_t m = 0;
	int rc = 0;

	p->mp_len = 0;
	if (mp_reserve(p, 5) < 0) {
		return SG_ENOMEM;
	}
	p->mp_len = 5; /* array32 header, written last */
	for (size_t i = 0; i < p->nops && rc == 0; i += m) {
		m = group_len(p, i);
		rc = mp_group(p, i, m, NULL, 0);
		count += (uint32_t)(3 + 2 * m);
	}
	mp_array32_at(p, 0, count);
	return rc;
}

/* End of the run of ops from i on with op i's key. */
static size_t
key_run_end(const struct sg_plan *p, size_t i)
{
	size_t j = i + 1;

	while (j < p->nops && p->ops[j].key == p->ops[i].key) {
		j++;
	}
	return j;
}

/* Encodes the ops of one key, [i, end), naming the key in full; adds the elements to *count. */
static int
mp_key_named(struct sg_plan *p, size_t i, size_t end, uint32_t *count)
{
	char full[SG_KEY_MAX];
	size_t len = keys_tenant(full, sizeof(full), p->tenant, p->keys[p->ops[i].key]);
	size_t m = 0;
	int rc = len == 0 ? SG_ETOOLARGE : 0;

	for (; i < end && rc == 0; i += m) {
		m = group_len(p, i);
		rc = mp_group(p, i, m, full, len);
		*count += (uint32_t)(3 + 2 * m);
	}
	return rc;
}

int
plan_chunks(struct sg_plan *p, size_t max_ops)
{
	size_t i = 0;
	int rc = 0;

	p->mp_len = 0;
	p->nchunks = 0;
	while (i < p->nops && rc == 0) {
		size_t start = p->mp_len;
		size_t ops = 0;
		uint32_t count = 0;

		if (mp_reserve(p, 5) < 0 ||
		    buf_grow_array((void **)&p->chunk_end, &p->chunk_cap, p->nchunks + 1,
		                   sizeof(*p->chunk_end)) < 0) {
			return SG_ENOMEM;
		}
		p->mp_len += 5; /* array32 header, written last */
		while (i < p->nops && rc == 0) {
			size_t end = key_run_end(p, i);

			if (ops > 0 && ops + (end - i) > max_ops) {
				break;
			}
			rc = mp_key_named(p, i, end, &count);
			ops += end - i;
			i = end;
		}
		mp_array32_at(p, start, count);
		p->chunk_end[p->nchunks++] = p->mp_len;
	}
	return rc < 0 ? rc : (int)p->nchunks;
}

/* Pushes the four arguments of every sent op; a batch plan's as one msgpack argument. */
static int
argv_ops(struct sg_plan *p, size_t *argc)
{
	const struct sg_op *op = NULL;
	const char *code = NULL;
	const char *idx = NULL;
	const char *val = NULL;

	if (p->nq > 0) {
		int rc = mp_ops(p);

		if (rc == 0) {
			arg_push(p, argc, p->mp, p->mp_len);
		}
		return rc;
	}
	for (size_t i = 0; i < p->nops; i++) {
		op = &p->ops[i];
		if (!op_sent(p, op)) {
			continue;
		}
		idx = plan_printf(p, "%d", p->lua_key[op->key]);
		val = op->code == SG_OP_INCR ? plan_printf(p, "%" PRId64, op->delta) : op->value;
		code = plan_printf(p, "%c", op->code);
		if (idx == NULL || val == NULL || code == NULL) {
			return SG_ENOMEM;
		}
		arg_push(p, argc, code, 1);
		arg_push_str(p, argc, idx);
		arg_push_str(p, argc, op->field);
		arg_push_str(p, argc, val);
	}
	return 0;
}

/* Marks used keys in lua_key (1) and counts the sent ops. */
static int
argv_prepare(struct sg_plan *p, size_t *nsent)
{
	if (buf_grow_array((void **)&p->lua_key, &p->lua_key_cap, p->nkeys + 1, sizeof(*p->lua_key)) < 0) {
		return SG_ENOMEM;
	}
	memset(p->lua_key, 0, p->nkeys * sizeof(*p->lua_key));
	*nsent = 0;
	for (size_t i = 0; i < p->nops; i++) {
		if (op_sent(p, &p->ops[i])) {
			p->lua_key[p->ops[i].key] = 1;
			(*nsent)++;
		}
	}
	return 0;
}

/* Sizes argv and argvlen (kept the same capacity) for n arguments. */
static int
argv_reserve(struct sg_plan *p, size_t n)
{
	size_t cap = p->argv_cap;

	if (buf_grow_array((void **)&p->argv, &cap, n, sizeof(*p->argv)) < 0) {
		return SG_ENOMEM;
	}
	if (cap != p->argv_cap) {
		size_t *nl = realloc(p->argvlen, cap * sizeof(*p->argvlen));

		if (nl == NULL) {
			return SG_ENOMEM;
		}
		p->argvlen = nl;
		p->argv_cap = cap;
	}
	return 0;
}

/* Pushes ARGV[1..2+n] of a batch plan: mode ("batch" / "stage"), n and the q of every event. */
static int
argv_head_batch(struct sg_plan *p, size_t *argc, const char *mode)
{
	const char *n = plan_printf(p, "%zu", p->nq);
	const char *q = NULL;

	if (n == NULL) {
		return SG_ENOMEM;
	}
	arg_push_str(p, argc, mode);
	arg_push_str(p, argc, n);
	for (size_t i = 0; i < p->nq; i++) {
		if ((q = plan_printf(p, "%" PRId64, p->qs[i])) == NULL) {
			return SG_ENOMEM;
		}
		arg_push_str(p, argc, q);
	}
	return 0;
}

/* Pushes ARGV[1..5]: mode, q, upsert key, expected and new contrib. */
static int
argv_head(struct sg_plan *p, size_t *argc)
{
	const char *q = NULL;

	if (p->nq > 0) {
		return argv_head_batch(p, argc, "batch");
	}
	if ((q = plan_printf(p, "%" PRId64, p->q)) == NULL) {
		return SG_ENOMEM;
	}
	arg_push_str(p, argc, "apply");
	arg_push_str(p, argc, q);
	arg_push_str(p, argc, p->upsert_key ? p->upsert_key : "");
	arg_push(p, argc, p->contrib_old ? p->contrib_old : "", p->contrib_old_len);
	arg_push_str(p, argc, p->contrib_new ? p->contrib_new : "");
	return 0;
}

int
plan_argv(struct sg_plan *p, const char *sha, const char ***argv, const size_t **argvlen)
{
	size_t nsent = 0;
	size_t argc = 0;
	size_t at_numkeys = 0;
	int nused = 0;
	int rc = argv_prepare(p, &nsent);

	if (rc == 0) {
		rc = argv_reserve(p,
		                  PLAN_HEAD_ARGS + p->nq + p->nkeys + (p->nq > 0 ? 1 : 4 * nsent));
	}
	if (rc < 0) {
		return rc;
	}
	arg_push_str(p, &argc, "EVALSHA");
	arg_push_str(p, &argc, sha);
	at_numkeys = argc++;
	rc = argv_keys(p, &argc, &nused);
	if (rc == 0) {
		rc = argv_head(p, &argc);
	}
	if (rc == 0) {
		rc = argv_ops(p, &argc);
	}
	if (rc == 0) {
		p->argv[at_numkeys] = plan_printf(p, "%d", nused);
		rc = p->argv[at_numkeys] ? 0 : SG_ENOMEM;
	}
	if (rc < 0) {
		return rc;
	}
	p->argvlen[at_numkeys] = strlen(p->argv[at_numkeys]);
	*argv = p->argv;
	*argvlen = p->argvlen;
	return (int)argc;
}

int
plan_argv_stage(struct sg_plan *p, const char *sha, const char *unit, const char ***argv,
                const size_t **argvlen)
{
	size_t argc = 0;
	size_t from = 0;
	int rc = argv_reserve(p, 9 + p->nq + p->nchunks);

	if (rc < 0) {
		return rc;
	}
	arg_push_str(p, &argc, "EVALSHA");
	arg_push_str(p, &argc, sha);
	arg_push_str(p, &argc, "2");
	rc = arg_push_key(p, &argc, "applied");
	rc = rc ? rc : arg_push_key(p, &argc, "journal");
	rc = rc ? rc : argv_head_batch(p, &argc, "stage");
	if (rc < 0) {
		return rc;
	}
	arg_push_str(p, &argc, unit);
	rc = arg_push_key(p, &argc, ""); /* the prefix every key of a chunk starts with */
	if (rc < 0) {
		return rc;
	}
	for (size_t i = 0; i < p->nchunks; i++) {
		arg_push(p, &argc, p->mp + from, p->chunk_end[i] - from);
		from = p->chunk_end[i];
	}
	*argv = p->argv;
	*argvlen = p->argvlen;
	return (int)argc;
}
