/*
 * The apply plan of one event: every Redis key it touches and the list of
 * generic operations apply.lua interprets, built in C by pure functions
 * (apply.h) and sent as one EVALSHA.
 *
 * Wire format (see common/lua/apply.lua):
 *   KEYS[1] sg:{T}:applied, KEYS[2] sg:{T}:contrib, KEYS[3..] the op keys
 *   one event ("apply" mode):
 *     ARGV[1] "apply", ARGV[2] q, ARGV[3] upsert key or "",
 *     ARGV[4] expected contrib text ("" = none), ARGV[5] new contrib text ("" = keep),
 *     ARGV[6..] ops, four arguments each: code, KEYS index, field, value.
 *   merged events ("batch" mode, a plan with plan_add_q; worker/merge.h):
 *     ARGV[1] "batch", ARGV[2] n, ARGV[3..2+n] the events' q,
 *     ARGV[3+n] the ops, in order, as ONE msgpack array: each run of
 *       consecutive ops with the same key and code is a group
 *       key index (int), code (str), m (int), then m times field, value (str),
 *     every op sent, an INCR of 0 too. Thousands of ops as separate
 *     arguments cost Redis more to receive than to run (~1 us per op for
 *     four arguments); one msgpack string costs ~0.1 us per op to unpack.
 *
 * Keys are kept as their name under the tenant ("product:prod_x"); the full
 * key "sg:{T}:<name>" is made when the plan is sent.
 */
#ifndef SALESGATE_WORKER_PLAN_H
#define SALESGATE_WORKER_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "keys.h"

/* Operation codes of apply.lua. */
enum sg_op_code {
	SG_OP_INCR = 'I',  /* HINCRBY key field delta (merged per key+field, zero skipped) */
	SG_OP_SETNX = 'N', /* HSETNX key field value */
	SG_OP_MIN = 'L',   /* HSET when field missing or value < stored (numeric) */
	SG_OP_MAX = 'G',   /* HSET when field missing or value > stored (numeric) */
	SG_OP_WHEN = 'W',  /* guard: field missing or value >= stored; rules next SETIFs */
	SG_OP_SETIF = 'C', /* HSET when the last WHEN guard held */
	SG_OP_SADD = 'S',  /* SADD key field (value unused) */
};

struct sg_op {
	char code;         /* enum sg_op_code */
	uint32_t key;      /* index into sg_plan.keys */
	const char *field; /* hash field (or set member), arena */
	const char *value; /* arena; NULL for SG_OP_INCR */
	int64_t delta;     /* SG_OP_INCR only */
};

struct sg_plan {
	struct sg_arena arena;          /* strings of the current plan */
	char tenant[SG_TENANT_MAX + 1]; /* tenant of the current plan */
	int64_t q;                      /* tenant sequence number of the event */
	const char **keys;              /* key names under the tenant, arena */
	size_t nkeys;                   /* keys used */
	size_t keys_cap;                /* keys allocated */
	uint32_t *key_hash;             /* hash of every key name (probes compare it first) */
	size_t key_hash_cap;            /* entries allocated in key_hash */
	struct sg_op *ops;              /* operations in order */
	size_t nops;                    /* ops used */
	size_t ops_cap;                 /* ops allocated */
	uint32_t *key_slots;            /* open addressing: key index + 1, 0 = empty */
	size_t key_slots_cap;           /* power of two */
	uint32_t *incr_slots;           /* open addressing: INCR op index + 1 */
	size_t incr_slots_cap;          /* power of two */
	const char *upsert_key;         /* ARGV[3]; NULL when the event replaces nothing */
	const char *contrib_old;        /* ARGV[4]; bytes expected in contrib (may be "") */
	size_t contrib_old_len;         /* length of contrib_old */
	const char *contrib_new;        /* ARGV[5]; NULL keeps the stored contrib */
	int64_t *qs;                    /* batch plan: q of every merged event; else unused */
	size_t nq;                      /* 0: the plan of event q ("apply" mode) */
	size_t qs_cap;                  /* entries allocated in qs */
	char *mp;                       /* batch plan: the msgpack ops argument of plan_argv */
	size_t mp_len;                  /* bytes used in mp */
	size_t mp_cap;                  /* bytes allocated in mp */
	const char **argv;              /* EVALSHA argument vector of plan_argv */
	size_t *argvlen;                /* lengths of argv */
	size_t argv_cap;                /* entries allocated in argv / argvlen */
	int *lua_key;                   /* plan_argv scratch: KEYS index per key, 0 = unused */
	size_t lua_key_cap;             /* entries allocated in lua_key */
	size_t *chunk_end;              /* plan_chunks: end of chunk i in mp (starts at 0) */
	size_t nchunks;                 /* chunks encoded by plan_chunks */
	size_t chunk_cap;               /* entries allocated in chunk_end */
};

