/*
 * The route table: core routes, then one line per dialect. Adding a dialect
 * is its file in dialects/ plus its line in route_sets[].
 */
#include <evhtp.h>
#include <stdlib.h>
#include <string.h>

#include "dialects/dialect.h"
#include "handlers.h"
#include "request.h"
#include "router.h"

static const struct sg_route core_routes[] = {
	{htp_method_GET, "/healthz", health_live, 0, NULL},
	{htp_method_GET, "/readyz", health_ready, 0, NULL},
	{htp_method_GET, "/metrics", metrics_get, 0, NULL},
	{htp_method_POST, "/admin/v1/tenants", admin_tenant_create, SG_ROUTE_JSON | SG_ROUTE_ADMIN,
	 NULL},
	{htp_method_POST, "/admin/v1/tenants/{tenant}/keys", admin_key_create,
	 SG_ROUTE_JSON | SG_ROUTE_ADMIN, NULL},
};

struct route_set {
	const struct sg_route *routes;
	const size_t *n;
};

static const size_t core_nroutes = sizeof(core_routes) / sizeof(core_routes[0]);

static const struct route_set route_sets[] = {
	{core_routes, &core_nroutes},
	{noticia_routes, &noticia_nroutes},
};

#define NSETS (sizeof(route_sets) / sizeof(route_sets[0]))

size_t
router_count(void)
{
	size_t i, n = 0;

	for (i = 0; i < NSETS; i++) {
		n += *route_sets[i].n;
	}
	return n;
}

const struct sg_route *
router_get(size_t idx)
{
	size_t i;

	for (i = 0; i < NSETS; i++) {
		if (idx < *route_sets[i].n) {
			return &route_sets[i].routes[idx];
		}
		idx -= *route_sets[i].n;
	}
	return NULL;
}

/* A path parameter as matched: a span of the path. */
struct span {
	const char *p;
	size_t len;
};

/* Matches pattern against path; the parameters' spans go to params (np of them). */
static int
pattern_match(const char *pat, const char *path, size_t len, struct span *params, size_t *np)
{
	const char *p = path, *end = path + len;

	*np = 0;
	while (*pat) {
		if (*pat == '{') {
			const char *seg = p;
			while (p < end && *p != '/') {
				p++;
			}
			if (p == seg || *np >= SG_REQ_MAX_PARAMS) {
				return 0;
			}
			params[*np].p = seg;
			params[(*np)++].len = (size_t)(p - seg);
			pat = strchr(pat, '}') + 1;
			continue;
		}
		if (p >= end || *p != *pat) {
			return 0;
		}
		p++;
		pat++;
	}
	return p == end;
}

static int
is_literal(const char *pattern)
{
	return strchr(pattern, '{') == NULL;
}

/* Decodes %XX escapes of a path segment in place; -1 on a malformed escape. */
static int
path_decode(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (*s == '%') {
			int hi = s[1], lo = hi ? s[2] : 0;
			char hex[3] = {(char)hi, (char)lo, 0};
			char *end;
			long v;
			if (!hi || !lo) {
				return -1;
			}
			v = strtol(hex, &end, 16);
			if (*end || v == 0) {
				return -1;
			}
			*w++ = (char)v;
			s += 2;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
	return 0;
}

/* Copies and percent-decodes the matched parameters into r. Returns 0 or -1. */
static int
take_params(struct sg_req *r, const struct span *params, size_t np)
{
	size_t i;

	for (i = 0; i < np; i++) {
		char *v = arena_strndup(&r->arena, params[i].p, params[i].len);
		if (!v || path_decode(v) != 0) {
			return -1;
		}
		r->params[i] = v;
	}
	r->nparams = np;
	return 0;
}

/*
 * Literal patterns win over parameter patterns: "/v1/sales-events/batch"
 * is that route (405 for GET), never the event called "batch".
 */
int
router_match(struct sg_req *r, int method, const char *path, size_t len)
{
	struct span params[SG_REQ_MAX_PARAMS];
	size_t set, i, index, np;
	int pass, path_seen = 0;

	for (pass = 0; pass < 2 && !path_seen; pass++) {
		for (set = 0, index = 0; set < NSETS; index += *route_sets[set++].n) {
			for (i = 0; i < *route_sets[set].n; i++) {
				const struct sg_route *rt = &route_sets[set].routes[i];
				if (is_literal(rt->pattern) != (pass == 0) ||
				    !pattern_match(rt->pattern, path, len, params, &np)) {
					continue;
				}
				path_seen = 1;
				if (rt->method != method) {
					continue;
				}
				if (take_params(r, params, np) != 0) {
					return SG_ROUTE_NO_PATH;
				}
				r->route = rt;
				r->route_index = (int)(index + i);
				return SG_ROUTE_FOUND;
			}
		}
	}
	return path_seen ? SG_ROUTE_NO_METHOD : SG_ROUTE_NO_PATH;
}
