/*
 * Structured logging: one JSON object per line on stderr, e.g.
 *   {"ts":"2026-04-25T12:32:00.123Z","level":"info","component":"gateway",
 *    "msg":"listening","port":"8080"}
 * Each line is built in memory and written with one fwrite, so lines of
 * concurrent threads never interleave. Strings are JSON-escaped; bytes that
 * are not valid UTF-8 become U+FFFD so every line stays valid JSON.
 */
#ifndef SALESGATE_COMMON_LOG_H
#define SALESGATE_COMMON_LOG_H

#include <stdarg.h>
#include <stdint.h>

struct sg_buf;

enum sg_log_level {
	SG_LOG_DEBUG = 0,
	SG_LOG_INFO = 1,
	SG_LOG_WARN = 2,
	SG_LOG_ERROR = 3,
};

/*
 * Sets the component name written in every line (copied; NULL omits it)
 * and the lowest level written. Call once at startup, before any thread
 * logs. Until then nothing names the component and the threshold is info.
 */
void log_init(const char *component, enum sg_log_level min_level);

/* Parses "debug", "info", "warn" / "warning", "error". Returns 0 or -1. */
int log_level_parse(const char *s, enum sg_log_level *out);

/* Lowercase name of a level ("info"), or "unknown". */
const char *log_level_name(enum sg_log_level lvl);

/* 1 when a line at lvl would be written (to skip costly formatting). */
int log_enabled(enum sg_log_level lvl);

/*
 * Writes one line at lvl with message msg, followed by const char * key,
 * value pairs ended by a NULL key; a NULL value is written as null:
 *   log_event(SG_LOG_WARN, "redis reconnect", "addr", addr, "err", e, NULL);
 * Never fails visibly: a line that cannot be built is dropped.
 */
void log_event(enum sg_log_level lvl, const char *msg, ...) __attribute__((sentinel));

/*
 * Builds the line log_event would write for time ts_ms (epoch ms UTC),
 * newline included, appending it to out. ap holds the key/value pairs.
 * Returns 0, or -1 when out of memory.
 */
int log_vformat(struct sg_buf *out, int64_t ts_ms, enum sg_log_level lvl, const char *msg,
                va_list ap);

/* Appends s as a quoted JSON string (escaped, invalid UTF-8 replaced). Returns 0 or -1. */
int log_json_string(struct sg_buf *out, const char *s);

#define log_debug(...) log_event(SG_LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_event(SG_LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_event(SG_LOG_WARN, __VA_ARGS__)
#define log_error(...) log_event(SG_LOG_ERROR, __VA_ARGS__)

#endif
