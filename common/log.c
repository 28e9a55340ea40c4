/* Structured JSON-lines logging; see log.h. */
#include "log.h"

#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "timeutil.h"

#define LOG_COMPONENT_MAX 32

/* Set once by log_init before threads start; read-only afterwards. */
static char log_component[LOG_COMPONENT_MAX];
static enum sg_log_level log_min = SG_LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void
log_init(const char *component, enum sg_log_level min_level)
{
	snprintf(log_component, sizeof(log_component), "%s", component ? component : "");
	log_min = min_level;
}

int
log_level_parse(const char *s, enum sg_log_level *out)
{
	for (int i = SG_LOG_DEBUG; i <= SG_LOG_ERROR; i++) {
		if (s && strcmp(s, level_names[i]) == 0) {
			*out = (enum sg_log_level)i;
			return 0;
		}
	}
	if (s && strcmp(s, "warning") == 0) {
		*out = SG_LOG_WARN;
		return 0;
	}
	return -1;
}

const char *
log_level_name(enum sg_log_level lvl)
{
	return lvl >= SG_LOG_DEBUG && lvl <= SG_LOG_ERROR ? level_names[lvl] : "unknown";
}

int
log_enabled(enum sg_log_level lvl)
{
	return lvl >= log_min;
}

/* Length of the valid UTF-8 sequence at s (1-4 bytes), or 0 when invalid. */
static size_t
utf8_seq(const unsigned char *s, size_t left)
{
	unsigned c = s[0];
	size_t n = 0;
	uint32_t cp = 0, min = 0;

	if (c < 0x80) {
		return 1;
	} else if (c >= 0xc2 && c < 0xe0) {
		n = 2, cp = c & 0x1f, min = 0x80;
	} else if (c >= 0xe0 && c < 0xf0) {
		n = 3, cp = c & 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c < 0xf5) {
		n = 4, cp = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (left < n) {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80) {
			return 0;
		}
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
		return 0; /* overlong, out of range or a surrogate */
	}
	return n;
}

/* Appends the escape for one ASCII byte that cannot appear raw in a JSON string. */
static int
json_escape_byte(struct sg_buf *out, unsigned char c)
{
	switch (c) {
	case '"':
		return buf_append(out, "\\\"", 2);
	case '\\':
		return buf_append(out, "\\\\", 2);
	case '\n':
		return buf_append(out, "\\n", 2);
	case '\r':
		return buf_append(out, "\\r", 2);
	case '\t':
		return buf_append(out, "\\t", 2);
	default:
		return buf_printf(out, "\\u%04x", c);
	}
}

int
log_json_string(struct sg_buf *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t left = strlen(s);
	int rc = buf_append(out, "\"", 1);

	while (rc == 0 && left > 0) {
		size_t n = utf8_seq(p, left);

		if (n == 0) {
			rc = buf_append(out, "\\ufffd", 6);
			n = 1;
		} else if (n == 1 && (*p < 0x20 || *p == '"' || *p == '\\' || *p == 0x7f)) {
			rc = json_escape_byte(out, *p);
		} else {
			rc = buf_append(out, p, n);
		}
		p += n;
		left -= n;
	}
	return rc == 0 ? buf_append(out, "\"", 1) : -1;
}

/* Appends "ts":"2026-04-25T12:32:00.123Z" (always with milliseconds). */
static int
log_ts(struct sg_buf *out, int64_t ms)
{
	int64_t days = ms / 86400000 - (ms % 86400000 < 0), msod = ms - days * 86400000, y = 0;
	unsigned mo = 0, d = 0;

	time_civil_from_days(days, &y, &mo, &d);
	return buf_printf(out, "{\"ts\":\"%04lld-%02u-%02uT%02d:%02d:%02d.%03dZ\"", (long long)y,
	                  mo, d, (int)(msod / 3600000), (int)(msod / 60000 % 60),
	                  (int)(msod / 1000 % 60), (int)(msod % 1000));
}

/* Appends ,"key":"value" (or null). */
static int
log_kv(struct sg_buf *out, const char *key, const char *value)
{
	if (buf_append(out, ",", 1) < 0 || log_json_string(out, key) < 0 ||
	    buf_append(out, ":", 1) < 0) {
		return -1;
	}
	return value ? log_json_string(out, value) : buf_append(out, "null", 4);
}

int
log_vformat(struct sg_buf *out, int64_t ts_ms, enum sg_log_level lvl, const char *msg, va_list ap)
{
	const char *key = NULL;
	int rc = log_ts(out, ts_ms);

	rc = rc ? rc : log_kv(out, "level", log_level_name(lvl));
	if (rc == 0 && log_component[0]) {
		rc = log_kv(out, "component", log_component);
	}
	rc = rc ? rc : log_kv(out, "msg", msg ? msg : "");
	while (rc == 0 && (key = va_arg(ap, const char *)) != NULL) {
		rc = log_kv(out, key, va_arg(ap, const char *));
	}
	return rc ? rc : buf_append(out, "}\n", 2);
}

void
log_event(enum sg_log_level lvl, const char *msg, ...)
{
	struct sg_buf line = {NULL, 0, 0};
	va_list ap;
	int rc = 0;

	if (!log_enabled(lvl)) {
		return;
	}
	va_start(ap, msg);
	rc = log_vformat(&line, time_now_ms(), lvl, msg, ap);
	va_end(ap);
	if (rc == 0) {
		fwrite(line.data, 1, line.len, stderr); /* one locked write: no interleaving */
	}
	buf_finish(&line);
}
