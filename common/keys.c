/* Redis key layout; see keys.h. */
#include "keys.h"

#include <string.h>

size_t
keys_tenant(char *out, size_t outlen, const char *tenant, const char *name)
{
	return keys_tenant2(out, outlen, tenant, name, "");
}

size_t
keys_tenant2(char *out, size_t outlen, const char *tenant, const char *name, const char *suffix)
{
	size_t tl, nl, sl, n;

	/* on every ingest request: plain copies, no printf */
	if (!tenant || !name || !suffix) {
		goto fail;
	}
	tl = strlen(tenant);
	nl = strlen(name);
	sl = strlen(suffix);
	n = 4 + tl + 2 + nl + sl; /* "sg:{" tenant "}:" name suffix */
	if (n >= outlen) {
		goto fail;
	}
	memcpy(out, "sg:{", 4);
	memcpy(out + 4, tenant, tl);
	memcpy(out + 4 + tl, "}:", 2);
	memcpy(out + 6 + tl, name, nl);
	memcpy(out + 6 + tl + nl, suffix, sl);
	out[n] = '\0';
	return n;
fail:
	if (outlen > 0) {
		out[0] = '\0';
	}
	return 0;
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
