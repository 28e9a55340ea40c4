/* Reference resolution: see refs.h. */
#include "refs.h"

#include <string.h>

#include "ids.h"
#include "request.h"

const char *
refs_resolve(struct sg_req *r, const char *prefix, const char *ref, int *is_external)
{
	char id[SG_ID_MAX];
	int ext = strncmp(ref, prefix, strlen(prefix)) != 0;

	if (is_external) {
		*is_external = ext;
	}
	if (!ext) {
		return ref;
	}
	ids_derived(prefix, r->tenant, ref, id);
	return arena_strdup(&r->arena, id);
}

int
refs_reserved(const char *s)
{
	static const char *const reserved[] = {"evt_", "prof_", "store_", "prod_"};
	size_t i;

	for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
		if (strncmp(s, reserved[i], strlen(reserved[i])) == 0) {
			return 1;
		}
	}
	return 0;
}
