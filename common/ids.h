/* Identifiers: time-sortable event ids, derived reference ids, secrets. */
#ifndef SALESGATE_COMMON_IDS_H
#define SALESGATE_COMMON_IDS_H

#include <stddef.h>
#include <stdint.h>

#define SG_ID_MAX 48 /* room for any id below, NUL included */

/*
 * Writes "evt_" + 26 Crockford base32 chars: 48-bit ms time then 80 random
 * bits, monotonic within a process-thread (the random part increments when
 * the ms repeats), so ids sort by time. out must hold SG_ID_MAX bytes.
 */
void ids_event(int64_t now_ms, char *out);

/*
 * Writes prefix + 20 base32 chars of SHA-256(tenant "\x1f" external_id):
 * the same external id of a tenant always maps to the same canonical id
 * (store_, prof_, prod_), so no lookup is needed to resolve one.
 */
void ids_derived(const char *prefix, const char *tenant, const char *external_id, char *out);

/* Fills out with n bytes from the OS CSPRNG. Returns 0 or -1. */
int ids_random(void *out, size_t n);

/* Writes the lowercase hex SHA-256 of p (65 bytes with NUL). */
void ids_sha256_hex(const void *p, size_t len, char out[65]);

/* Writes prefix + 32 base32 chars of 160 random bits (an API key). Returns 0 or -1. */
int ids_secret(const char *prefix, char *out, size_t outlen);

#endif
