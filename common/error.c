/* Error record filled by domain code; see error.h. */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/*
 * After a truncating copy, drops a UTF-8 sequence cut in the middle so the
 * text stays valid when it is rendered into a JSON answer.
 */
static void
utf8_trim_tail(char *s)
{
	size_t len = strlen(s), i = len, cont = 0, need = 0;
	unsigned char lead = 0;

	while (i > 0 && cont < 3 && ((unsigned char)s[i - 1] & 0xc0) == 0x80) {
		i--;
		cont++;
	}
	if (i == 0) {
		return;
	}
	lead = (unsigned char)s[i - 1];
	if (lead >= 0xf0) {
		need = 3;
	} else if (lead >= 0xe0) {
		need = 2;
	} else if (lead >= 0xc0) {
		need = 1;
	}
	if (need > cont) {
		s[i - 1] = '\0';
	}
}

/* Copies src into dst[size], truncating on a character boundary. */
static void
copy_trunc(char *dst, size_t size, const char *src)
{
	size_t len = strlen(src);

	if (len < size) {
		memcpy(dst, src, len + 1);
		return;
	}
	memcpy(dst, src, size - 1);
	dst[size - 1] = '\0';
	utf8_trim_tail(dst);
}

/* vsnprintf into dst that never fails and never ends in half a character. */
static void
format_into(char *dst, size_t size, const char *fmt, va_list ap)
{
	int n = vsnprintf(dst, size, fmt, ap);

	if (n < 0) {
		dst[0] = '\0';
	} else if ((size_t)n >= size) {
		utf8_trim_tail(dst);
	}
}

void
error_clear(struct sg_error *err)
{
	err->code = SG_OK;
	err->message[0] = '\0';
	err->ndetails = 0;
	err->dropped = 0;
}

int
error_set(struct sg_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err) {
		return code;
	}
	err->code = code;
	va_start(ap, fmt);
	format_into(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return code;
}

void
error_add(struct sg_error *err, const char *field, const char *fmt, ...)
{
	struct sg_error_detail *d = NULL;
	va_list ap;

	if (!err) {
		return;
	}
	if (err->code == SG_OK) {
		err->code = SG_EINVAL;
	}
	if (err->ndetails >= SG_ERROR_MAX_DETAILS) {
		err->dropped++;
		return;
	}
	d = &err->details[err->ndetails++];
	copy_trunc(d->field, sizeof(d->field), field ? field : "");
	va_start(ap, fmt);
	format_into(d->issue, sizeof(d->issue), fmt, ap);
	va_end(ap);
}

const char *
error_code_name(int code)
{
	switch (code) {
	case SG_OK:
		return "OK";
	case SG_EINVAL:
		return "VALIDATION_ERROR";
	case SG_ENOTFOUND:
		return "NOT_FOUND";
	case SG_ECONFLICT:
		return "CONFLICT";
	case SG_EUNAVAIL:
		return "SERVICE_UNAVAILABLE";
	case SG_ETOOLARGE:
		return "PAYLOAD_TOO_LARGE";
	case SG_EAUTH:
		return "UNAUTHORIZED";
	case SG_EFORBIDDEN:
		return "FORBIDDEN";
	case SG_EINFLIGHT:
		return "IDEMPOTENCY_IN_FLIGHT";
	case SG_ENOMEM:
	case SG_EINTERNAL:
	default:
		return "INTERNAL_ERROR";
	}
}
