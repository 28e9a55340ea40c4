/*
 * Minimal streaming JSON writer into a reusable sg_buf: the hot reply paths
 * render without building a jansson tree. The caller keeps the structure
 * balanced; commas are inserted automatically.
 */
#ifndef SALESGATE_GATEWAY_JSONW_H
#define SALESGATE_GATEWAY_JSONW_H

#include <stddef.h>
#include <stdint.h>

struct sg_buf;

#define JSONW_MAX_DEPTH 32

struct jsonw {
	struct sg_buf *out;
	int depth;
	unsigned char first[JSONW_MAX_DEPTH]; /* 1 while no member written at a depth */
	int failed;                           /* an append failed (out of memory) */
};

/* Starts writing into out (appends; does not clear). */
void jsonw_init(struct jsonw *w, struct sg_buf *out);

void jsonw_obj_open(struct jsonw *w);
void jsonw_obj_close(struct jsonw *w);
void jsonw_arr_open(struct jsonw *w);
void jsonw_arr_close(struct jsonw *w);

/* Writes a member key (inside an object); the value call follows. */
void jsonw_key(struct jsonw *w, const char *key);

/* Values (inside an array, or after jsonw_key). */
void jsonw_str(struct jsonw *w, const char *s);
void jsonw_strn(struct jsonw *w, const char *s, size_t len);
void jsonw_int(struct jsonw *w, int64_t v);
void jsonw_bool(struct jsonw *w, int v);
void jsonw_null(struct jsonw *w);

/* Writes already-valid JSON text as a value. */
void jsonw_raw(struct jsonw *w, const char *json, size_t len);

/* Writes ms at offset_min as an RFC 3339 string. */
void jsonw_time(struct jsonw *w, int64_t ms, int32_t offset_min);

/* Writes v/10^scale as an exact JSON number (units "2.5"). */
void jsonw_decimal(struct jsonw *w, int64_t v, int scale);

/* Key + value shorthands; the *_opt forms skip NULL strings. */
void jsonw_kstr(struct jsonw *w, const char *key, const char *s);
void jsonw_kstr_opt(struct jsonw *w, const char *key, const char *s);
void jsonw_kint(struct jsonw *w, const char *key, int64_t v);

/* 0 when everything was written, -1 after an allocation failure. */
int jsonw_finish(const struct jsonw *w);

#endif
