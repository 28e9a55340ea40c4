/* Command-line values: see config.h. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int
config_parse_hostport(const char *s, char *host, size_t hostlen, int *port)
{
	const char *colon = strrchr(s, ':');
	char *end = NULL;
	long p;

	if (!colon || colon == s || (size_t)(colon - s) >= hostlen) {
		return -1;
	}
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || p <= 0 || p > 65535) {
		return -1;
	}
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	*port = (int)p;
	return 0;
}
