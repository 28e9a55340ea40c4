/* Exact money and fixed-point parsing; no float on these paths. */
#ifndef SALESGATE_COMMON_MONEY_H
#define SALESGATE_COMMON_MONEY_H

#include <stddef.h>
#include <stdint.h>

/*
 * Parses a decimal text ("12.5", "-3", "0.015") into units of 10^-scale
 * (scale 2: cents). Rejects more fractional digits than scale unless they
 * are zeros, exponents, signs other than a leading '-', and overflow.
 * Returns 0 and sets *out, or -1.
 */
int money_parse_decimal(const char *s, size_t len, int scale, int64_t *out);

/* Writes v in units of 10^-scale as decimal text ("12.50"). Returns length. */
size_t money_format_decimal(int64_t v, int scale, char *out, size_t outlen);

/* Minor-unit exponent of an ISO 4217 code (EUR 2, JPY 0, KWD 3); -1 if unknown. */
int money_currency_exponent(const char *code);

#endif
