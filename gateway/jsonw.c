/* Streaming JSON writer: see jsonw.h. */
#include "jsonw.h"

#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "money.h"
#include "timeutil.h"

static void
put(struct jsonw *w, const char *p, size_t len)
{
	if (buf_append(w->out, p, len) != 0) {
		w->failed = 1;
	}
}

/* Emits the comma before a value or key unless it is the first at its depth. */
static void
sep(struct jsonw *w)
{
	if (w->depth == 0 || w->depth > JSONW_MAX_DEPTH) {
		return;
	}
	if (w->first[w->depth - 1]) {
		w->first[w->depth - 1] = 0;
	} else {
		put(w, ",", 1);
	}
}

void
jsonw_init(struct jsonw *w, struct sg_buf *out)
{
	memset(w, 0, sizeof(*w));
	w->out = out;
}

static void
open_(struct jsonw *w, const char *c)
{
	sep(w);
	put(w, c, 1);
	if (w->depth < JSONW_MAX_DEPTH) {
		w->first[w->depth] = 1;
	}
	w->depth++;
}

static void
close_(struct jsonw *w, const char *c)
{
	put(w, c, 1);
	w->depth--;
}

void
jsonw_obj_open(struct jsonw *w)
{
	open_(w, "{");
}

void
jsonw_obj_close(struct jsonw *w)
{
	close_(w, "}");
}

void
jsonw_arr_open(struct jsonw *w)
{
	open_(w, "[");
}

void
jsonw_arr_close(struct jsonw *w)
{
	close_(w, "]");
}

static void
escaped(struct jsonw *w, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, start = 0;
	char esc[6] = {'\\', 'u', '0', '0', 0, 0};

	put(w, "\"", 1);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\') {
			continue;
		}
		put(w, s + start, i - start);
		start = i + 1;
		if (c == '"' || c == '\\') {
			char two[2] = {'\\', (char)c};
			put(w, two, 2);
		} else {
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			put(w, esc, 6);
		}
	}
	put(w, s + start, len - start);
	put(w, "\"", 1);
}

void
jsonw_key(struct jsonw *w, const char *key)
{
	sep(w);
	escaped(w, key, strlen(key));
	put(w, ":", 1);
	/* the value that follows must not emit a comma */
	if (w->depth > 0 && w->depth <= JSONW_MAX_DEPTH) {
		w->first[w->depth - 1] = 1;
	}
}

/* Values after a key reset "first" so the next key gets its comma. */
static void
value_sep(struct jsonw *w)
{
	sep(w);
}

void
jsonw_strn(struct jsonw *w, const char *s, size_t len)
{
	value_sep(w);
	escaped(w, s, len);
}

void
jsonw_str(struct jsonw *w, const char *s)
{
	jsonw_strn(w, s, strlen(s));
}

void
jsonw_int(struct jsonw *w, int64_t v)
{
	char tmp[24], *p = tmp + sizeof(tmp);
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

	/* hot path: digits by hand, no printf */
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0) {
		*--p = '-';
	}
	value_sep(w);
	put(w, p, (size_t)(tmp + sizeof(tmp) - p));
}

void
jsonw_bool(struct jsonw *w, int v)
{
	value_sep(w);
	if (v) {
		put(w, "true", 4);
	} else {
		put(w, "false", 5);
	}
}

void
jsonw_null(struct jsonw *w)
{
	value_sep(w);
	put(w, "null", 4);
}

void
jsonw_raw(struct jsonw *w, const char *json, size_t len)
{
	value_sep(w);
	put(w, json, len);
}

void
jsonw_time(struct jsonw *w, int64_t ms, int32_t offset_min)
{
	char tmp[48];
	size_t n = time_format_rfc3339(ms, offset_min, tmp, sizeof(tmp));

	jsonw_strn(w, tmp, n);
}

void
jsonw_decimal(struct jsonw *w, int64_t v, int scale)
{
	char tmp[48];
	size_t n = money_format_decimal(v, scale, tmp, sizeof(tmp));

	/* trim trailing fractional zeros: 2.500 -> 2.5, 3.000 -> 3 */
	if (memchr(tmp, '.', n)) {
		while (n > 0 && tmp[n - 1] == '0') {
			n--;
		}
		if (n > 0 && tmp[n - 1] == '.') {
			n--;
		}
	}
	jsonw_raw(w, tmp, n);
}

void
jsonw_kstr(struct jsonw *w, const char *key, const char *s)
{
	jsonw_key(w, key);
	jsonw_str(w, s);
}

void
jsonw_kstr_opt(struct jsonw *w, const char *key, const char *s)
{
	if (s) {
		jsonw_kstr(w, key, s);
	}
}

void
jsonw_kint(struct jsonw *w, const char *key, int64_t v)
{
	jsonw_key(w, key);
	jsonw_int(w, v);
}

int
jsonw_finish(const struct jsonw *w)
{
	return w->failed ? -1 : 0;
}
