/* RFC 3339 times and clocks; see timeutil.h. */
#include "timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define MS_PER_DAY INT64_C(86400000)

/*
 * Howard Hinnant's days_from_civil ("chrono-Compatible Low-Level Date
 * Algorithms"): years are counted from March so the leap day is the last
 * day of the year, and split into 400-year eras of 146097 days.
 */
int64_t
time_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era = 0;
	unsigned yoe = 0, doy = 0, doe = 0;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);                       /* [0, 399] */
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* [0, 365] */
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* [0, 146096] */
	return era * 146097 + (int64_t)doe - 719468;
}

/* The inverse of time_days_from_civil, same source. */
void
time_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era = 0;
	unsigned doe = 0, yoe = 0, doy = 0, mp = 0;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);                          /* [0, 146096] */
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               /* [0, 365] */
	mp = (5 * doy + 2) / 153;                                    /* [0, 11] */
	*d = doy - (153 * mp + 2) / 5 + 1;                           /* [1, 31] */
	*m = mp < 10 ? mp + 3 : mp - 9;                              /* [1, 12] */
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int
is_leap(unsigned y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned
days_in_month(unsigned y, unsigned m)
{
	static const unsigned char days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Reads exactly n decimal digits. Returns 0 or -1. */
static int
read_digits(const char *s, size_t n, unsigned *v)
{
	*v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9') {
			return -1;
		}
		*v = *v * 10 + (unsigned)(s[i] - '0');
	}
	return 0;
}

/* Reads ".d{1,9}" at s into milliseconds (truncated). Returns bytes used or -1. */
static int
read_fraction(const char *s, size_t len, unsigned *ms)
{
	size_t n = 1;

	*ms = 0;
	if (len == 0 || s[0] != '.') {
		return 0;
	}
	for (; n < len && s[n] >= '0' && s[n] <= '9'; n++) {
		if (n <= 3) {
			*ms = *ms * 10 + (unsigned)(s[n] - '0');
		}
	}
	if (n == 1 || n > 10) {
		return -1;
	}
	for (size_t k = n; k <= 3; k++) {
		*ms *= 10; /* ".5" is 500 ms */
	}
	return (int)n;
}

/* Reads "Z", "z" or "+hh:mm" / "-hh:mm" filling exactly len bytes. */
static int
read_offset(const char *s, size_t len, int32_t *offset_min)
{
	unsigned hh = 0, mm = 0;

	if (len == 1 && (s[0] == 'Z' || s[0] == 'z')) {
		*offset_min = 0;
		return 0;
	}
	if (len != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':' ||
	    read_digits(s + 1, 2, &hh) < 0 || read_digits(s + 4, 2, &mm) < 0 || hh > 23 ||
	    mm > 59) {
		return -1;
	}
	*offset_min = (int32_t)(hh * 60 + mm) * (s[0] == '-' ? -1 : 1);
	return 0;
}

int
time_parse_rfc3339(const char *s, size_t len, int64_t *ms, int32_t *offset_min)
{
	unsigned y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0, frac = 0;
	int32_t off = 0;
	int64_t days = 0;
	int used = 0;

	if (!s || len < 20 || s[4] != '-' || s[7] != '-' || s[13] != ':' || s[16] != ':' ||
	    (s[10] != 'T' && s[10] != 't' && s[10] != ' ')) {
		return -1;
	}
	if (read_digits(s, 4, &y) < 0 || read_digits(s + 5, 2, &mo) < 0 ||
	    read_digits(s + 8, 2, &d) < 0 || read_digits(s + 11, 2, &h) < 0 ||
	    read_digits(s + 14, 2, &mi) < 0 || read_digits(s + 17, 2, &sec) < 0) {
		return -1;
	}
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 ||
	    sec > 59) {
		return -1; /* leap seconds (:60) are refused: epoch ms cannot hold them */
	}
	used = read_fraction(s + 19, len - 19, &frac);
	if (used < 0 || read_offset(s + 19 + used, len - 19 - (size_t)used, &off) < 0) {
		return -1;
	}
	days = time_days_from_civil(y, mo, d);
	*ms = ((days * 24 + h) * 60 + mi) * INT64_C(60000) + sec * INT64_C(1000) + frac -
	      (int64_t)off * 60000;
	*offset_min = off;
	return 0;
}

/* floor(a / b) for b > 0. */
static int64_t
floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b < 0);
}

/* Writes v as exactly `width` decimal digits (v < 10^width). */
static char *
put_digits(char *p, unsigned v, int width)
{
	int i;

	for (i = width - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return p + width;
}

size_t
time_format_rfc3339(int64_t ms, int32_t offset_min, char *out, size_t outlen)
{
	int64_t local = 0, days = 0, msod = 0, y = 0;
	unsigned mo = 0, d = 0, aoff = 0;
	char tmp[40], *p = tmp;

	/* on every rendered event: digits by hand, no printf */
	if (outlen > 0) {
		out[0] = '\0';
	}
	if (offset_min <= -24 * 60 || offset_min >= 24 * 60 || ms > INT64_MAX / 2 ||
	    ms < INT64_MIN / 2) {
		return 0;
	}
	local = ms + (int64_t)offset_min * 60000;
	days = floor_div(local, MS_PER_DAY);
	msod = local - days * MS_PER_DAY;
	time_civil_from_days(days, &y, &mo, &d);
	if (y < 0 || y > 9999) {
		return 0;
	}
	p = put_digits(p, (unsigned)y, 4);
	*p++ = '-';
	p = put_digits(p, mo, 2);
	*p++ = '-';
	p = put_digits(p, d, 2);
	*p++ = 'T';
	p = put_digits(p, (unsigned)(msod / 3600000), 2);
	*p++ = ':';
	p = put_digits(p, (unsigned)(msod / 60000 % 60), 2);
	*p++ = ':';
	p = put_digits(p, (unsigned)(msod / 1000 % 60), 2);
	if (msod % 1000) {
		*p++ = '.';
		p = put_digits(p, (unsigned)(msod % 1000), 3);
	}
	if (offset_min == 0) {
		*p++ = 'Z';
	} else {
		aoff = (unsigned)(offset_min < 0 ? -offset_min : offset_min);
		*p++ = offset_min < 0 ? '-' : '+';
		p = put_digits(p, aoff / 60, 2);
		*p++ = ':';
		p = put_digits(p, aoff % 60, 2);
	}
	if ((size_t)(p - tmp) >= outlen) {
		return 0;
	}
	memcpy(out, tmp, (size_t)(p - tmp));
	out[p - tmp] = '\0';
	return (size_t)(p - tmp);
}

int64_t
time_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
time_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int
time_zone_valid(const char *tz)
{
	char path[128];
	struct stat st;
	size_t i, n = strlen(tz);

	if (n == 0 || n > 64 || tz[0] == '/' || strstr(tz, "..")) {
		return 0;
	}
	for (i = 0; i < n; i++) {
		char c = tz[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '/' || c == '_' || c == '+' || c == '-')) {
			return 0;
		}
	}
	if (stat("/usr/share/zoneinfo", &st) != 0) {
		return 1; /* no zone database to check against: the name is well formed */
	}
	snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", tz);
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}
