/* RFC 3339 times as int64 epoch milliseconds UTC plus the original offset. */
#ifndef SALESGATE_COMMON_TIMEUTIL_H
#define SALESGATE_COMMON_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

/*
 * Parses "2026-04-25T14:32:00+02:00" / "...Z" / fractional seconds (up to 9
 * digits, truncated to ms). An offset is required. Validates calendar
 * ranges (month days, leap years). Returns 0 and sets *ms (UTC) and
 * *offset_min, or -1.
 */
int time_parse_rfc3339(const char *s, size_t len, int64_t *ms, int32_t *offset_min);

/*
 * Writes ms shown at offset_min as RFC 3339 with milliseconds only when
 * non-zero ("2026-04-25T14:32:00+02:00", "...Z" for offset 0). out must hold
 * 40 bytes. Returns the length.
 */
size_t time_format_rfc3339(int64_t ms, int32_t offset_min, char *out, size_t outlen);

/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
int64_t time_days_from_civil(int64_t y, unsigned m, unsigned d);

/* Civil date of a day count since 1970-01-01. */
void time_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);

/*
 * 1 when tz names an IANA time zone ("Europe/Paris", "UTC"): a safe name
 * (letters, digits, "/_+-", no "..") that exists in the system zone
 * database when one is installed (/usr/share/zoneinfo).
 */
int time_zone_valid(const char *tz);

/* Current wall clock, UTC epoch ms. */
int64_t time_now_ms(void);

/* Monotonic clock in microseconds (latency measurement). */
int64_t time_mono_us(void);

#endif
