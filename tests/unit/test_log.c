/* Structured log lines: shape, escaping, levels. */
#include <jansson.h>
#include <stdarg.h>
#include <string.h>

#include "buf.h"
#include "check.h"
#include "log.h"

/* log_vformat with varargs, into a fresh buffer the caller finishes. */
static int __attribute__((sentinel))
format(struct sg_buf *b, int64_t ts, enum sg_log_level lvl, const char *msg, ...)
{
	va_list ap;
	int rc = 0;

	buf_clear(b);
	va_start(ap, msg);
	rc = log_vformat(b, ts, lvl, msg, ap);
	va_end(ap);
	return rc;
}

static void
test_shape(void)
{
	struct sg_buf b = {0};
	json_t *j = NULL;
	json_error_t jerr;

	log_init("gateway", SG_LOG_INFO);
	CHECK_INT_EQ(format(&b, 1777120320123, SG_LOG_WARN, "redis reconnect", "addr",
	                    "127.0.0.1:6379", "err", NULL, NULL),
	             0, "formatted");
	CHECK_STR_EQ(b.data,
	             "{\"ts\":\"2026-04-25T12:32:00.123Z\",\"level\":\"warn\",\"component\":"
	             "\"gateway\",\"msg\":\"redis reconnect\",\"addr\":\"127.0.0.1:6379\","
	             "\"err\":null}\n",
	             "exact line");
	format(&b, -1, SG_LOG_DEBUG, "x", NULL);
	CHECK(strstr(b.data, "\"ts\":\"1969-12-31T23:59:59.999Z\"") != NULL, "time before 1970");
	format(&b, 0, SG_LOG_ERROR,
	       "tricky \"quotes\" \\ \n\t\x01 \xc3\xa4 \xff\xfe \xed\xa0\x80 "
	       "\xe2\x82",
	       "k\"ey", "v\x7f", NULL);
	j = json_loads(b.data, JSON_REJECT_DUPLICATES, &jerr);
	CHECK(j != NULL, "escaped line is valid JSON (%s)", j ? "ok" : jerr.text);
	CHECK_STR_EQ(json_string_value(json_object_get(j, "msg")),
	             "tricky \"quotes\" \\ \n\t\x01 \xc3\xa4 \xef\xbf\xbd\xef\xbf\xbd "
	             "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd",
	             "control chars escaped, invalid UTF-8 replaced");
	CHECK_STR_EQ(json_string_value(json_object_get(j, "k\"ey")), "v\x7f", "escaped key");
	CHECK(b.data[b.len - 1] == '\n' && memchr(b.data, '\n', b.len) == b.data + b.len - 1,
	      "exactly one newline, at the end");
	json_decref(j);
	log_init(NULL, SG_LOG_INFO);
	format(&b, 0, SG_LOG_INFO, "m", NULL);
	CHECK(strstr(b.data, "component") == NULL, "no component when none set");
	buf_finish(&b);
}

static void
test_levels(void)
{
	enum sg_log_level lvl = SG_LOG_DEBUG;

	log_init("t", SG_LOG_WARN);
	CHECK(!log_enabled(SG_LOG_INFO) && log_enabled(SG_LOG_WARN) && log_enabled(SG_LOG_ERROR),
	      "threshold");
	CHECK(log_level_parse("error", &lvl) == 0 && lvl == SG_LOG_ERROR, "parse error");
	CHECK(log_level_parse("warning", &lvl) == 0 && lvl == SG_LOG_WARN, "parse warning");
	CHECK(log_level_parse("debug", &lvl) == 0 && lvl == SG_LOG_DEBUG, "parse debug");
	CHECK(log_level_parse("loud", &lvl) == -1, "unknown level");
	CHECK(log_level_parse(NULL, &lvl) == -1, "NULL level");
	CHECK_STR_EQ(log_level_name(SG_LOG_INFO), "info", "name");
	CHECK_STR_EQ(log_level_name((enum sg_log_level)9), "unknown", "bad level name");
	log_info("not written", NULL);
	log_error("written to stderr by the test", "k", "v", NULL);
	CHECK(1, "log_event does not crash");
}

int
main(void)
{
	test_shape();
	test_levels();
	return check_done();
}
