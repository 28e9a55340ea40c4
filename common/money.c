/* Exact decimal money; see money.h. */
#include "money.h"

#include <stdlib.h>
#include <string.h>

#define MONEY_MAX_SCALE 18 /* 10^18 still fits an int64 */

/* v = v * 10 + digit, failing instead of exceeding limit. */
static int
acc_digit(uint64_t *v, unsigned digit, uint64_t limit)
{
	if (*v > (limit - digit) / 10) {
		return -1;
	}
	*v = *v * 10 + digit;
	return 0;
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Parses the fraction after '.'; digits past scale must be zeros. Sets *used. */
static int
parse_fraction(const char *s, size_t len, int scale, uint64_t *v, uint64_t limit, int *used)
{
	size_t i = 0;

	for (; i < len && is_digit(s[i]); i++) {
		if ((int)i < scale) {
			if (acc_digit(v, (unsigned)(s[i] - '0'), limit) < 0) {
				return -1;
			}
			(*used)++;
		} else if (s[i] != '0') {
			return -1;
		}
	}
	return i == 0 || i != len ? -1 : 0;
}

int
money_parse_decimal(const char *s, size_t len, int scale, int64_t *out)
{
	uint64_t v = 0, limit = INT64_MAX;
	size_t i = 0, digits = 0;
	int neg = 0, used = 0;

	if (!s || scale < 0 || scale > MONEY_MAX_SCALE) {
		return -1;
	}
	if (len > 0 && s[0] == '-') {
		neg = 1;
		limit = (uint64_t)INT64_MAX + 1;
		i = 1;
	}
	for (; i < len && is_digit(s[i]); i++, digits++) {
		if (acc_digit(&v, (unsigned)(s[i] - '0'), limit) < 0) {
			return -1;
		}
	}
	if (digits == 0) {
		return -1;
	}
	if (i < len && s[i] == '.') {
		if (parse_fraction(s + i + 1, len - i - 1, scale, &v, limit, &used) < 0) {
			return -1;
		}
	} else if (i != len) {
		return -1;
	}
	for (; used < scale; used++) {
		if (acc_digit(&v, 0, limit) < 0) {
			return -1;
		}
	}
	if (!neg) {
		*out = (int64_t)v;
	} else if (v == (uint64_t)INT64_MAX + 1) {
		*out = INT64_MIN;
	} else {
		*out = -(int64_t)v;
	}
	return 0;
}

size_t
money_format_decimal(int64_t v, int scale, char *out, size_t outlen)
{
	char digits[24]; /* reversed; 19 digits of INT64_MIN padded to scale + 1 */
	uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	size_t n = 0, pos = 0, k = 0, sc = (size_t)scale;

	if (outlen > 0) {
		out[0] = '\0';
	}
	if (scale < 0 || scale > MONEY_MAX_SCALE) {
		return 0;
	}
	do {
		digits[n++] = (char)('0' + mag % 10);
		mag /= 10;
	} while (mag > 0);
	while (n < sc + 1) {
		digits[n++] = '0'; /* "0.05": at least one integer digit */
	}
	if ((v < 0) + n + (sc > 0) + 1 > outlen) {
		return 0;
	}
	if (v < 0) {
		out[pos++] = '-';
	}
	for (k = n; k > sc; k--) {
		out[pos++] = digits[k - 1];
	}
	if (sc > 0) {
		out[pos++] = '.';
	}
	for (k = sc; k > 0; k--) {
		out[pos++] = digits[k - 1];
	}
	out[pos] = '\0';
	return pos;
}

/* ISO 4217 codes with their minor-unit exponent, sorted for bsearch. */
struct currency {
	char code[4]; /* alphabetic code */
	int exponent; /* digits after the decimal point */
};

static const struct currency currencies[] = {
    {"AED", 2}, {"AFN", 2}, {"ALL", 2}, {"AMD", 2}, {"ANG", 2}, {"AOA", 2}, {"ARS", 2}, {"AUD", 2},
    {"AWG", 2}, {"AZN", 2}, {"BAM", 2}, {"BBD", 2}, {"BDT", 2}, {"BGN", 2}, {"BHD", 3}, {"BIF", 0},
    {"BMD", 2}, {"BND", 2}, {"BOB", 2}, {"BRL", 2}, {"BSD", 2}, {"BTN", 2}, {"BWP", 2}, {"BYN", 2},
    {"BZD", 2}, {"CAD", 2}, {"CDF", 2}, {"CHF", 2}, {"CLF", 4}, {"CLP", 0}, {"CNY", 2}, {"COP", 2},
    {"CRC", 2}, {"CUP", 2}, {"CVE", 2}, {"CZK", 2}, {"DJF", 0}, {"DKK", 2}, {"DOP", 2}, {"DZD", 2},
    {"EGP", 2}, {"ERN", 2}, {"ETB", 2}, {"EUR", 2}, {"FJD", 2}, {"FKP", 2}, {"GBP", 2}, {"GEL", 2},
    {"GHS", 2}, {"GIP", 2}, {"GMD", 2}, {"GNF", 0}, {"GTQ", 2}, {"GYD", 2}, {"HKD", 2}, {"HNL", 2},
    {"HTG", 2}, {"HUF", 2}, {"IDR", 2}, {"ILS", 2}, {"INR", 2}, {"IQD", 3}, {"IRR", 2}, {"ISK", 0},
    {"JMD", 2}, {"JOD", 3}, {"JPY", 0}, {"KES", 2}, {"KGS", 2}, {"KHR", 2}, {"KMF", 0}, {"KPW", 2},
    {"KRW", 0}, {"KWD", 3}, {"KYD", 2}, {"KZT", 2}, {"LAK", 2}, {"LBP", 2}, {"LKR", 2}, {"LRD", 2},
    {"LSL", 2}, {"LYD", 3}, {"MAD", 2}, {"MDL", 2}, {"MGA", 2}, {"MKD", 2}, {"MMK", 2}, {"MNT", 2},
    {"MOP", 2}, {"MRU", 2}, {"MUR", 2}, {"MVR", 2}, {"MWK", 2}, {"MXN", 2}, {"MYR", 2}, {"MZN", 2},
    {"NAD", 2}, {"NGN", 2}, {"NIO", 2}, {"NOK", 2}, {"NPR", 2}, {"NZD", 2}, {"OMR", 3}, {"PAB", 2},
    {"PEN", 2}, {"PGK", 2}, {"PHP", 2}, {"PKR", 2}, {"PLN", 2}, {"PYG", 0}, {"QAR", 2}, {"RON", 2},
    {"RSD", 2}, {"RUB", 2}, {"RWF", 0}, {"SAR", 2}, {"SBD", 2}, {"SCR", 2}, {"SDG", 2}, {"SEK", 2},
    {"SGD", 2}, {"SHP", 2}, {"SLE", 2}, {"SOS", 2}, {"SRD", 2}, {"SSP", 2}, {"STN", 2}, {"SVC", 2},
    {"SYP", 2}, {"SZL", 2}, {"THB", 2}, {"TJS", 2}, {"TMT", 2}, {"TND", 3}, {"TOP", 2}, {"TRY", 2},
    {"TTD", 2}, {"TWD", 2}, {"TZS", 2}, {"UAH", 2}, {"UGX", 0}, {"USD", 2}, {"UYI", 0}, {"UYU", 2},
    {"UYW", 4}, {"UZS", 2}, {"VES", 2}, {"VND", 0}, {"VUV", 0}, {"WST", 2}, {"XAF", 0}, {"XCD", 2},
    {"XOF", 0}, {"XPF", 0}, {"YER", 2}, {"ZAR", 2}, {"ZMW", 2}, {"ZWL", 2},
};

static int
currency_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct currency *)elem)->code);
}

int
money_currency_exponent(const char *code)
{
	const struct currency *c = NULL;

	if (!code || strlen(code) != 3) {
		return -1;
	}
	c = bsearch(code, currencies, sizeof(currencies) / sizeof(currencies[0]),
	            sizeof(currencies[0]), currency_cmp);
	return c ? c->exponent : -1;
}
