/* Request JSON reading with field paths: see jsonv.h. */
#include "jsonv.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "error.h"

/* Nesting depth of JSON text, ignoring brackets inside strings. */
static int
json_depth_ok(const char *p, size_t len)
{
	int depth = 0, in_str = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		char c = p[i];
		if (in_str) {
			if (c == '\\') {
				i++;
			} else if (c == '"') {
				in_str = 0;
			}
		} else if (c == '"') {
			in_str = 1;
		} else if (c == '{' || c == '[') {
			if (++depth > SG_JSON_MAX_DEPTH) {
				return 0;
			}
		} else if (c == '}' || c == ']') {
			depth--;
		}
	}
	return 1;
}

struct frame {
	int is_array;
	size_t index;  /* arrays: current element */
	char key[64];  /* objects: current member ("" before the first) */
};

/* Appends one frame to a JSON path ("a.b[2]"). */
static void
path_append(char *out, size_t outlen, const struct frame *f)
{
	size_t n = strlen(out);

	if (f->is_array) {
		snprintf(out + n, outlen - n, "[%zu]", f->index);
	} else if (f->key[0]) {
		snprintf(out + n, outlen - n, "%s%s", n ? "." : "", f->key);
	}
}

/*
 * The path of the value being read at byte pos of JSON text (a light
 * tokenizer over what jansson already accepted up to there), so that an
 * error jansson reports by position, such as an integer beyond 64 bits,
 * still names its field.
 */
static void
path_at(const char *p, size_t pos, char *out, size_t outlen)
{
	struct frame st[SG_JSON_MAX_DEPTH + 1];
	int depth = 0;
	size_t i, start = 0, end = 0;

	out[0] = '\0';
	for (i = 0; i < pos; i++) {
		char c = p[i];
		if (c == '"') {
			start = ++i;
			while (i < pos && p[i] != '"') {
				i += p[i] == '\\' ? 2 : 1;
			}
			end = i;
		} else if (c == ':' && depth > 0 && !st[depth - 1].is_array) {
			size_t n = end - start < 63 ? end - start : 63;
			memcpy(st[depth - 1].key, p + start, n);
			st[depth - 1].key[n] = '\0';
		} else if ((c == '{' || c == '[') && depth <= SG_JSON_MAX_DEPTH) {
			memset(&st[depth], 0, sizeof(st[depth]));
			st[depth++].is_array = c == '[';
		} else if ((c == '}' || c == ']') && depth > 0) {
			depth--;
		} else if (c == ',' && depth > 0 && st[depth - 1].is_array) {
			st[depth - 1].index++;
		}
	}
	for (i = 0; i < (size_t)depth; i++) {
		path_append(out, outlen, &st[i]);
	}
}

/* The arena jansson allocates from on this thread while a parse runs. */
static _Thread_local struct sg_arena *parse_arena;

/*
 * Every block carries a 16-byte header (keeps 16-byte alignment) saying
 * where it came from, so free knows whether to give it back to malloc.
 */
#define BLOCK_HEADER 16
#define FROM_ARENA 0x41
#define FROM_MALLOC 0x4d

static void *
json_block_alloc(size_t n)
{
	unsigned char *p;

	if (parse_arena) {
		p = arena_alloc(parse_arena, n + BLOCK_HEADER);
		if (p) {
			p[0] = FROM_ARENA;
		}
	} else {
		p = malloc(n + BLOCK_HEADER);
		if (p) {
			p[0] = FROM_MALLOC;
		}
	}
	return p ? p + BLOCK_HEADER : NULL;
}

static void
json_block_free(void *ptr)
{
	unsigned char *p = ptr;

	if (p && p[-BLOCK_HEADER] == FROM_MALLOC) {
		free(p - BLOCK_HEADER);
	}
	/* arena blocks go with the request's arena */
}

void
jsonv_use_arenas(void)
{
	json_set_alloc_funcs(json_block_alloc, json_block_free);
}

json_t *
jsonv_parse(const char *body, size_t len, struct sg_arena *a, struct sg_error *err)
{
	json_error_t jerr;
	json_t *root;

	if (len == 0) {
		error_add(err, "body", "the request body is empty; a JSON object is expected");
		return NULL;
	}
	if (!json_depth_ok(body, len)) {
		error_add(err, "body", "JSON nesting deeper than %d levels", SG_JSON_MAX_DEPTH);
		return NULL;
	}
	arena_reset(a);
	parse_arena = a;
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	parse_arena = NULL;
	if (!root && strstr(jerr.text, "too big")) {
		char path[128];
		path_at(body, (size_t)jerr.position < len ? (size_t)jerr.position : len, path,
			sizeof(path));
		error_add(err, path[0] ? path : "body", "integer out of range (beyond 64 bits)");
		return NULL;
	}
	if (!root) {
		error_add(err, "body", "invalid JSON at line %d column %d: %s", jerr.line,
			  jerr.column, jerr.text);
		return NULL;
	}
	if (!json_is_object(root)) {
		error_add(err, "body", "the request body must be a JSON object");
		json_decref(root);
		return NULL;
	}
	return root;
}

