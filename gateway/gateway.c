/* Process-wide gateway state. */
#include "gateway.h"

#include "redis_async.h"
#include "scripts.h"

struct sg_gateway *gateway_config;

const struct sg_redis_script gateway_scripts[SG_SCRIPT_COUNT] = {
	[SG_SCRIPT_INGEST] = {"ingest", sg_script_ingest},
	[SG_SCRIPT_RECORD_UPSERT] = {"record_upsert", sg_script_record_upsert},
	[SG_SCRIPT_PROFILE_UPSERT] = {"profile_upsert", sg_script_profile_upsert},
	[SG_SCRIPT_EVENT_GET] = {"event_get", sg_script_event_get},
	[SG_SCRIPT_TENANT_UPSERT] = {"tenant_upsert", sg_script_tenant_upsert},
};
