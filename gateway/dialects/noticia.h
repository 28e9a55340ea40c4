/* Noticia-style sales events: the parser and renderer behind its routes. */
#ifndef SALESGATE_GATEWAY_DIALECTS_NOTICIA_H
#define SALESGATE_GATEWAY_DIALECTS_NOTICIA_H

#include <jansson.h>

struct jsonw;
struct sg_error;
struct sg_event;
struct sg_req;

/*
 * Parses one sales event object into ev; strings go to r->arena and
 * canonical ids are derived for r->tenant (the request needs no HTTP side).
 * Reports every bad field into err; *check_profile is set when profile_id
 * is a prof_ id that must already exist. Returns 0 or SG_EINVAL.
 */
int noticia_parse_event(json_t *root, struct sg_req *r, struct sg_event *ev, int *check_profile,
			struct sg_error *err);

/* Writes the stored event in Noticia's shape. */
void noticia_render_event(struct jsonw *w, const struct sg_event *ev);

#endif
