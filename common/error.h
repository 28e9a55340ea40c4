/* Result codes and the error record domain code fills (no HTTP here). */
#ifndef SALESGATE_COMMON_ERROR_H
#define SALESGATE_COMMON_ERROR_H

#include <stddef.h>

enum sg_result {
	SG_OK = 0,
	SG_EINVAL = -1,     /* a field is missing or malformed (400) */
	SG_ENOTFOUND = -2,  /* a referenced record does not exist (404) */
	SG_ECONFLICT = -3,  /* conflicts with existing data (409) */
	SG_ENOMEM = -4,     /* allocation failed (500) */
	SG_EUNAVAIL = -5,   /* Redis unreachable or too busy (503) */
	SG_ETOOLARGE = -6,  /* over a size limit (413) */
	SG_EAUTH = -7,      /* missing or wrong credentials (401) */
	SG_EFORBIDDEN = -8, /* authenticated but not allowed (403) */
	SG_EINTERNAL = -9,  /* a bug or an unexpected reply (500) */
	SG_EINFLIGHT = -10, /* the same idempotency key is being processed (409) */
};

#define SG_ERROR_MAX_DETAILS 64

/* One bad field: the path ("line_items[0].quantity") and what is wrong. */
struct sg_error_detail {
	char field[128]; /* JSON path of the field */
	char issue[160]; /* human-readable problem */
};

/* Error record filled by parsers and rules; mapped to HTTP in one place. */
struct sg_error {
	int code;                                          /* enum sg_result */
	char message[200];                                 /* summary */
	size_t ndetails;                                   /* details used */
	size_t dropped;                                    /* details beyond the cap */
	struct sg_error_detail details[SG_ERROR_MAX_DETAILS]; /* every bad field */
};

/* Resets err to "no error". */
void error_clear(struct sg_error *err);

/* Sets code and message (printf-style). Returns code, for `return error_set(...)`. */
int error_set(struct sg_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Adds a field detail (printf-style issue) and sets code to SG_EINVAL when unset. */
void error_add(struct sg_error *err, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Short machine name of a result code ("VALIDATION_ERROR", "NOT_FOUND", ...). */
const char *error_code_name(int code);

#endif
