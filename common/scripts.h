/* Lua scripts embedded at build time from common/lua/ (see embed_lua.py). */
#ifndef SALESGATE_COMMON_SCRIPTS_H
#define SALESGATE_COMMON_SCRIPTS_H

/* Gateway: auth-free reference checks, idempotency, dedupe, XADD. */
extern const char sg_script_ingest[];

/* Worker: applies one event's precomputed operations exactly once. */
extern const char sg_script_apply[];

/* Gateway: create or merge a reference record (stores). */
extern const char sg_script_record_upsert[];

/* Gateway: create or complete a profile with unique email / phone. */
extern const char sg_script_profile_upsert[];

/* Gateway: a stored event by evt_ id or external id. */
extern const char sg_script_event_get[];

/* Gateway admin: create a tenant or confirm its settings. */
extern const char sg_script_tenant_upsert[];

#endif
