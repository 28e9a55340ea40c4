/*
 * What a vendor dialect tells the shared machinery: where its clients put
 * the API key, and how it shapes errors. Parsing and rendering live in the
 * dialect's own file, called from its route handlers; everything shared
 * (auth cache, idempotency, enqueue, limits) is written once elsewhere.
 */
#ifndef SALESGATE_GATEWAY_DIALECTS_DIALECT_H
#define SALESGATE_GATEWAY_DIALECTS_DIALECT_H

#include <stddef.h>

#include "event.h"
#include "router.h"

struct sg_error;
struct sg_req;

struct sg_dialect_ops {
	const char *name;        /* "noticia" */
	enum sg_dialect id;
	/* The API key the client presented, or NULL when absent. */
	const char *(*api_key)(struct sg_req *r);
	/* Renders err into the thread's out buffer; NULL = the common shape. */
	void (*render_error)(struct sg_req *r, const struct sg_error *err, const char *code_name);
};

/* Noticia-style sales events (dialects/noticia.c). */
extern const struct sg_dialect_ops noticia_dialect;
extern const struct sg_route noticia_routes[];
extern const size_t noticia_nroutes;

#endif
