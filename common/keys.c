/* Redis key layout; see keys.h. */
#include "keys.h"

#include <stdio.h>

size_t
keys_tenant(char *out, size_t outlen, const char *tenant, const char *name)
{
	return keys_tenant2(out, outlen, tenant, name, "");
}

size_t
keys_tenant2(char *out, size_t outlen, const char *tenant, const char *name, const char *suffix)
{
	int n = -1;

	if (tenant && name && suffix) {
		n = snprintf(out, outlen, "sg:{%s}:%s%s", tenant, name, suffix);
	}
	if (n < 0 || (size_t)n >= outlen) {
		if (outlen > 0) {
			out[0] = '\0';
		}
		return 0;
	}
	return (size_t)n;
}

int
keys_tenant_valid(const char *tenant)
{
	size_t i = 0;

	if (!tenant) {
		return 0;
	}
	for (; tenant[i]; i++) {
		char c = tenant[i];
		int alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

		if (i >= SG_TENANT_MAX || !(alnum || (i > 0 && (c == '_' || c == '-')))) {
			return 0;
		}
	}
	return i > 0;
}
