/*
 * libFuzzer target: arbitrary bytes as a Noticia sales-event body, through
 * the gateway's strict JSON reader and the dialect parser, then the event
 * is encoded, decoded and rendered. Any crash, sanitizer report or leak is
 * a finding. How to build and run: tests/fuzz/meson.build.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "arena.h"
#include "buf.h"
#include "dialects/noticia.h"
#include "error.h"
#include "event.h"
#include "event_codec.h"
#include "jsonv.h"
#include "jsonw.h"
#include "request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sg_req req;
	struct sg_error err;
	struct sg_event ev, back;
	struct sg_buf enc = {0}, out = {0};
	struct jsonw w;
	json_t *root;
	int check;

	arena_init(&req.arena, 8192);
	req.tenant = "fuzz";
	error_clear(&err);
	root = jsonv_parse((const char *)data, size, &req.arena, &err);
	if (root && noticia_parse_event(root, &req, &ev, &check, &err) == 0) {
		strcpy(ev.id, "evt_01M80000000000000000000000");
		ev.tenant = req.tenant;
		if (event_encode(&ev, &enc) == 0 &&
		    event_decode(enc.data, enc.len, &req.arena, &back, &err) == 0) {
			jsonw_init(&w, &out);
			noticia_render_event(&w, &back);
		}
	}
	json_decref(root);
	buf_finish(&enc);
	buf_finish(&out);
	arena_finish(&req.arena);
	return 0;
}
