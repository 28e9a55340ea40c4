/*
 * Reading request JSON with every problem reported against its field path.
 * Each getter records a detail in err (and leaves *out untouched) when the
 * field is missing-but-required or has the wrong type or range, so a parser
 * can check every field and report them all at once.
 */
#ifndef SALESGATE_GATEWAY_JSONV_H
#define SALESGATE_GATEWAY_JSONV_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct sg_arena;
struct sg_error;

#define SG_JSON_MAX_DEPTH 32

/*
 * Routes jansson's allocations through jsonv's allocator: while
 * jsonv_parse runs, the parse tree is carved from an arena (thousands of
 * small mallocs and frees less per batch request); at any other time they
 * go to malloc. Call once at start-up, before threads.
 */
void jsonv_use_arenas(void);

/*
 * Parses body strictly: duplicate keys refused, nesting deeper than
 * SG_JSON_MAX_DEPTH refused (checked before jansson sees it). Resets a
 * first, then builds the tree in it (see jsonv_use_arenas): the tree is
 * valid until the next parse into a, so handlers parse into their thread's
 * parse arena, copy what they keep into the request's arena and drop the
 * tree before they return. Returns the root (caller json_decref) or NULL
 * with err set (the field, else "body").
 */
json_t *jsonv_parse(const char *body, size_t len, struct sg_arena *a, struct sg_error *err);

/* Writes "<parent>.<key>" (or "key" at the root) into out. */
void jsonv_path(char *out, size_t outlen, const char *parent, const char *key);

/* Writes "<parent>[i]" into out. */
void jsonv_index(char *out, size_t outlen, const char *parent, size_t i);

/*
 * A string member of 1..maxlen bytes, copied into a. Returns 1 when present
 * and valid, 0 when absent (an error if required), -1 when invalid.
 */
int jsonv_string(json_t *obj, const char *parent, const char *key, int required, size_t maxlen,
		 struct sg_arena *a, const char **out, struct sg_error *err);

/*
 * An integer member within [min, max]; a JSON real (125.5) is refused, so
 * amounts in cents stay exact. Same return convention.
 */
int jsonv_int(json_t *obj, const char *parent, const char *key, int required, int64_t min,
	      int64_t max, int64_t *out, struct sg_error *err);

/* A member that must be an object (or absent). Same return convention. */
int jsonv_object(json_t *obj, const char *parent, const char *key, int required, json_t **out,
		 struct sg_error *err);

/* A member that must be an array of min..max elements. Same return convention. */
int jsonv_array(json_t *obj, const char *parent, const char *key, int required, size_t min,
		size_t max, json_t **out, struct sg_error *err);

/* Compact JSON text of v (copied into a), or NULL on ENOMEM. */
const char *jsonv_dump(json_t *v, struct sg_arena *a);

#endif
