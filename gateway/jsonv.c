/* Request JSON reading with field paths: see jsonv.h. */
#include "jsonv.h"

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

json_t *
jsonv_parse(const char *body, size_t len, struct sg_error *err)
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
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
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

void
jsonv_path(char *out, size_t outlen, const char *parent, const char *key)
{
	if (parent && parent[0]) {
		snprintf(out, outlen, "%s.%s", parent, key);
	} else {
		snprintf(out, outlen, "%s", key);
	}
}

void
jsonv_index(char *out, size_t outlen, const char *parent, size_t i)
{
	snprintf(out, outlen, "%s[%zu]", parent, i);
}

/* Looks key up; records "is required" when absent (or null) and required. */
static json_t *
member(json_t *obj, const char *parent, const char *key, int required, char *path,
       size_t pathlen, struct sg_error *err)
{
	json_t *v = json_object_get(obj, key);

	jsonv_path(path, pathlen, parent, key);
	if ((!v || json_is_null(v)) && required) {
		error_add(err, path, "is required");
	}
	return v && !json_is_null(v) ? v : NULL;
}

int
jsonv_string(json_t *obj, const char *parent, const char *key, int required, size_t maxlen,
	     struct sg_arena *a, const char **out, struct sg_error *err)
{
	char path[128];
	json_t *v = member(obj, parent, key, required, path, sizeof(path), err);
	size_t len;

	if (!v) {
		return 0;
	}
	if (!json_is_string(v)) {
		error_add(err, path, "must be a string");
		return -1;
	}
	len = json_string_length(v);
	if (len == 0 || len > maxlen) {
		error_add(err, path, "must be 1 to %zu characters long", maxlen);
		return -1;
	}
	*out = arena_strndup(a, json_string_value(v), len);
	return *out ? 1 : -1;
}

int
jsonv_int(json_t *obj, const char *parent, const char *key, int required, int64_t min,
	  int64_t max, int64_t *out, struct sg_error *err)
{
	char path[128];
	json_t *v = member(obj, parent, key, required, path, sizeof(path), err);
	json_int_t i;

	if (!v) {
		return 0;
	}
	if (!json_is_integer(v)) {
		error_add(err, path, "must be an integer%s",
			  json_is_real(v) ? " (amounts are whole minor units, e.g. cents)" : "");
		return -1;
	}
	i = json_integer_value(v);
	if (i < min || i > max) {
		if (max == INT64_MAX) {
			error_add(err, path, "must be >= %lld", (long long)min);
		} else {
			error_add(err, path, "must be between %lld and %lld", (long long)min,
				  (long long)max);
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
	char path[128];
	json_t *v = member(obj, parent, key, required, path, sizeof(path), err);

	if (!v) {
		return 0;
	}
	if (!json_is_object(v)) {
		error_add(err, path, "must be an object");
		return -1;
	}
	*out = v;
	return 1;
}

int
jsonv_array(json_t *obj, const char *parent, const char *key, int required, size_t min,
	    size_t max, json_t **out, struct sg_error *err)
{
	char path[128];
	json_t *v = member(obj, parent, key, required, path, sizeof(path), err);
	size_t n;

	if (!v) {
		return 0;
	}
	if (!json_is_array(v)) {
		error_add(err, path, "must be an array");
		return -1;
	}
	n = json_array_size(v);
	if (n < min || n > max) {
		error_add(err, path, "must have %zu to %zu elements (has %zu)", min, max, n);
		return -1;
	}
	*out = v;
	return 1;
}

const char *
jsonv_dump(json_t *v, struct sg_arena *a)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
	const char *copy;

	if (!s) {
		return NULL;
	}
	copy = arena_strdup(a, s);
	free(s);
	return copy;
}
