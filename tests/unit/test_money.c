/* money_parse_decimal / money_format_decimal / money_currency_exponent. */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "money.h"

static void
check_parse(const char *s, int scale, int64_t want)
{
	int64_t v = -7;
	int rc = money_parse_decimal(s, strlen(s), scale, &v);

	CHECK(rc == 0 && v == want, "parse \"%s\" scale %d = %jd (got %jd)", s, scale,
	      (intmax_t)want, (intmax_t)v);
}

static void
check_reject(const char *s, int scale)
{
	int64_t v = 0;

	CHECK(money_parse_decimal(s, strlen(s), scale, &v) == -1, "reject \"%s\" scale %d", s,
	      scale);
}

static void
check_format(int64_t v, int scale, const char *want)
{
	char out[48];
	size_t n = money_format_decimal(v, scale, out, sizeof(out));

	CHECK(n == strlen(want) && strcmp(out, want) == 0, "format %jd scale %d = %s (got %s)",
	      (intmax_t)v, scale, want, out);
}

static void
test_parse(void)
{
	check_parse("12.5", 2, 1250);
	check_parse("12.50", 2, 1250);
	check_parse("-3", 2, -300);
	check_parse("0.015", 3, 15);
	check_parse("0.0150000", 3, 15);
	check_parse("-0", 2, 0);
	check_parse("007.10", 2, 710);
	check_parse("1234", 0, 1234);
	check_parse("1.000", 0, 1);
	check_parse("9223372036854775807", 0, INT64_MAX);
	check_parse("-9223372036854775808", 0, INT64_MIN);
	check_parse("92233720368547758.07", 2, INT64_MAX);
	check_parse("-92233720368547758.08", 2, INT64_MIN);
	check_parse("0.000000000000000001", 18, 1);
	check_parse("0.1", 1, 1); /* exact: no binary float involved */
	check_parse("0.29", 2, 29);
	check_parse("1.005", 3, 1005);
}

static void
test_parse_rejects(void)
{
	int64_t v = 0;

	check_reject("", 2);
	check_reject("-", 2);
	check_reject("+1", 2);
	check_reject("1.", 2);
	check_reject(".5", 2);
	check_reject("0.015", 2);
	check_reject("1e3", 2);
	check_reject("1E3", 0);
	check_reject(" 1", 2);
	check_reject("1 ", 2);
	check_reject("1.2.3", 2);
	check_reject("--1", 2);
	check_reject("1,5", 2);
	check_reject("0x10", 0);
	check_reject("NaN", 2);
	check_reject("9223372036854775808", 0);
	check_reject("-9223372036854775809", 0);
	check_reject("92233720368547758.08", 2);
	check_reject("100000000000000000", 2);
	check_reject("1", 19);
	check_reject("1", -1);
	CHECK(money_parse_decimal("12.5xyz", 4, 2, &v) == 0 && v == 1250, "only len bytes read");
	CHECK(money_parse_decimal("1\0002", 3, 0, &v) == -1, "embedded NUL rejected");
}

static void
test_format(void)
{
	char small[5];

	check_format(1250, 2, "12.50");
	check_format(-5, 2, "-0.05");
	check_format(0, 2, "0.00");
	check_format(0, 0, "0");
	check_format(7, 3, "0.007");
	check_format(-1234, 0, "-1234");
	check_format(INT64_MAX, 2, "92233720368547758.07");
	check_format(INT64_MIN, 2, "-92233720368547758.08");
	check_format(INT64_MIN, 0, "-9223372036854775808");
	check_format(1, 18, "0.000000000000000001");
	CHECK(money_format_decimal(12345, 2, small, sizeof(small)) == 0 && small[0] == '\0',
	      "too small a buffer gives 0 and an empty string");
	CHECK(money_format_decimal(1234, 2, small, sizeof(small)) == 0,
	      "one byte short of room for the NUL gives 0");
	CHECK(money_format_decimal(123, 2, small, sizeof(small)) == 4 && strcmp(small, "1.23") == 0,
	      "fits exactly with the NUL");
}

static void
test_round_trip(void)
{
	static const int64_t values[] = {0, 1, -1, 99, 100, -100, 123456789, INT64_MAX, INT64_MIN};
	int bad = 0;

	for (int scale = 0; scale <= 18; scale++) {
		for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
			char out[48];
			int64_t back = 0;
			size_t n = money_format_decimal(values[i], scale, out, sizeof(out));

			if (n == 0 || money_parse_decimal(out, n, scale, &back) < 0 ||
			    back != values[i]) {
				bad++;
			}
		}
	}
	CHECK_INT_EQ(bad, 0, "format then parse is the identity at every scale");
}

static void
test_currency(void)
{
	static const struct {
		const char *code;
		int exp;
	} cases[] = {
	    {"EUR", 2}, {"USD", 2}, {"GBP", 2}, {"CHF", 2}, {"SEK", 2}, {"NOK", 2}, {"DKK", 2},
	    {"PLN", 2}, {"CZK", 2}, {"HUF", 2}, {"JPY", 0}, {"KRW", 0}, {"ISK", 0}, {"KWD", 3},
	    {"BHD", 3}, {"JOD", 3}, {"ZAR", 2}, {"NGN", 2}, {"KES", 2}, {"AUD", 2}, {"CAD", 2},
	    {"NZD", 2}, {"CNY", 2}, {"INR", 2}, {"BRL", 2}, {"MXN", 2}, {"AED", 2}, {"ZWL", 2},
	    {"CLF", 4}, {"VND", 0}, {"TND", 3},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK_INT_EQ(money_currency_exponent(cases[i].code), cases[i].exp, "exponent of %s",
		             cases[i].code);
	}
	CHECK_INT_EQ(money_currency_exponent("eur"), -1, "lowercase is unknown");
	CHECK_INT_EQ(money_currency_exponent("XXX"), -1, "XXX is unknown");
	CHECK_INT_EQ(money_currency_exponent("EURO"), -1, "4 letters is unknown");
	CHECK_INT_EQ(money_currency_exponent(""), -1, "empty is unknown");
	CHECK_INT_EQ(money_currency_exponent(NULL), -1, "NULL is unknown");
}

int
main(void)
{
	test_parse();
	test_parse_rejects();
	test_format();
	test_round_trip();
	test_currency();
	return check_done();
}
