/*
 * Tiny header-only TAP harness for the unit tests:
 *
 *   CHECK(cond, "name %d", i);        ok N - name / not ok N - name  (file:line)
 *   CHECK_INT_EQ(got, want, "name");  also prints both values on failure
 *   CHECK_STR_EQ(got, want, "name");  NULL-safe
 *   return check_done();              prints the plan "1..N"; 1 if any failed
 *
 * Every macro evaluates to 1 when the check passed, so a test can stop
 * early: if (!CHECK(p != NULL, "alloc")) return check_done();
 */
#ifndef SALESGATE_TESTS_SUPPORT_CHECK_H
#define SALESGATE_TESTS_SUPPORT_CHECK_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct check_state {
	int run;    /* checks reported */
	int failed; /* checks that failed */
};

static struct check_state check_state;

/* Reports one result as a TAP line. Returns ok. */
static inline int __attribute__((format(printf, 4, 5)))
check_report(int ok, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	check_state.run++;
	if (!ok) {
		check_state.failed++;
	}
	printf("%sok %d - ", ok ? "" : "not ", check_state.run);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (!ok) {
		printf("  (%s:%d)", file, line);
	}
	printf("\n");
	fflush(stdout);
	return ok;
}

/* A TAP diagnostic line ("# ..."), shown by meson on failure. */
static inline void __attribute__((format(printf, 1, 2))) check_diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static inline int
check_int_eq(intmax_t got, intmax_t want, const char *gots, const char *wants)
{
	if (got != want) {
		check_diag("%s = %jd, expected %s = %jd", gots, got, wants, want);
	}
	return got == want;
}

static inline int
check_str_eq(const char *got, const char *want, const char *gots)
{
	int ok = (got == NULL && want == NULL) || (got && want && strcmp(got, want) == 0);

	if (!ok) {
		check_diag("%s = %s%s%s, expected %s%s%s", gots, got ? "\"" : "",
		           got ? got : "NULL", got ? "\"" : "", want ? "\"" : "",
		           want ? want : "NULL", want ? "\"" : "");
	}
	return ok;
}

/* Prints the plan. Returns the process exit status: 0 when all passed. */
static inline int
check_done(void)
{
	printf("1..%d\n", check_state.run);
	return check_state.failed ? 1 : 0;
}

#define CHECK(cond, ...) check_report(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define CHECK_INT_EQ(got, want, ...)                                                               \
	CHECK(check_int_eq((intmax_t)(got), (intmax_t)(want), #got, #want), __VA_ARGS__)
#define CHECK_STR_EQ(got, want, ...) CHECK(check_str_eq((got), (want), #got), __VA_ARGS__)

#endif
