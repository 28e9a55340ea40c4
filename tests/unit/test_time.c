/* RFC 3339 parsing and formatting, civil date conversions, clocks. */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "timeutil.h"

static void
check_parse(const char *s, int64_t want_ms, int32_t want_off)
{
	int64_t ms = 0;
	int32_t off = 0;
	int rc = time_parse_rfc3339(s, strlen(s), &ms, &off);

	CHECK(rc == 0 && ms == want_ms && off == want_off, "parse %s = %jd %+d (got %jd %+d)", s,
	      (intmax_t)want_ms, (int)want_off, (intmax_t)ms, (int)off);
}

static void
check_reject(const char *s, const char *why)
{
	int64_t ms = 0;
	int32_t off = 0;

	CHECK(time_parse_rfc3339(s, strlen(s), &ms, &off) == -1, "reject %s: %s", why, s);
}

static void
check_format(int64_t ms, int32_t off, const char *want)
{
	char out[40];
	size_t n = time_format_rfc3339(ms, off, out, sizeof(out));

	CHECK(n == strlen(want) && strcmp(out, want) == 0, "format %jd %+d = %s (got %s)",
	      (intmax_t)ms, (int)off, want, out);
}

static void
test_parse(void)
{
	check_parse("1970-01-01T00:00:00Z", 0, 0);
	check_parse("2026-04-25T14:32:00+02:00", 1777120320000, 120);
	check_parse("2026-04-25T12:32:00Z", 1777120320000, 0);
	check_parse("2026-04-25t12:32:00z", 1777120320000, 0);
	check_parse("2026-04-25 12:32:00Z", 1777120320000, 0);
	check_parse("2026-04-25T03:02:00-09:30", 1777120320000, -570);
	check_parse("2026-04-25T12:32:00.5Z", 1777120320500, 0);
	check_parse("2026-04-25T12:32:00.123Z", 1777120320123, 0);
	check_parse("2026-04-25T12:32:00.123456789Z", 1777120320123, 0);
	check_parse("2026-04-25T12:32:00.999999999+00:00", 1777120320999, 0);
	check_parse("2026-04-25T12:32:00-00:00", 1777120320000, 0);
	check_parse("1969-12-31T23:59:59.999Z", -1, 0);
	check_parse("2024-02-29T00:00:00Z", 1709164800000, 0);
	check_parse("2000-02-29T23:59:59Z", 951868799000, 0);
	check_parse("2026-12-31T23:59:59+14:00", 1798761599000 - 14 * 3600000, 840);
	check_parse("2027-01-01T00:00:00+23:59", 1798761600000 - (23 * 60 + 59) * 60000, 1439);
	check_parse("0000-01-01T00:00:00Z", -62167219200000, 0);
	check_parse("9999-12-31T23:59:59Z", 253402300799000, 0);
}

static void
test_parse_rejects(void)
{
	check_reject("2026-04-25T12:32:00", "missing offset");
	check_reject("2026-04-25", "date only");
	check_reject("2026-02-30T00:00:00Z", "February 30");
	check_reject("2026-02-29T00:00:00Z", "February 29 of a common year");
	check_reject("1900-02-29T00:00:00Z", "February 29 of a century year");
	check_reject("2026-04-31T00:00:00Z", "April 31");
	check_reject("2026-13-01T00:00:00Z", "month 13");
	check_reject("2026-00-01T00:00:00Z", "month 0");
	check_reject("2026-01-00T00:00:00Z", "day 0");
	check_reject("2026-04-25T24:00:00Z", "hour 24");
	check_reject("2026-04-25T12:60:00Z", "minute 60");
	check_reject("2026-04-25T12:32:60Z", "leap second");
	check_reject("2026-04-25T12:32:00+24:00", "offset hour 24");
	check_reject("2026-04-25T12:32:00+02:60", "offset minute 60");
	check_reject("2026-04-25T12:32:00+0200", "offset without colon");
	check_reject("2026-04-25T12:32:00+02", "offset without minutes");
	check_reject("2026-04-25T12:32:00.Z", "empty fraction");
	check_reject("2026-04-25T12:32:00.1234567890Z", "10 fraction digits");
	check_reject("2026-04-25X12:32:00Z", "bad separator");
	check_reject("2026-4-25T12:32:00Z", "one-digit month");
	check_reject("26-04-25T12:32:00Z", "two-digit year");
	check_reject("2026-04-25T12:32Z", "no seconds");
	check_reject("2026-04-25T12:32:00Z ", "trailing space");
	check_reject("2026-04-25T12:32:00ZZ", "trailing garbage");
	check_reject("+2026-04-25T12:32:00Z", "signed year");
	check_reject("2026-04-25T1a:32:00Z", "letter in hour");
	check_reject("", "empty");
}

static void
test_format(void)
{
	check_format(0, 0, "1970-01-01T00:00:00Z");
	check_format(1777120320000, 120, "2026-04-25T14:32:00+02:00");
	check_format(1777120320123, 0, "2026-04-25T12:32:00.123Z");
	check_format(1777120320007, -570, "2026-04-25T03:02:00.007-09:30");
	check_format(-1, 0, "1969-12-31T23:59:59.999Z");
	check_format(1709164800000, 0, "2024-02-29T00:00:00Z");
	check_format(0, -60, "1969-12-31T23:00:00-01:00");
}

/* Every format output parses back to the same instant and offset. */
static void
test_round_trip(void)
{
	static const int32_t offsets[] = {0, 60, -60, 330, -570, 840, -720, 1439, -1439};
	int bad = 0;

	for (int64_t ms = -86400000LL * 800; ms < 86400000LL * 30000;
	     ms += 86400000LL * 7 + 3601001) {
		for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
			char out[40];
			int64_t back = 0;
			int32_t off = 0;
			size_t n = time_format_rfc3339(ms, offsets[i], out, sizeof(out));

			if (n == 0 || time_parse_rfc3339(out, n, &back, &off) < 0 || back != ms ||
			    off != offsets[i]) {
				bad++;
			}
		}
	}
	CHECK_INT_EQ(bad, 0, "format then parse is the identity across 1967-2052");
}

static void
test_civil(void)
{
	int bad = 0;
	int64_t expect = time_days_from_civil(-1000, 1, 1);

	CHECK_INT_EQ(time_days_from_civil(1970, 1, 1), 0, "epoch is day 0");
	CHECK_INT_EQ(time_days_from_civil(2000, 3, 1), 11017, "2000-03-01");
	CHECK_INT_EQ(time_days_from_civil(1969, 12, 31), -1, "day before the epoch");
	CHECK_INT_EQ(time_days_from_civil(0, 3, 1), -719468, "0000-03-01");
	/* consecutive days map back to consecutive civil dates */
	for (int64_t z = expect; z < expect + 146097 * 8; z++) {
		int64_t y = 0;
		unsigned m = 0, d = 0;

		time_civil_from_days(z, &y, &m, &d);
		if (time_days_from_civil(y, m, d) != z || m < 1 || m > 12 || d < 1 || d > 31) {
			bad++;
		}
	}
	CHECK_INT_EQ(bad, 0, "civil_from_days inverts days_from_civil over 3200 years");
}

static void
test_clocks(void)
{
	int64_t a = time_mono_us(), b = time_mono_us();
	int64_t now = time_now_ms();

	CHECK(b >= a, "monotonic clock does not go back");
	CHECK(now > 1700000000000LL && now < 4102444800000LL, "wall clock is plausible");
}

int
main(void)
{
	test_parse();
	test_parse_rejects();
	test_format();
	test_round_trip();
	test_civil();
	test_clocks();
	return check_done();
}
