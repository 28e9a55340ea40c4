/*
 * The route table: method + path pattern -> handler. Patterns are literal
 * segments and "{name}" parameters ("/v1/stores/{ref}"). The table is the
 * concatenation of the core routes and each dialect's routes (routes.c).
 */
#ifndef SALESGATE_GATEWAY_ROUTER_H
#define SALESGATE_GATEWAY_ROUTER_H

#include <stddef.h>

struct sg_dialect_ops;
struct sg_req;

typedef void (*sg_handler)(struct sg_req *r);

enum sg_route_flags {
	SG_ROUTE_JSON = 1 << 0,  /* the body must be application/json (else 415) */
	SG_ROUTE_ADMIN = 1 << 1, /* Authorization: Bearer <admin token> */
	SG_ROUTE_AUTH = 1 << 2,  /* a tenant API key, in the dialect's place */
};

struct sg_route {
	int method;                           /* htp_method */
	const char *pattern;                  /* also the metrics label */
	sg_handler handler;
	unsigned flags;                       /* enum sg_route_flags */
	const struct sg_dialect_ops *dialect; /* key place and error shape; NULL = core */
};

/* Result of router_match. */
enum sg_route_match {
	SG_ROUTE_FOUND = 0,
	SG_ROUTE_NO_PATH = 404,
	SG_ROUTE_NO_METHOD = 405,
};

/*
 * Matches method and path (without query). On SG_ROUTE_FOUND sets r->route,
 * r->route_index and r->params (arena copies). Returns enum sg_route_match.
 */
int router_match(struct sg_req *r, int method, const char *path, size_t pathlen);

/* Number of routes (metrics labels are 0..n-1, plus n for "unmatched"). */
size_t router_count(void);

/* The route at index i, or NULL. */
const struct sg_route *router_get(size_t i);

#endif
