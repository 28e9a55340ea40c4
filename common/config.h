/* Command-line values both binaries share. */
#ifndef SALESGATE_COMMON_CONFIG_H
#define SALESGATE_COMMON_CONFIG_H

#include <stddef.h>

/*
 * Splits "HOST:PORT" at its last colon into host (hostlen bytes, NUL-terminated)
 * and a port in 1..65535. Returns 0, or -1 when malformed (nothing written).
 */
int config_parse_hostport(const char *s, char *host, size_t hostlen, int *port);

#endif