/* Prepares an empty plan; allocates nothing. */
void plan_init(struct sg_plan *p);

/* Frees everything the plan holds. Accepts NULL. */
void plan_finish(struct sg_plan *p);

/*
 * Empties the plan for event q of tenant (copied). Returns 0, or SG_EINVAL
 * when the tenant id is invalid.
 */
int plan_reset(struct sg_plan *p, const char *tenant, int64_t q);

/* Index of key name (copied) in the plan, adding it. Returns >= 0 or SG_ENOMEM. */
int plan_key(struct sg_plan *p, const char *name);

/* Index of key name, or -1 when the plan does not have it. */
int plan_key_find(const struct sg_plan *p, const char *name);

/*
 * Adds delta to the HINCRBY of (key, field), creating it when needed (field
 * copied). A zero delta adds nothing. Returns 0 or SG_ENOMEM.
 */
int plan_incr(struct sg_plan *p, int key, const char *field, int64_t delta);

/* Appends a non-INCR op; field and value are copied. Returns 0 or SG_ENOMEM. */
int plan_op(struct sg_plan *p, enum sg_op_code code, int key, const char *field, const char *value);

/*
 * Finds the INCR op of (key name, field). Returns the op or NULL. Its delta
 * may be 0 after merging (such an op is not sent).
 */
const struct sg_op *plan_find_incr(const struct sg_plan *p, const char *name, const char *field);

/*
 * Appends an op as it is: an INCR is neither merged with another nor
 * dropped when 0 (batch plans send it: HINCRBY 0 creates the field). field
 * and value are borrowed and must live as long as the plan's contents (its
 * arena, or static). Returns 0 or SG_ENOMEM.
 */
int plan_push(struct sg_plan *p, enum sg_op_code code, int key, const char *field,
              const char *value, int64_t delta);

/*
 * Adds event q to the events the plan applies, which makes it a batch plan
 * ("batch" mode: every q's bit is checked and set, all or none). Returns 0
 * or SG_ENOMEM.
 */
int plan_add_q(struct sg_plan *p, int64_t q);

/* printf into the plan's arena. Returns the string or NULL when out of memory. */
char *plan_printf(struct sg_plan *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Builds the EVALSHA argument vector of the plan for script sha (40 hex).
 * Keys that no sent op uses are left out. *argv / *argvlen point into the
 * plan and stay valid until the next change to it. Returns the argument
 * count, or SG_ENOMEM / SG_ETOOLARGE (a key too long).
 */
int plan_argv(struct sg_plan *p, const char *sha, const char ***argv, const size_t **argvlen);

/*
 * A batch plan too large for one script run (apply.lua "stage" / "chunk"):
 * encodes its ops into p->mp as chunks of at most max_ops ops each (more
 * only for a key with more ops on its own: a key's ops are never split, so
 * a guard and what it rules stay together), each a msgpack array of groups
 * naming keys in full. Returns the number of chunks or SG_E*.
 */
int plan_chunks(struct sg_plan *p, size_t max_ops);

/*
 * The "stage" EVALSHA of the chunks plan_chunks encoded, filed under unit
 * in the journal (apply.lua). Same contract as plan_argv.
 */
int plan_argv_stage(struct sg_plan *p, const char *sha, const char *unit, const char ***argv,
                    const size_t **argvlen);

#endif
