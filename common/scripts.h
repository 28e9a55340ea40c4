/* Lua scripts embedded at build time from common/lua/ (see embed_lua.py). */
#ifndef SALESGATE_COMMON_SCRIPTS_H
#define SALESGATE_COMMON_SCRIPTS_H

/* Gateway: auth-free reference checks, idempotency, dedupe, XADD. */
extern const char sg_script_ingest[];

/* Worker: applies one event's precomputed operations exactly once. */
extern const char sg_script_apply[];

#endif