/* Appends src to out at *n, truncating at outlen - 1. */
static void
append(char *out, size_t outlen, size_t *n, const char *src)
{
	size_t len = strlen(src);

	if (*n + len >= outlen) {
		len = outlen - 1 - *n;
	}
	memcpy(out + *n, src, len);
	*n += len;
	out[*n] = '\0';
}

void
jsonv_path(char *out, size_t outlen, const char *parent, const char *key)
{
	size_t n = 0;

	/* per field of every event: no printf */
	out[0] = '\0';
	if (parent && parent[0]) {
		append(out, outlen, &n, parent);
		append(out, outlen, &n, ".");
	}
	append(out, outlen, &n, key);
}

void
jsonv_index(char *out, size_t outlen, const char *parent, size_t i)
{
	char digits[24], *p = digits + sizeof(digits) - 1;
	size_t n = 0;

	*p = '\0';
	do {
		*--p = (char)('0' + i % 10);
		i /= 10;
	} while (i);
	out[0] = '\0';
	append(out, outlen, &n, parent);
	append(out, outlen, &n, "[");
	append(out, outlen, &n, p);
	append(out, outlen, &n, "]");
}

/* Reports issue against "<parent>.<key>"; the path is only formatted on error. */
static void __attribute__((format(printf, 4, 5)))
field_error(struct sg_error *err, const char *parent, const char *key, const char *fmt, ...)
{
	char path[128], issue[160];
	va_list ap;

	jsonv_path(path, sizeof(path), parent, key);
	va_start(ap, fmt);
	vsnprintf(issue, sizeof(issue), fmt, ap);
	va_end(ap);
	error_add(err, path, "%s", issue);
}

/* Looks key up; records "is required" when absent (or null) and required. */
static json_t *
member(json_t *obj, const char *parent, const char *key, int required, struct sg_error *err)
{
	json_t *v = json_object_get(obj, key);

	if ((!v || json_is_null(v)) && required) {
		field_error(err, parent, key, "is required");
	}
	return v && !json_is_null(v) ? v : NULL;
}

int
jsonv_string(json_t *obj, const char *parent, const char *key, int required, size_t maxlen,
	     struct sg_arena *a, const char **out, struct sg_error *err)
{
	json_t *v = member(obj, parent, key, required, err);
	size_t len;

	if (!v) {
		return 0;
	}
	if (!json_is_string(v)) {
		field_error(err, parent, key, "must be a string");
		return -1;
	}
	len = json_string_length(v);
	if (len == 0 || len > maxlen) {
		field_error(err, parent, key, "must be 1 to %zu characters long", maxlen);
		return -1;
	}
	*out = arena_strndup(a, json_string_value(v), len);
	return *out ? 1 : -1;
}

int
jsonv_int(json_t *obj, const char *parent, const char *key, int required, int64_t min,
	  int64_t max, int64_t *out, struct sg_error *err)
{
	json_t *v = member(obj, parent, key, required, err);
	json_int_t i;

	if (!v) {
		return 0;
	}
	if (!json_is_integer(v)) {
		field_error(err, parent, key, "must be an integer%s",
			    json_is_real(v) ? " (amounts are whole minor units, e.g. cents)" : "");
		return -1;
	}
	i = json_integer_value(v);
	if (i < min || i > max) {
		if (max == INT64_MAX) {
			field_error(err, parent, key, "must be >= %lld", (long long)min);
		} else {
			field_error(err, parent, key, "must be between %lld and %lld",
				    (long long)min, (long long)max);
		}
		return -1;
	}
	*out = i;
	return 1;
}

int
jsonv_object(json_t *obj, const char *parent, const char *key, int required, json_t **out,
	     struct sg_error *err)
{
	json_t *v = member(obj, parent, key, required, err);

	if (!v) {
		return 0;
	}
	if (!json_is_object(v)) {
		field_error(err, parent, key, "must be an object");
		return -1;
	}
	*out = v;
	return 1;
}

int
jsonv_array(json_t *obj, const char *parent, const char *key, int required, size_t min,
	    size_t max, json_t **out, struct sg_error *err)
{
	json_t *v = member(obj, parent, key, required, err);
	size_t n;

	if (!v) {
		return 0;
	}
	if (!json_is_array(v)) {
		field_error(err, parent, key, "must be an array");
		return -1;
	}
	n = json_array_size(v);
	if (n < min || n > max) {
		field_error(err, parent, key, "must have %zu to %zu elements (has %zu)", min, max, n);
		return -1;
	}
	*out = v;
	return 1;
}

const char *
jsonv_dump(json_t *v, struct sg_arena *a)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
	json_malloc_t m;
	json_free_t f;
	const char *copy;

	if (!s) {
		return NULL;
	}
	copy = arena_strdup(a, s);
	json_get_alloc_funcs(&m, &f);
	f(s); /* jansson's own allocator, whichever is installed */
	return copy;
}
